"""Loading libCrossSimC and calling it: ctypes signatures, a worker thread per call (ctypes
releases the GIL while the library computes), Ctrl-C turned into a cancellation, and the
library's codes turned into exceptions. The ABI is Sources/CrossSimC/crosssim.h."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import threading
from ctypes import POINTER, byref, c_char_p, c_float, c_int32, c_int64, c_void_p
from pathlib import Path
from typing import Callable, Optional, Tuple

ABI_VERSION = 2
LIBRARY_NAME = "libCrossSimC.so"

#: Exit codes of the command line (docs/command-line.md), which the library returns.
CODE_INTERNAL = 1
CODE_INPUT = 2
CODE_INTERRUPTED = 130


class CrossSimError(RuntimeError):
    """A failure of CrossSim itself or of the system under it (the CLI's exit code 1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InputError(ValueError):
    """Bad input or options (the CLI's exit code 2), with the message the CLI prints."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = CODE_INPUT
        self.message = message


def library_path() -> Path:
    """``CROSSSIM_LIBRARY`` if set, else the library installed inside this package."""
    override = os.environ.get("CROSSSIM_LIBRARY")
    return Path(override) if override else Path(__file__).with_name("lib") / LIBRARY_NAME


# Loads the library and prints the OPENBLAS_CORETYPE it would rather run with (or nothing).
_PROBE = (
    "import ctypes, sys\n"
    "lib = ctypes.CDLL(sys.argv[1])\n"
    "lib.crosssim_better_blas_core_type.restype = ctypes.c_void_p\n"
    "p = lib.crosssim_better_blas_core_type()\n"
    "print(ctypes.string_at(p).decode() if p else '')\n"
)


def _choose_blas_kernels(path: Path) -> None:
    """OpenBLAS releases older than the CPU fall back to SSE3 kernels, several times slower;
    it reads ``OPENBLAS_CORETYPE`` only when it is loaded. As the CLI re-runs itself with the
    variable set, ask a child process that loads the library which kernels would serve better,
    and set the variable before loading it here (unless the user set it)."""
    if "OPENBLAS_CORETYPE" in os.environ or os.environ.get("CROSSSIM_KEEP_BLAS"):
        return
    try:
        answer = subprocess.run([sys.executable, "-S", "-c", _PROBE, str(path)], capture_output=True, text=True,
                                timeout=60, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return  # the load below reports a library that cannot load
    if answer:
        os.environ["OPENBLAS_CORETYPE"] = answer


_library: Optional[ctypes.CDLL] = None
_library_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """The loaded library, with its function signatures (loaded on first use)."""
    global _library
    with _library_lock:
        if _library is None:
            path = library_path()
            if not path.exists():
                raise ImportError(f"crosssim: {path} is missing: build it with `swift build -c release --product CrossSimC "
                                  f"-Xswiftc -static-stdlib` (pip install ./python does) or set CROSSSIM_LIBRARY")
            _choose_blas_kernels(path)
            _library = _declare(ctypes.CDLL(str(path)))
            version = _library.crosssim_abi_version()
            if version != ABI_VERSION:
                _library = None
                raise ImportError(f"crosssim: {path} has ABI version {version}; this package needs {ABI_VERSION}")
        return _library


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    result_p, error_p = POINTER(c_void_p), POINTER(c_void_p)
    signatures = {
        "crosssim_abi_version": (c_int32, []),
        "crosssim_string_free": (None, [c_void_p]),
        "crosssim_run_new": (c_void_p, []),
        "crosssim_run_cancel": (None, [c_void_p]),
        "crosssim_run_progress": (None, [c_void_p, POINTER(c_int64), POINTER(c_int64)]),
        "crosssim_run_free": (None, [c_void_p]),
        "crosssim_evaluate": (c_int32, [c_void_p, c_int64, c_void_p, c_int64, c_int64, c_void_p, c_char_p, c_void_p,
                                        result_p, error_p]),
        "crosssim_evaluate_files": (c_int32, [c_char_p, c_char_p, c_char_p, c_char_p, c_void_p, result_p, error_p]),
        "crosssim_merge": (c_int32, [POINTER(c_char_p), c_int64, c_char_p, result_p, error_p]),
        "crosssim_compare": (c_int32, [c_char_p, c_char_p, c_char_p, result_p, error_p]),
        "crosssim_compare_reports": (c_int32, [c_char_p, POINTER(c_void_p), POINTER(c_void_p), c_char_p, POINTER(c_void_p),
                                               POINTER(c_void_p), c_char_p, result_p, error_p]),
        "crosssim_dedup": (c_int32, [c_void_p, c_int64, c_void_p, c_int64, c_int64, c_char_p, c_void_p, result_p, error_p]),
        "crosssim_dedup_files": (c_int32, [c_char_p, c_char_p, c_char_p, c_void_p, result_p, error_p]),
        "crosssim_gradient": (c_int32, [c_void_p, c_int64, c_void_p, c_int64, c_int64, c_void_p, c_char_p, c_void_p, c_void_p,
                                        c_void_p, result_p, error_p]),
        "crosssim_result_json": (c_void_p, [c_void_p]),
        "crosssim_result_summary": (c_void_p, [c_void_p]),
        "crosssim_result_notes": (c_void_p, [c_void_p]),
        "crosssim_result_neighbors_shape": (c_int32, [c_void_p, c_int32, POINTER(c_int64), POINTER(c_int64)]),
        "crosssim_result_neighbors": (c_int32, [c_void_p, c_int32, c_int64, c_int64, c_void_p, POINTER(c_float)]),
        "crosssim_result_hard_negatives_shape": (c_int32, [c_void_p, c_int32, POINTER(c_int64), POINTER(c_int64)]),
        "crosssim_result_hard_negatives": (c_int32, [c_void_p, c_int32, c_int64, c_int64, c_void_p, POINTER(c_float)]),
        "crosssim_result_per_query_shape": (c_int32, [c_void_p, c_int32, POINTER(c_int64), POINTER(c_int64)]),
        "crosssim_result_per_query": (c_int32, [c_void_p, c_int32, c_int64, c_int64, c_void_p, c_void_p, c_void_p, c_void_p,
                                                c_void_p]),
        "crosssim_result_free": (None, [c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def encode_request(options: dict[str, object]) -> bytes:
    """The JSON object of options; ``None`` values are left out (the CLI's defaults)."""
    try:
        return json.dumps({k: v for k, v in options.items() if v is not None}, allow_nan=False).encode()
    except ValueError:
        raise InputError("options must be finite numbers (NaN and ±inf are not)") from None


Progress = Callable[[int, int], None]


def call(function: Callable[..., int], *arguments: object, keep: Tuple[object, ...] = (), cancellable: bool = True,
         progress: Optional[Progress] = None) -> c_void_p:
    """Runs ``function(*arguments[, run], &result, &error)`` on a worker thread and returns the
    result handle. The worker holds ``keep`` (the buffers that ``arguments`` point into) until
    the library returns, even when the caller has stopped waiting. The main thread waits in short steps, so that Ctrl-C reaches it: it then
    cancels the run (the library stops at its next tile and writes nothing), waits for the
    worker and re-raises ``KeyboardInterrupt``. A second Ctrl-C stops waiting. ``progress``
    gets (tiles done, tiles in all) at each step and once at the end of a run that succeeded."""
    lib = library()
    run = c_void_p(lib.crosssim_run_new()) if cancellable else None
    result, error = c_void_p(), c_void_p()
    outcome: list[int] = []
    tail = (run, byref(result), byref(error)) if cancellable else (byref(result), byref(error))

    def work() -> None:
        outcome.append(function(*arguments, *tail))
        del held[:]

    held = list(keep)

    worker = threading.Thread(target=work, name="crosssim", daemon=True)
    worker.start()
    try:
        _wait(worker, lib, run, progress)
    except KeyboardInterrupt:
        if run is not None:
            lib.crosssim_run_cancel(run)
        worker.join()  # a second Ctrl-C leaves the worker (and its run handle) behind
        _free_result(lib, result, error)
        lib.crosssim_run_free(run)
        raise
    if run is not None:
        if progress is not None and outcome[0] == 0:
            _report_progress(lib, run, progress)
        lib.crosssim_run_free(run)
    code = outcome[0]
    if code == 0:
        return result
    message = ctypes.string_at(error.value).decode() if error.value else f"code {code}"
    lib.crosssim_string_free(error)
    if code == CODE_INTERRUPTED:
        raise KeyboardInterrupt(message)
    if code == CODE_INPUT:
        raise InputError(message)
    raise CrossSimError(code, message)


def _wait(worker: threading.Thread, lib: ctypes.CDLL, run: Optional[c_void_p], progress: Optional[Progress]) -> None:
    while worker.is_alive():
        worker.join(0.1)
        if progress is not None and run is not None and worker.is_alive():
            _report_progress(lib, run, progress)


def _report_progress(lib: ctypes.CDLL, run: c_void_p, progress: Progress) -> None:
    done, total = c_int64(), c_int64()
    lib.crosssim_run_progress(run, byref(done), byref(total))
    progress(done.value, total.value)


def _free_result(lib: ctypes.CDLL, result: c_void_p, error: c_void_p) -> None:
    if result.value:
        lib.crosssim_result_free(result)
    if error.value:
        lib.crosssim_string_free(error)


def text(pointer: Optional[int]) -> Optional[str]:
    return None if not pointer else ctypes.string_at(pointer).decode()
