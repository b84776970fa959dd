"""What a call does to the process: the GIL is released while the library computes, Ctrl-C
cancels the run, and a float32 array is read in place (peak RSS grows by the engine's own
state, not by a copy; under cosine similarity, when its rows are unit length already)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import crosssim
from conftest import without_engine

# The folder holding the crosssim under test (a checkout's python/, or site-packages).
PACKAGE_PARENT = Path(crosssim.__file__).resolve().parent.parent


def run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          cwd=PACKAGE_PARENT)


def test_other_threads_run_while_the_library_computes_and_progress_is_reported() -> None:
    rng = np.random.default_rng(21)
    x = rng.standard_normal((6000, 128), dtype=np.float32)
    counted = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counted
        while not stop.is_set():
            counted += 1

    counter = threading.Thread(target=count)
    calls: list[tuple[int, int]] = []
    counter.start()
    start = time.monotonic()
    try:
        crosssim.evaluate(x, x, threads=1, progress=lambda done, total: calls.append((done, total)))
    finally:
        seconds = time.monotonic() - start
        stop.set()
        counter.join()
    # Without the GIL released, the counter would have stood still for the whole call.
    assert counted > 1000 * seconds
    assert calls and calls[-1][0] == calls[-1][1] > 0
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


# Each script takes Python's own Ctrl-C handler first: Python leaves SIGINT ignored when it
# starts ignoring it, as a job started in the background by a non-interactive shell does.
INTERRUPT = """
import os, signal, threading, time
import numpy as np, crosssim
signal.signal(signal.SIGINT, signal.default_int_handler)
x = np.random.default_rng(22).standard_normal((24000, 256), dtype=np.float32)
small = x[:100].copy()
crosssim.evaluate(small, small)  # the library loaded
threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    crosssim.evaluate(x, x, threads=1, tile=(256, 512))
    print("finished", time.monotonic() - start)
except KeyboardInterrupt:
    print("interrupted", round(time.monotonic() - start, 2))
print("after", crosssim.evaluate(small, small).retrieval.x1_to_x2.recall[1])
"""


def test_ctrl_c_cancels_the_run() -> None:
    process = run_python(INTERRUPT)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.split()
    assert lines[0] == "interrupted", process.stdout
    # The signal came at 1 s; the run stops at its next tile (a single-threaded full run takes
    # several seconds more).
    assert float(lines[1]) < 2.5, process.stdout
    assert lines[2:] == ["after", "1.0"]


INTERRUPT_COMMANDS = """
import os, signal, sys, threading, time
import numpy as np, crosssim
signal.signal(signal.SIGINT, signal.default_int_handler)
x = np.random.default_rng(25).standard_normal((24000, 256), dtype=np.float32)
small = x[:100].copy()
crosssim.dedup(small, threshold=0.9)  # the library loaded
out = sys.argv[1]
for name, run in (("dedup", lambda: crosssim.dedup(x, threshold=0.5, out=out, threads=1, tile=(256, 512))),
                  ("grad", lambda: crosssim.grad(x, x, tau=0.05, threads=1, tile=(256, 512)))):
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    try:
        run()
        print(name, "finished")
    except KeyboardInterrupt:
        print(name, "interrupted", round(time.monotonic() - start, 2))
print("files", len(os.listdir(out)) if os.path.exists(out) else 0)
"""


def test_ctrl_c_cancels_dedup_and_grad(tmp_path: Path) -> None:
    process = subprocess.run([sys.executable, "-c", INTERRUPT_COMMANDS, str(tmp_path / "out")], capture_output=True,
                             text=True, timeout=300, cwd=PACKAGE_PARENT)
    assert process.returncode == 0, process.stderr
    lines = [line.split() for line in process.stdout.splitlines()]
    for (name, outcome, seconds), expected in zip(lines, ("dedup", "grad")):
        assert (name, outcome) == (expected, "interrupted") and float(seconds) < 2.5, process.stdout
    # dedup wrote nothing: its temporary spill files are removed too.
    assert lines[2] == ["files", "0"], process.stdout


ZERO_COPY = """
import resource, numpy as np, crosssim
rows, dim = 1 << 20, 256                     # 1 GiB of float32, unit rows (as a normalising model gives)
x1 = np.empty((rows, dim), dtype=np.float32)
rng = np.random.default_rng(23)
for start in range(0, rows, 1 << 14):
    chunk = rng.standard_normal((1 << 14, dim), dtype=np.float32)
    x1[start:start + (1 << 14)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
pairs = np.arange(64) * (rows // 64)
x2 = x1[pairs].copy()
crosssim.evaluate(x2, x2)  # the library loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
report = crosssim.evaluate(x1, x2, pairs=pairs, threads=2)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(x1.nbytes, after - before, report.retrieval.x2_to_x1.recall[1])
"""


def test_a_1_gib_float32_array_is_not_copied() -> None:
    process = run_python(ZERO_COPY)
    assert process.returncode == 0, process.stderr
    size, growth, recall = process.stdout.split()
    # The engine's own state (README, "Memory"): per x1 row 52 + 16·T bytes, twice while handed
    # over; column panels ≤ 64 MiB; a 1024×2048 float32 tile per thread; 96 MiB for the process.
    state = (1 << 20) * (52 + 16) * 2 + (64 << 20) + 2 * (8 << 20) + (96 << 20)
    assert int(growth) <= state < int(size) // 3, process.stdout
    assert float(recall) == 1.0


def test_calls_from_several_threads_at_once_give_the_reports_of_calls_one_by_one() -> None:
    rng = np.random.default_rng(24)
    sets = [(rng.standard_normal((3000, 64), dtype=np.float32), rng.standard_normal((3000, 64), dtype=np.float32))
            for _ in range(3)]
    alone = [crosssim.evaluate(x1, x2, top_k=3).to_dict() for x1, x2 in sets]
    together: dict[int, dict] = {}
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, crosssim.evaluate(*sets[i], top_k=3).to_dict()))
               for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(3):
        assert without_engine(together[i]) == without_engine(alone[i])
