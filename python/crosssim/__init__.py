"""CrossSim from Python: contrastive losses and retrieval metrics between two embedding sets,
exactly, in bounded memory, computed by CrossSim's Swift core in this process.

    import numpy as np, crosssim
    x = np.random.default_rng(0).standard_normal((1000, 64), dtype=np.float32)
    report = crosssim.evaluate(x, x + 0.1, tau=(0.05, 0.01), siglip=[(10, -10)])
    report.infonce[0].symmetric, report.retrieval.x1_to_x2.recall[1]

``report.json`` is the text ``crosssim eval --json`` writes for the same inputs and options.
``compare``, ``dedup`` and ``grad`` are the commands of the same names.
"""

from __future__ import annotations

import ctypes
import json
import os
import tempfile
from ctypes import byref, c_char_p, c_float, c_int64, c_void_p
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union, overload

import numpy as np

from . import _native
from ._native import CrossSimError, InputError, Progress
from ._report import (Chance, Comparison, ComparisonMetric, Dedup, Diagnostics, DirectionChanges, Engine, Gradient, Health,
                      Histogram, Hubness, HubnessDirection, Inputs, LargestChanges, Loss, MergedEngine, NeighborLists,
                      Neighbors, PairsInfo, PerQuery, PerQueryColumns, QueriesOnly, RankChange, RankChanges, Report,
                      Retrieval, RetrievalDirection, SetHealth, SetInfo, SigLIP, Uniformity)

__version__ = "0.1.0"
__all__ = [
    "evaluate", "evaluate_files", "merge", "compare", "dedup", "dedup_files", "grad",
    "Report", "Comparison", "Dedup", "Gradient", "InputError", "CrossSimError",
    "Inputs", "SetInfo", "PairsInfo", "Loss", "SigLIP", "Retrieval", "RetrievalDirection", "Diagnostics", "Chance",
    "Uniformity", "Histogram", "Health", "SetHealth", "Hubness", "HubnessDirection", "QueriesOnly", "Engine",
    "MergedEngine", "Neighbors", "NeighborLists", "PerQuery", "PerQueryColumns", "ComparisonMetric", "RankChanges",
    "RankChange", "DirectionChanges", "LargestChanges",
]

PathLike = Union[str, "os.PathLike[str]"]
Tile = Union[None, str, Tuple[int, int]]


def evaluate(
    x1: Any, x2: Any, *,
    pairs: Any = None,
    similarity: str = "cosine",
    tau: Union[None, float, Sequence[float]] = None,
    siglip: Iterable[Tuple[float, float]] = (),
    k: Optional[Sequence[int]] = None,
    top_k: Optional[int] = None,
    queries_only: bool = False,
    hard_negatives: Optional[int] = None,
    margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    range_min: Optional[int] = None,
    range_max: Optional[int] = None,
    per_query: Union[bool, PathLike] = False,
    health: bool = False,
    hubness_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Tile = None,
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
    similarity: "cosine" or "dot". tau: one or more temperatures (default 0.05). siglip:
        (scale, bias) terms. k: the k of recall@k (default (1, 5, 10)).
    top_k: keep the K best candidates per query both ways (``report.neighbors``, with
        precision, nDCG and MAP at each k ≤ K).
    queries_only: x1's rows are unlabelled queries (``--queries-only``, with ``top_k``): only
        their x1→x2 lists are computed, and the report holds nothing else (no tau, k or pairs).
    hard_negatives: K hard negatives per query both ways (``report.hard_negatives``), below the
        best positive by ``margin`` and by ``relative_margin`` of it, at positions ``range_min``
        up to ``range_max`` of the query's negatives (docs/definitions.md, "Hard negatives").
    per_query: True keeps each query's rank, best positive, best negative and InfoNCE terms
        (``report.per_query``); a directory also writes them there as ``--per-query DIR``
        does, and the report names it (what ``compare`` reads).
    health: effective rank, modality gap and hubness (``report.health``; ``hubness_k``, default 10).
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
    _same_dimension(a1, a2)
    positives = None if pairs is None else _pairs(pairs, a1.shape[0], a2.shape[0])
    request = _native.encode_request({
        **_evaluation_options(similarity, tau, siglip, k, top_k, queries_only, hard_negatives, margin, relative_margin,
                              range_min, range_max, per_query, health, hubness_k, uniformity, histogram, threads, tile,
                              plot),
        "x1_dtype": dtype1, "x2_dtype": dtype2})
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
    tau: Union[None, float, Sequence[float]] = None,
    siglip: Iterable[Tuple[float, float]] = (),
    k: Optional[Sequence[int]] = None,
    top_k: Optional[int] = None,
    queries_only: bool = False,
    hard_negatives: Optional[int] = None,
    margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    range_min: Optional[int] = None,
    range_max: Optional[int] = None,
    per_query: Union[bool, PathLike] = False,
    health: bool = False,
    hubness_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Tile = None,
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
    tau: Union[None, float, Sequence[float]] = None,
    siglip: Iterable[Tuple[float, float]] = (),
    k: Optional[Sequence[int]] = None,
    top_k: Optional[int] = None,
    queries_only: bool = False,
    hard_negatives: Optional[int] = None,
    margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    range_min: Optional[int] = None,
    range_max: Optional[int] = None,
    per_query: bool = False,
    health: bool = False,
    hubness_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Tile = None,
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
    tau: Union[None, float, Sequence[float]] = None,
    siglip: Iterable[Tuple[float, float]] = (),
    k: Optional[Sequence[int]] = None,
    top_k: Optional[int] = None,
    queries_only: bool = False,
    hard_negatives: Optional[int] = None,
    margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    range_min: Optional[int] = None,
    range_max: Optional[int] = None,
    per_query: Union[bool, PathLike] = False,
    health: bool = False,
    hubness_k: Optional[int] = None,
    uniformity: bool = False,
    histogram: bool = False,
    threads: Optional[int] = None,
    tile: Tile = None,
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
        ``state`` (required) for ``merge``, and nothing is returned. ``per_query=True`` keeps
        in the state what the merge's per-query results need (``--keep-per-query``).
    state: write this run's state here (``--state``).
    """
    request = _native.encode_request({
        **_evaluation_options(similarity, tau, siglip, k, top_k, queries_only, hard_negatives, margin, relative_margin,
                              range_min, range_max, per_query, health, hubness_k, uniformity, histogram, threads, tile,
                              plot),
        "memory_limit": None if memory_limit is None else str(memory_limit),
        "part": part, "state": None if state is None else os.fspath(state)})
    lib = _native.library()
    result = _native.call(lib.crosssim_evaluate_files, _path(x1), _path(x2), None if pairs is None else _path(pairs),
                          request, progress=progress)
    if part is not None:
        lib.crosssim_result_free(result)
        return None
    return _report(lib, result)


def merge(states: Iterable[PathLike], *, per_query: Union[bool, PathLike] = False,
          plot: Optional[PathLike] = None) -> Report:
    """Combines the state files of every part of a run (any order) into the run's report, as
    ``crosssim merge`` does; refuses parts of other runs, duplicates and missing parts. The
    report holds the parts' top-k lists and hard negatives where they kept them; ``per_query``
    (True, or a directory to write them to, as ``--per-query DIR``) needs parts run with
    ``per_query=True``."""
    paths = [_path(p) for p in states]
    array = (c_char_p * len(paths))(*paths)
    lib = _native.library()
    request = _native.encode_request({"plot": None if plot is None else os.fspath(plot), **_per_query_option(per_query)})
    result = _native.call(lib.crosssim_merge, array, len(paths), request, keep=(array,), cancellable=False)
    return _report(lib, result)


def compare(base: Union[PathLike, Report], new: Union[PathLike, Report], *,
            bootstrap: int = 10_000,
            confidence: float = 0.95,
            seed: int = 0,
            tolerance: float = 0.0,
            threads: Optional[int] = None,
            plot: Optional[PathLike] = None) -> Comparison:
    """Compares two reports of the same queries, as ``crosssim compare BASE NEW`` does
    (docs/command-line.md): two report files whose per-query results were written (``crosssim
    eval --per-query DIR --json F``, or ``evaluate(..., per_query=DIR)`` and its ``json``
    saved), or two ``Report`` objects with per-query columns (``evaluate(..., per_query=True)``),
    named "base" and "new" in the result. Per metric: base, new, the difference, its paired
    bootstrap interval (``bootstrap`` resamples, ``confidence``, ``seed``) and a verdict that
    needs the whole interval beyond ±``tolerance``. ``plot`` writes the differences as SVG.
    ``comparison.regressed`` names the metrics that regressed."""
    lib = _native.library()
    request = _native.encode_request({
        "bootstrap": _integer(bootstrap, "bootstrap"), "confidence": float(confidence), "seed": _integer(seed, "seed"),
        "tolerance": float(tolerance), "threads": None if threads is None else _integer(threads, "threads"),
        "plot": None if plot is None else os.fspath(plot)})
    if isinstance(base, Report) and isinstance(new, Report):
        base_rank, base_infonce, base_arrays = _columns(base, "base")
        new_rank, new_infonce, new_arrays = _columns(new, "new")
        result = _native.call(lib.crosssim_compare_reports, base.json.encode(), base_rank, base_infonce, new.json.encode(),
                              new_rank, new_infonce, request, keep=(*base_arrays, *new_arrays), cancellable=False)
    elif isinstance(base, Report) or isinstance(new, Report):
        raise TypeError("compare takes two report files or two Reports, not one of each")
    else:
        result = _native.call(lib.crosssim_compare, _path(base), _path(new), request, cancellable=False)
    try:
        text = _native.text(lib.crosssim_result_json(result))
        assert text is not None, "a comparison has its JSON"
        return Comparison._from_json(text, _native.text(lib.crosssim_result_summary(result)) or "", _notes(lib, result))
    finally:
        lib.crosssim_result_free(result)


def dedup(x: Any, *,
          threshold: float,
          against: Any = None,
          similarity: str = "cosine",
          max_pairs: Optional[int] = None,
          threads: Optional[int] = None,
          tile: Tile = None,
          out: Optional[PathLike] = None,
          progress: Optional[Progress] = None) -> Dedup:
    """Near-duplicates of an array x [N, D] in memory, as ``crosssim dedup`` finds them in a
    set on disk (docs/dedup.md): every pair of rows whose exact similarity reaches
    ``threshold``, within x or, with ``against`` (an array [M, D]), between a row of x and a row
    of it (a leakage audit). Arrays are taken as in ``evaluate``. ``max_pairs`` stops the run
    (``InputError``) as soon as more pairs are found. The pairs go to disk as they are found:
    to ``out`` (a directory, which keeps the .npy files) or else a temporary directory; the
    result holds them as arrays."""
    a, _ = _matrix(x, "x")
    other = None if against is None else _matrix(against, "against")[0]
    if other is not None and other.shape[1] != a.shape[1]:
        raise InputError(f"against: dimension mismatch between sets: SET has D = {a.shape[1]}, OTHER has D = {other.shape[1]}")
    lib = _native.library()

    def run(request: Dict[str, Any]) -> c_void_p:
        return _native.call(lib.crosssim_dedup, a.ctypes.data, a.shape[0], None if other is None else other.ctypes.data,
                            0 if other is None else other.shape[0], a.shape[1], _native.encode_request(request), keep=(a, other),
                            progress=progress)

    return _dedup(lib, run, threshold, similarity, max_pairs, threads, tile, out, against=other is not None)


def dedup_files(set: PathLike, *,
                threshold: float,
                against: Optional[PathLike] = None,
                similarity: str = "cosine",
                max_pairs: Optional[int] = None,
                threads: Optional[int] = None,
                tile: Tile = None,
                out: Optional[PathLike] = None,
                memory_limit: Optional[str] = None,
                progress: Optional[Progress] = None) -> Dedup:
    """``crosssim dedup SET [--against OTHER]`` of sets on disk (read as ``evaluate_files``
    reads them), with the options and result of ``dedup``. ``memory_limit="8G"`` is
    ``--memory-limit``: SET's rows are held in panels and the columns streamed past them."""
    lib = _native.library()

    def run(request: Dict[str, Any]) -> c_void_p:
        if memory_limit is not None:
            request["memory_limit"] = memory_limit
        return _native.call(lib.crosssim_dedup_files, _path(set), None if against is None else _path(against),
                            _native.encode_request(request), progress=progress)

    return _dedup(lib, run, threshold, similarity, max_pairs, threads, tile, out, against=against is not None)


def grad(x1: Any, x2: Any, *,
         tau: Optional[float] = None,
         siglip: Optional[Tuple[float, float]] = None,
         pairs: Any = None,
         similarity: str = "cosine",
         threads: Optional[int] = None,
         tile: Tile = None,
         progress: Optional[Progress] = None) -> Gradient:
    """The gradient of one loss with respect to the rows of x1 [N1, D] and x2 [N2, D], as
    ``crosssim grad`` computes it from files (docs/gradient.md), exactly as for one batch of
    any size and without holding S: the symmetric InfoNCE at ``tau``, or the SigLIP loss with
    ``siglip`` = (scale, bias), one of them. Arrays and ``pairs`` are taken as in ``evaluate``;
    float16 and float64 rows are rounded to float32 first, and the gradients are float32 arrays
    of x1's and x2's shapes. Under cosine similarity the gradient goes through the rows'
    normalisation. Also returns the loss and the evaluation's report (``grad``'s report.json)."""
    a1, dtype1 = _matrix(x1, "x1")
    a2, dtype2 = _matrix(x2, "x2")
    _same_dimension(a1, a2)
    positives = None if pairs is None else _pairs(pairs, a1.shape[0], a2.shape[0])
    request = _native.encode_request({
        "tau": None if tau is None else float(tau),
        "siglip": None if siglip is None else [float(v) for v in siglip],
        "similarity": similarity, "threads": None if threads is None else _integer(threads, "threads"),
        "tile": _tile(tile), "x1_dtype": dtype1, "x2_dtype": dtype2})
    dx1 = np.empty(a1.shape, dtype=np.float32)
    dx2 = np.empty(a2.shape, dtype=np.float32)
    lib = _native.library()
    result = _native.call(
        lib.crosssim_gradient, a1.ctypes.data, a1.shape[0], a2.ctypes.data, a2.shape[0], a1.shape[1],
        None if positives is None else positives.ctypes.data, request, dx1.ctypes.data, dx2.ctypes.data,
        keep=(a1, a2, positives, dx1, dx2), progress=progress)
    report = _report(lib, result)
    loss = report.infonce[0].symmetric if tau is not None else report.siglip[0].loss
    return Gradient(loss=loss, dx1=dx1, dx2=dx2, report=report)


# -- inputs --------------------------------------------------------------------------------

def _same_dimension(a1: np.ndarray, a2: np.ndarray) -> None:
    if a1.shape[1] != a2.shape[1]:
        raise InputError(f"dimension mismatch between sets: x1 has D = {a1.shape[1]}, x2 has D = {a2.shape[1]}")


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


def _evaluation_options(similarity: str, tau: Union[None, float, Sequence[float]], siglip: Iterable[Tuple[float, float]],
                        k: Optional[Sequence[int]], top_k: Optional[int], queries_only: bool, hard_negatives: Optional[int],
                        margin: Optional[float], relative_margin: Optional[float], range_min: Optional[int],
                        range_max: Optional[int], per_query: Union[bool, PathLike], health: bool, hubness_k: Optional[int],
                        uniformity: bool, histogram: bool, threads: Optional[int], tile: Tile,
                        plot: Optional[PathLike]) -> dict[str, Any]:
    """An evaluation's request (Sources/CrossSimC/crosssim.h); ``None`` leaves the CLI's default."""
    def optional_integer(value: Any, name: str) -> Optional[int]:
        return None if value is None else _integer(value, name)

    def optional_float(value: Any) -> Optional[float]:
        return None if value is None else float(value)

    return {
        "similarity": similarity, "tau": None if tau is None else [float(t) for t in np.atleast_1d(tau)],
        "siglip": [[float(scale), float(bias)] for scale, bias in siglip],
        "k": None if k is None else [_integer(v, "k") for v in k], "top_k": optional_integer(top_k, "top_k"),
        "queries_only": bool(queries_only), "hard_negatives": optional_integer(hard_negatives, "hard_negatives"),
        "margin": optional_float(margin), "relative_margin": optional_float(relative_margin),
        "range_min": optional_integer(range_min, "range_min"), "range_max": optional_integer(range_max, "range_max"),
        **_per_query_option(per_query), "health": bool(health), "hubness_k": optional_integer(hubness_k, "hubness_k"),
        "uniformity": bool(uniformity), "histogram": bool(histogram), "threads": optional_integer(threads, "threads"),
        "tile": _tile(tile), "plot": None if plot is None else os.fspath(plot),
    }


def _per_query_option(per_query: Union[bool, PathLike]) -> dict[str, Any]:
    """True keeps the columns (``--keep-per-query``); a directory also writes them (``--per-query DIR``)."""
    if isinstance(per_query, bool):
        return {"keep_per_query": per_query}
    return {"per_query": os.fspath(per_query)}


def _tile(tile: Tile) -> Optional[str]:
    return f"{tile[0]}x{tile[1]}" if isinstance(tile, tuple) else tile


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
        return Report._from_json(text, summary, _notes(lib, result),
                                 neighbors=_lists(lib, result, lib.crosssim_result_neighbors_shape, lib.crosssim_result_neighbors),
                                 hard_negatives=_lists(lib, result, lib.crosssim_result_hard_negatives_shape,
                                                       lib.crosssim_result_hard_negatives),
                                 per_query=_per_query(lib, result))
    finally:
        lib.crosssim_result_free(result)


def _notes(lib: ctypes.CDLL, result: c_void_p) -> Tuple[str, ...]:
    return tuple(json.loads(_native.text(lib.crosssim_result_notes(result)) or "[]"))


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False


def _lists(lib: ctypes.CDLL, result: c_void_p, shape: Any, copy: Any) -> Optional[Neighbors]:
    """Both directions' lists of one kind (top-k or hard negatives), copied into new arrays;
    ``None`` when the run kept none, and x2→x1 ``None`` under queries-only."""
    lists: list[Optional[NeighborLists]] = []
    for direction in (0, 1):
        queries, k = c_int64(), c_int64()
        if shape(result, direction, byref(queries), byref(k)) != 0:
            lists.append(None)
            continue
        indices = np.empty((queries.value, k.value), dtype=np.int64)
        scores = np.empty((queries.value, k.value), dtype=np.float32)
        if copy(result, direction, queries.value, k.value, indices.ctypes.data,
                scores.ctypes.data_as(ctypes.POINTER(c_float))) != 0:
            raise CrossSimError(1, "internal error: the lists changed shape")
        _read_only(indices, scores)
        lists.append(NeighborLists(indices, scores))
    first, second = lists
    return None if first is None else Neighbors(first, second)


def _per_query(lib: ctypes.CDLL, result: c_void_p) -> Optional[PerQuery]:
    columns: list[PerQueryColumns] = []
    for direction in (0, 1):
        queries, temperatures = c_int64(), c_int64()
        if lib.crosssim_result_per_query_shape(result, direction, byref(queries), byref(temperatures)) != 0:
            return None
        n = queries.value
        rank, best_negative_index = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        best_positive, best_negative = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
        infonce = np.empty((n, temperatures.value), dtype=np.float64)
        if lib.crosssim_result_per_query(result, direction, n, temperatures.value, rank.ctypes.data, best_positive.ctypes.data,
                                         best_negative.ctypes.data, best_negative_index.ctypes.data, infonce.ctypes.data) != 0:
            raise CrossSimError(1, "internal error: the per-query columns changed shape")
        _read_only(rank, best_positive, best_negative, best_negative_index, infonce)
        columns.append(PerQueryColumns(rank, best_positive, best_negative, best_negative_index, infonce))
    return PerQuery(columns[0], columns[1])


def _columns(report: Report, name: str) -> Tuple[Any, Any, Tuple[np.ndarray, ...]]:
    """A report's per-query ranks and InfoNCE terms, both directions, as arrays of two pointers,
    and the arrays they point into (the report's own, when int64 and float64 C-contiguous)."""
    if report.per_query is None:
        raise InputError(f"{name}: no per-query results in this report: evaluate with per_query=True")
    directions = ((report.per_query.x1_to_x2, report.inputs.x1.rows), (report.per_query.x2_to_x1, report.inputs.x2.rows))
    for columns, queries in directions:
        if columns.rank.shape != (queries,) or columns.infonce.shape != (queries, len(report.infonce)):
            raise InputError(f"{name}: per-query columns of shapes {columns.rank.shape} and {columns.infonce.shape} do not fit "
                             f"the report's {queries} queries and {len(report.infonce)} temperatures")
    ranks = [np.require(columns.rank, dtype=np.int64, requirements=["C", "A"]) for columns, _ in directions]
    terms = [np.require(columns.infonce, dtype=np.float64, requirements=["C", "A"]) for columns, _ in directions]
    return ((c_void_p * 2)(*(a.ctypes.data for a in ranks)), (c_void_p * 2)(*(a.ctypes.data for a in terms)),
            tuple(ranks + terms))


def _dedup(lib: ctypes.CDLL, run: Any, threshold: float, similarity: str, max_pairs: Optional[int], threads: Optional[int],
           tile: Tile, out: Optional[PathLike], *, against: bool) -> Dedup:
    """Runs a dedup into ``out`` (or a temporary directory, removed after) and reads its files."""
    def load(directory: str) -> Dedup:
        result = run({
            "threshold": float(threshold), "out": directory, "similarity": similarity,
            "max_pairs": None if max_pairs is None else _integer(max_pairs, "max_pairs"),
            "threads": None if threads is None else _integer(threads, "threads"), "tile": _tile(tile)})
        try:
            summary = _native.text(lib.crosssim_result_summary(result)) or ""
        finally:
            lib.crosssim_result_free(result)
        files = {name: np.load(os.path.join(directory, f"{name}.npy"))
                 for name in ("pairs", "similarity", "matched" if against else "cluster", "keep")}
        return Dedup(pairs=files["pairs"], similarity=files["similarity"], cluster=files.get("cluster"),
                     matched=files.get("matched"), keep=files["keep"], summary=summary,
                     out=None if out is None else os.fspath(out))

    if out is not None:
        return load(os.fspath(out))
    with tempfile.TemporaryDirectory(prefix="crosssim-dedup-") as directory:
        return load(directory)
