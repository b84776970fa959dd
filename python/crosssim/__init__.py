"""CrossSim from Python: contrastive losses and retrieval metrics between two embedding sets,
exactly, in bounded memory, computed by CrossSim's Swift core in this process.

    import numpy as np, crosssim
    x = np.random.default_rng(0).standard_normal((1000, 64), dtype=np.float32)
    report = crosssim.evaluate(x, x + 0.1, tau=(0.05, 0.01), siglip=[(10, -10)])
    report.infonce[0].symmetric, report.retrieval.x1_to_x2.recall[1]

``report.json`` is the text ``crosssim eval --json`` writes for the same inputs and options.
"""

from __future__ import annotations

import ctypes
import json
import os
from ctypes import byref, c_char_p, c_float, c_int64, c_void_p
from typing import Any, Iterable, Optional, Sequence, Tuple, Union, overload

import numpy as np

from . import _native
from ._native import CrossSimError, InputError, Progress
from ._report import (Chance, Diagnostics, Engine, Histogram, Inputs, Loss, MergedEngine, NeighborLists, Neighbors,
                      PairsInfo, Report, Retrieval, RetrievalDirection, SetInfo, SigLIP, Uniformity)

__version__ = "0.1.0"
__all__ = [
    "evaluate", "evaluate_files", "merge", "Report", "InputError", "CrossSimError",
    "Inputs", "SetInfo", "PairsInfo", "Loss", "SigLIP", "Retrieval", "RetrievalDirection", "Diagnostics", "Chance",
    "Uniformity", "Histogram", "Engine", "MergedEngine", "Neighbors", "NeighborLists",
]

PathLike = Union[str, "os.PathLike[str]"]


def evaluate(
    x1: Any, x2: Any, *,
    pairs: Any = None,
    similarity: str = "cosine",
    tau: Union[float, Sequence[float]] = (0.05,),
    siglip: Iterable[Tuple[float, float]] = (),
    k: Sequence[int] = (1, 5, 10),
    top_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Union[None, str, Tuple[int, int]] = None,
    plot: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Report:
    """Evaluates x1 [N1, D] against x2 [N2, D] in memory, as ``crosssim eval`` does from files.

    x1, x2: numpy arrays of float32, float16 or float64, or anything with ``__dlpack__`` or
        ``__array__`` (a torch CPU tensor). A C-contiguous float32 array is read in place,
        without a copy; other dtypes and layouts are converted to float32 first. Under cosine
        similarity the library normalises rows into its own copy, unless every row is of unit
        length already (within 1e-5): then the report agrees with the CLI's (which normalises
        every row it reads) within docs/accuracy.md rather than bit for bit.
    pairs: ``None`` (row i of x1 with row i of x2) or N2 integers: x2 row j is a positive of
        x1 row ``pairs[j]`` (``--pairs``).
    similarity: "cosine" or "dot". tau: one or more temperatures. siglip: (scale, bias) terms.
    k: the k of recall@k. top_k: keep the K best candidates per query both ways
        (``report.neighbors``, with precision, nDCG and MAP at each k ≤ K).
    uniformity: each set's uniformity (Wang & Isola). histogram: gather the similarity
        histograms. threads, tile ("ROWSxCOLS" or (rows, cols)): as ``--threads``, ``--tile``.
    plot: write the summary page (SVG) here, as ``--plot``.
    progress: called about ten times a second with (tiles done, tiles in all), and once at the end.

    The GIL is released while the library computes. Ctrl-C stops the run at its next tile and
    raises ``KeyboardInterrupt``. Bad inputs raise ``InputError`` (a ``ValueError``) with the
    CLI's message; failures of the library raise ``CrossSimError``.
    """
    a1, dtype1 = _matrix(x1, "x1")
    a2, dtype2 = _matrix(x2, "x2")
    if a1.shape[1] != a2.shape[1]:
        raise InputError(f"dimension mismatch between sets: x1 has D = {a1.shape[1]}, x2 has D = {a2.shape[1]}")
    positives = None if pairs is None else _pairs(pairs, a1.shape[0], a2.shape[0])
    request = _request(similarity, tau, siglip, k, top_k, uniformity, histogram, threads, tile, plot,
                       x1_dtype=dtype1, x2_dtype=dtype2)
    lib = _native.library()
    # The worker holds the arrays (keep) while the library reads them in place.
    result = _native.call(
        lib.crosssim_evaluate, a1.ctypes.data, a1.shape[0], a2.ctypes.data, a2.shape[0], a1.shape[1],
        None if positives is None else positives.ctypes.data, request, keep=(a1, a2, positives), progress=progress)
    return _report(lib, result)


@overload
def evaluate_files(
    x1: PathLike, x2: PathLike, *,
    pairs: Optional[PathLike] = None,
    similarity: str = "cosine",
    tau: Union[float, Sequence[float]] = (0.05,),
    siglip: Iterable[Tuple[float, float]] = (),
    k: Sequence[int] = (1, 5, 10),
    top_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Union[None, str, Tuple[int, int]] = None,
    plot: Optional[PathLike] = None,
    memory_limit: Union[None, int, str] = None,
    part: None = None,
    state: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Report: ...


@overload
def evaluate_files(
    x1: PathLike, x2: PathLike, *,
    pairs: Optional[PathLike] = None,
    similarity: str = "cosine",
    tau: Union[float, Sequence[float]] = (0.05,),
    siglip: Iterable[Tuple[float, float]] = (),
    k: Sequence[int] = (1, 5, 10),
    top_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Union[None, str, Tuple[int, int]] = None,
    plot: Optional[PathLike] = None,
    memory_limit: Union[None, int, str] = None,
    part: str,
    state: PathLike,
    progress: Optional[Progress] = None,
) -> None: ...



def evaluate_files(
    x1: PathLike, x2: PathLike, *,
    pairs: Optional[PathLike] = None,
    similarity: str = "cosine",
    tau: Union[float, Sequence[float]] = (0.05,),
    siglip: Iterable[Tuple[float, float]] = (),
    k: Sequence[int] = (1, 5, 10),
    top_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Union[None, str, Tuple[int, int]] = None,
    plot: Optional[PathLike] = None,
    memory_limit: Union[None, int, str] = None,
    part: Optional[str] = None,
    state: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Optional[Report]:
    """Evaluates sets on disk exactly as ``crosssim eval X1 X2`` does: each a shard (``.npy``,
    ``.fbin``, optionally ``.zst``), a directory of shards or a ``.txt`` manifest; ``pairs`` a
    ``.npy`` of integers. Options as in ``evaluate``, and:

    memory_limit: bytes or a size such as "8G" (``--memory-limit``): x1 in panels, x2 streamed.
    part: "I/K" (``--part``): only the I-th of K ranges of x1 rows; its state is written to
        ``state`` (required) for ``merge``, and nothing is returned.
    state: write this run's state here (``--state``).
    """
    request = _request(similarity, tau, siglip, k, top_k, uniformity, histogram, threads, tile, plot,
                       memory_limit=None if memory_limit is None else str(memory_limit),
                       part=part, state=None if state is None else os.fspath(state))
    lib = _native.library()
    result = _native.call(lib.crosssim_evaluate_files, _path(x1), _path(x2), None if pairs is None else _path(pairs),
                          request, progress=progress)
    if part is not None:
        lib.crosssim_result_free(result)
        return None
    return _report(lib, result)


def merge(states: Iterable[PathLike], *, plot: Optional[PathLike] = None) -> Report:
    """Combines the state files of every part of a run (any order) into the run's report, as
    ``crosssim merge`` does; refuses parts of other runs, duplicates and missing parts."""
    paths = [_path(p) for p in states]
    array = (c_char_p * len(paths))(*paths)
    lib = _native.library()
    request = _native.encode_request({"plot": None if plot is None else os.fspath(plot)})
    result = _native.call(lib.crosssim_merge, array, len(paths), request, keep=(array,), cancellable=False)
    return _report(lib, result)


# -- inputs --------------------------------------------------------------------------------

def _matrix(x: Any, name: str) -> Tuple[np.ndarray, str]:
    """x as a C-contiguous, aligned float32 [rows, D] array (x itself when it already is one)
    and the dtype it came in, as NumPy writes it ("<f2")."""
    if isinstance(x, np.ndarray):
        array = x
    elif hasattr(x, "__dlpack__"):
        array = np.from_dlpack(x)
    elif hasattr(x, "__array__"):
        array = np.asarray(x)
    else:
        raise TypeError(f"{name}: expected a numpy array or an object with __dlpack__ or __array__, "
                        f"got {type(x).__name__}")
    if array.ndim != 2:
        raise InputError(f"{name}: wrong rank: expected a 2-D array [rows, dim], found shape {array.shape}")
    if array.dtype.kind != "f" or array.dtype.itemsize not in (2, 4, 8):
        raise InputError(f"{name}: unsupported dtype '{array.dtype.str}': expected float16, float32 or float64")
    if array.dtype.itemsize == 8:
        with np.errstate(over="ignore"):
            converted = array.astype(np.float32, order="C")
        beyond = np.isinf(converted) & np.isfinite(array)
        if beyond.any():
            row, column = (int(i) for i in np.argwhere(beyond)[0])
            raise InputError(f"{name}: row {row}: value {float(array[row, column])!r} is beyond Float32's range (±3.4e38), "
                             f"in which CrossSim computes: scale the set down")
        return converted, array.dtype.str
    return np.require(array, dtype=np.float32, requirements=["C", "A"]), array.dtype.str


def _pairs(pairs: Any, x1_rows: int, x2_rows: int) -> np.ndarray:
    array = np.asarray(pairs)
    if array.ndim != 1:
        raise InputError(f"pairs: wrong rank: pairs must be a 1-D array, found shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise InputError(f"pairs: unsupported dtype '{array.dtype.str}' for pairs: expected integers such as <i8")
    if array.shape[0] != x2_rows:
        raise InputError(f"pairs: pairs of length {array.shape[0]} for {x1_rows} rows do not fit "
                         f"x1 ({x1_rows}) and x2 ({x2_rows})")
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise InputError(f"pairs: pairs out of range: x1 has {x1_rows} rows")
    return np.require(array, dtype=np.int64, requirements=["C", "A"])


def _path(path: PathLike) -> bytes:
    return os.fsencode(path)


def _request(similarity: str, tau: Union[float, Sequence[float]], siglip: Iterable[Tuple[float, float]],
             k: Sequence[int], top_k: Optional[int], uniformity: bool, histogram: bool, threads: Optional[int],
             tile: Union[None, str, Tuple[int, int]], plot: Optional[PathLike], **more: Optional[str]) -> bytes:
    taus = [float(t) for t in np.atleast_1d(tau)]
    terms = [[float(scale), float(bias)] for scale, bias in siglip]
    if isinstance(tile, tuple):
        tile = f"{tile[0]}x{tile[1]}"
    return _native.encode_request({
        "similarity": similarity, "tau": taus, "siglip": terms, "k": [_integer(v, "k") for v in k],
        "top_k": None if top_k is None else _integer(top_k, "top_k"), "uniformity": bool(uniformity),
        "histogram": bool(histogram), "threads": None if threads is None else _integer(threads, "threads"),
        "tile": tile, "plot": None if plot is None else os.fspath(plot), **more,
    })


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"bad {name} {value!r}: expected a whole number")
    return int(value)


# -- results -------------------------------------------------------------------------------

def _report(lib: ctypes.CDLL, result: c_void_p) -> Report:
    try:
        text = _native.text(lib.crosssim_result_json(result))
        assert text is not None, "a whole run has a report"
        summary = _native.text(lib.crosssim_result_summary(result)) or ""
        notes = tuple(json.loads(_native.text(lib.crosssim_result_notes(result)) or "[]"))
        return Report._from_json(text, summary, notes, _neighbors(lib, result))
    finally:
        lib.crosssim_result_free(result)


def _neighbors(lib: ctypes.CDLL, result: c_void_p) -> Optional[Neighbors]:
    lists = []
    for direction in (0, 1):
        queries, k = c_int64(), c_int64()
        if lib.crosssim_result_neighbors_shape(result, direction, byref(queries), byref(k)) != 0:
            return None
        indices = np.empty((queries.value, k.value), dtype=np.int64)
        scores = np.empty((queries.value, k.value), dtype=np.float32)
        code = lib.crosssim_result_neighbors(result, direction, queries.value, k.value, indices.ctypes.data,
                                             scores.ctypes.data_as(ctypes.POINTER(c_float)))
        if code != 0:
            raise CrossSimError(code, "internal error: the top-k lists changed shape")
        indices.flags.writeable = False
        scores.flags.writeable = False
        lists.append(NeighborLists(indices, scores))
    return Neighbors(*lists)
