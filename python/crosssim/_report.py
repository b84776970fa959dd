"""The report of ``crosssim eval --json`` as a tree of frozen dataclasses.

Every class mirrors one object of the JSON report (docs/report.md) field for field; fields of
options not asked for are ``None``. ``Report.json`` keeps the exact text.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple, Union

import numpy as np


def _by_k(values: Optional[Mapping[str, float]]) -> Optional[Mapping[int, float]]:
    """recall/precision/ndcg/map: JSON keys are k as strings; here they are ints."""
    if values is None:
        return None
    return MappingProxyType({int(k): float(v) for k, v in values.items()})


@dataclass(frozen=True)
class SetInfo:
    """One input set: where it came from ("x1"/"x2" for arrays in memory), its shape and dtype."""

    path: str
    rows: int
    dim: int
    shards: int
    dtype: str
    #: ``xxh64:HEX`` of the set's content, where it was read from files (docs/report.md).
    fingerprint: Optional[str] = None


@dataclass(frozen=True)
class PairsInfo:
    """Pairs other than the identity: the file (or "memory") and the number of positives."""

    path: str
    positives: int
    #: ``xxh64:HEX`` of the pairs, where they were read from a file.
    fingerprint: Optional[str] = None


@dataclass(frozen=True)
class Inputs:
    x1: SetInfo
    x2: SetInfo
    #: ``None`` when row i of x1 pairs with row i of x2.
    pairs: Optional[PairsInfo]
    similarity: str
    x1_without_positive: int


@dataclass(frozen=True)
class Loss:
    """InfoNCE (or DCL) at one temperature, both ways and their mean."""

    tau: float
    x1_to_x2: float
    x2_to_x1: float
    symmetric: float


@dataclass(frozen=True)
class SigLIP:
    scale: float
    bias: float
    loss: float


@dataclass(frozen=True)
class RetrievalDirection:
    """Ranks of the positives for the queries of one direction; metrics keyed by k."""

    queries: int
    recall: Mapping[int, float]
    mean_rank: float
    median_rank: float
    mrr: float
    #: With ``top_k``: for each k ≤ K.
    precision: Optional[Mapping[int, float]] = None
    ndcg: Optional[Mapping[int, float]] = None
    map: Optional[Mapping[int, float]] = None


@dataclass(frozen=True)
class Retrieval:
    x1_to_x2: RetrievalDirection
    x2_to_x1: RetrievalDirection


@dataclass(frozen=True)
class Chance:
    """log N of each direction's candidates: the loss of a model that knows nothing."""

    x1_to_x2: float
    x2_to_x1: float


@dataclass(frozen=True)
class Uniformity:
    x1: float
    x2: float


@dataclass(frozen=True)
class Diagnostics:
    positive_mean: float
    positive_std: float
    #: ``None`` when every pair is a positive (one row each side).
    negative_mean: Optional[float]
    negative_std: Optional[float]
    alignment: float
    chance: Chance
    #: With ``uniformity=True``.
    uniformity: Optional[Uniformity] = None


@dataclass(frozen=True)
class Histogram:
    """Exact counts of positive and negative similarities in equal bins over [lower, upper]."""

    lower: float
    upper: float
    positive: Tuple[int, ...]
    negative: Tuple[int, ...]


@dataclass(frozen=True)
class Engine:
    """The process that ran the evaluation."""

    backend: str
    threads: int
    tile: Tuple[int, int]
    seconds: float
    gflops: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class MergedEngine:
    """A merged run's parts: their summed CPU time, the slowest part, the largest peak."""

    backend: str
    parts: int
    cpu_seconds: float
    slowest_part_seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class NeighborLists:
    """The K best candidates of each query, best first (read-only arrays [queries, K])."""

    indices: np.ndarray  # int64
    scores: np.ndarray  # float32: the exact similarities, rounded


@dataclass(frozen=True)
class Neighbors:
    """With ``top_k``: the lists both ways, as ``crosssim eval --neighbors`` writes them."""

    x1_to_x2: NeighborLists
    x2_to_x1: NeighborLists


@dataclass(frozen=True)
class Report:
    """Everything ``crosssim eval --json`` reports, as values; ``json`` is the same text."""

    schema: str
    inputs: Inputs
    infonce: Tuple[Loss, ...]
    dcl: Tuple[Loss, ...]
    #: With ``siglip``; else empty.
    siglip: Tuple[SigLIP, ...]
    retrieval: Retrieval
    diagnostics: Diagnostics
    histogram: Optional[Histogram]
    engine: Union[Engine, MergedEngine]
    #: The report's text, byte for byte what ``crosssim eval --json`` writes.
    json: str
    #: The summary ``crosssim eval`` prints.
    summary: str
    #: Why something asked for is not in the report (the CLI prints these on stderr).
    notes: Tuple[str, ...] = ()
    #: With ``top_k``, from ``evaluate`` and ``evaluate_files`` (not ``merge``).
    neighbors: Optional[Neighbors] = None
    #: Provenance (docs/report.md): the CrossSim that made the report, when (ISO 8601, UTC),
    #: and on what machine.
    crosssim: Optional[Mapping[str, str]] = None
    created: Optional[str] = None
    machine: Optional[Mapping[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as plain dicts and lists, keys in the report's order (a new copy each call)."""
        value: dict[str, Any] = _json.loads(self.json)
        return value

    def __str__(self) -> str:
        return self.summary

    @classmethod
    def _from_json(cls, text: str, summary: str, notes: Tuple[str, ...], neighbors: Optional[Neighbors]) -> "Report":
        d = _json.loads(text)
        inputs = d["inputs"]
        pairs = inputs["pairs"]

        def loss(l: dict[str, Any]) -> Loss:
            return Loss(float(l["tau"]), float(l["x1_to_x2"]), float(l["x2_to_x1"]), float(l["symmetric"]))

        def direction(r: dict[str, Any]) -> RetrievalDirection:
            return RetrievalDirection(
                queries=int(r["queries"]), recall=_by_k(r["recall"]) or MappingProxyType({}),
                mean_rank=float(r["mean_rank"]), median_rank=float(r["median_rank"]), mrr=float(r["mrr"]),
                precision=_by_k(r.get("precision")), ndcg=_by_k(r.get("ndcg")), map=_by_k(r.get("map")))

        diag = d["diagnostics"]
        engine = d["engine"]
        histogram = d.get("histogram")
        return cls(
            schema=d["schema"],
            inputs=Inputs(
                x1=SetInfo(**inputs["x1"]), x2=SetInfo(**inputs["x2"]),
                pairs=None if pairs == "identity" else PairsInfo(**pairs),
                similarity=inputs["similarity"], x1_without_positive=int(inputs["x1_without_positive"])),
            infonce=tuple(loss(l) for l in d["infonce"]),
            dcl=tuple(loss(l) for l in d["dcl"]),
            siglip=tuple(SigLIP(float(s["scale"]), float(s["bias"]), float(s["loss"])) for s in d.get("siglip", ())),
            retrieval=Retrieval(direction(d["retrieval"]["x1_to_x2"]), direction(d["retrieval"]["x2_to_x1"])),
            diagnostics=Diagnostics(
                positive_mean=float(diag["positive_mean"]), positive_std=float(diag["positive_std"]),
                negative_mean=_float_or_none(diag.get("negative_mean")), negative_std=_float_or_none(diag.get("negative_std")),
                alignment=float(diag["alignment"]),
                chance=Chance(float(diag["chance"]["x1_to_x2"]), float(diag["chance"]["x2_to_x1"])),
                uniformity=Uniformity(float(diag["uniformity"]["x1"]), float(diag["uniformity"]["x2"]))
                if "uniformity" in diag else None),
            histogram=Histogram(float(histogram["lower"]), float(histogram["upper"]),
                                tuple(histogram["positive"]), tuple(histogram["negative"])) if histogram else None,
            engine=MergedEngine(**engine) if "parts" in engine else Engine(
                backend=engine["backend"], threads=int(engine["threads"]), tile=tuple(engine["tile"]),
                seconds=float(engine["seconds"]), gflops=float(engine["gflops"]), peak_rss_bytes=int(engine["peak_rss_bytes"])),
            json=text, summary=summary, notes=notes, neighbors=neighbors,
            crosssim=MappingProxyType(d["crosssim"]) if "crosssim" in d else None, created=d.get("created"),
            machine=MappingProxyType(d["machine"]) if "machine" in d else None)


def _float_or_none(value: Any) -> Optional[float]:
    return None if value is None else float(value)
