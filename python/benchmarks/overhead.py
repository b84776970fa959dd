"""The cost of a Python call against the command line on the same data (issue: at N = 16384,
D = 384, `crosssim.evaluate` on arrays in memory is no slower than `crosssim eval` on the
same arrays in .npy files).

    python python/benchmarks/overhead.py [--n 16384] [--dim 384] [--rounds 3] [--cli PATH]

Alternates the two in rounds (the machine's load drifts) and prints each run's wall time and
CPU time (user + system; less moved by other processes on a shared machine): the CLI's whole
process (startup, reading both files, the run, writing the report), and the Python call from
arrays to a Report (the library already loaded).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import crosssim

REPOSITORY = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=16384)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cli", default=str(REPOSITORY / ".build" / "release" / "crosssim"))
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((arguments.n, arguments.dim), dtype=np.float32)
    x2 = x1 + rng.standard_normal((arguments.n, arguments.dim), dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "x1.npy", x1)
        np.save(Path(folder) / "x2.npy", x2)
        crosssim.evaluate(x1[:64], x2[:64])  # the library loaded
        for round in range(arguments.rounds):
            start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
            subprocess.run([arguments.cli, "eval", f"{folder}/x1.npy", f"{folder}/x2.npy", "--quiet",
                            "--json", f"{folder}/cli.json"], check=True, stdout=subprocess.DEVNULL)
            cli = time.perf_counter() - start, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
            start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
            crosssim.evaluate(x1, x2)
            python = time.perf_counter() - start, cpu_seconds(resource.RUSAGE_SELF) - cpu
            print(f"round {round}: CLI {cli[0]:.2f} s (CPU {cli[1]:.2f} s), Python {python[0]:.2f} s (CPU {python[1]:.2f} s)")


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
