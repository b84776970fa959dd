"""The JSON of ``crosssim eval --json`` and ``crosssim compare --json`` as trees of frozen
dataclasses, and the arrays of ``--per-query``, ``--neighbors``, ``dedup`` and ``grad``.

Every class mirrors one object of the JSON (docs/report.md, docs/command-line.md) field for
field; fields of options not asked for are ``None``. ``Report.json`` and ``Comparison.json``
keep the exact text.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, replace
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
    #: ``None`` when row i of x1 pairs with row i of x2, and under queries-only (no pairs).
    pairs: Optional[PairsInfo]
    similarity: str
    #: ``None`` under queries-only.
    x1_without_positive: Optional[int]


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
class SetHealth:
    #: RankMe: between 1 (every row on one line: collapse) and min(N, D).
    effective_rank: float


@dataclass(frozen=True)
class HubnessDirection:
    """The k-occurrence of one direction's candidates (docs/definitions.md, "Health")."""

    skewness: float
    #: The share of candidates that no query has among its k best.
    never_retrieved: float
    max_occurrence: int


@dataclass(frozen=True)
class Hubness:
    k: int
    x1_to_x2: HubnessDirection
    x2_to_x1: HubnessDirection


@dataclass(frozen=True)
class Health:
    """With ``health=True``: signs of collapse and hubness that need no labels."""

    x1: SetHealth
    x2: SetHealth
    #: ‖mean(x1) − mean(x2)‖.
    modality_gap: float
    hubness: Hubness


@dataclass(frozen=True)
class QueriesOnly:
    """A ``queries_only`` run: ``queries`` (N1) top-k lists of length ``k``, nothing else."""

    queries: int
    k: int


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
    """K candidates of each query, best first (read-only arrays [queries, K]); hard negatives
    pad a query with fewer than K with index −1 and score NaN."""

    indices: np.ndarray  # int64
    scores: np.ndarray  # float32: the exact similarities, rounded


@dataclass(frozen=True)
class Neighbors:
    """Lists both ways, as ``crosssim eval --neighbors`` writes them: with ``top_k`` the K best
    candidates, with ``hard_negatives`` the hard negatives."""

    x1_to_x2: NeighborLists
    #: ``None`` under queries-only: x2's rows ask nothing.
    x2_to_x1: Optional[NeighborLists]


@dataclass(frozen=True)
class PerQueryColumns:
    """One direction's per-query results, one row per query in query order (read-only arrays;
    docs/report.md, "Per-query results")."""

    #: int64 [queries]: the rank of the query's best positive; 0 for an x1 row without one.
    rank: np.ndarray
    #: float32 [queries]: the best positive's similarity (NaN without one).
    best_positive: np.ndarray
    #: float32 [queries]: the best candidate that is not a positive (NaN when there is none).
    best_negative: np.ndarray
    #: int64 [queries]: that candidate's row (−1 when there is none).
    best_negative_index: np.ndarray
    #: float64 [queries, T]: the query's InfoNCE term at each τ of ``infonce``.
    infonce: np.ndarray


@dataclass(frozen=True)
class PerQuery:
    """With ``per_query``: both directions' columns, the arrays ``--per-query DIR`` writes."""

    x1_to_x2: PerQueryColumns
    x2_to_x1: PerQueryColumns
    #: The directory the .npy files were written to (the report's ``per_query.path``), if any.
    path: Optional[str] = None


@dataclass(frozen=True)
class Report:
    """Everything ``crosssim eval --json`` reports, as values; ``json`` is the same text. A
    ``queries_only`` report has no losses (empty), ``retrieval`` or ``diagnostics`` (``None``)."""

    schema: str
    inputs: Inputs
    infonce: Tuple[Loss, ...]
    dcl: Tuple[Loss, ...]
    #: With ``siglip``; else empty.
    siglip: Tuple[SigLIP, ...]
    retrieval: Optional[Retrieval]
    diagnostics: Optional[Diagnostics]
    histogram: Optional[Histogram]
    engine: Union[Engine, MergedEngine]
    #: The report's text, byte for byte what ``crosssim eval --json`` writes.
    json: str
    #: The summary ``crosssim eval`` prints.
    summary: str
    #: Why something asked for is not in the report (the CLI prints these on stderr).
    notes: Tuple[str, ...] = ()
    #: With ``top_k``: the lists ``--neighbors`` writes.
    neighbors: Optional[Neighbors] = None
    #: With ``hard_negatives``: the lists ``--hard-negatives K --neighbors DIR`` writes.
    hard_negatives: Optional[Neighbors] = None
    #: With ``per_query``: the columns ``--per-query DIR`` writes.
    per_query: Optional[PerQuery] = None
    #: With ``health=True``.
    health: Optional[Health] = None
    #: With ``queries_only=True``.
    queries_only: Optional[QueriesOnly] = None
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
    def _from_json(cls, text: str, summary: str, notes: Tuple[str, ...], neighbors: Optional[Neighbors] = None,
                   hard_negatives: Optional[Neighbors] = None, per_query: Optional[PerQuery] = None) -> "Report":
        d = _json.loads(text)
        inputs = d["inputs"]
        pairs = inputs.get("pairs")

        def loss(l: dict[str, Any]) -> Loss:
            return Loss(float(l["tau"]), float(l["x1_to_x2"]), float(l["x2_to_x1"]), float(l["symmetric"]))

        def direction(r: dict[str, Any]) -> RetrievalDirection:
            return RetrievalDirection(
                queries=int(r["queries"]), recall=_by_k(r["recall"]) or MappingProxyType({}),
                mean_rank=float(r["mean_rank"]), median_rank=float(r["median_rank"]), mrr=float(r["mrr"]),
                precision=_by_k(r.get("precision")), ndcg=_by_k(r.get("ndcg")), map=_by_k(r.get("map")))

        def hubness(h: dict[str, Any]) -> HubnessDirection:
            return HubnessDirection(float(h["skewness"]), float(h["never_retrieved"]), int(h["max_occurrence"]))

        diag = d.get("diagnostics")
        engine = d["engine"]
        histogram = d.get("histogram")
        health = d.get("health")
        queries_only = d.get("queries_only")
        if per_query is not None and "per_query" in d:
            per_query = replace(per_query, path=d["per_query"]["path"])
        return cls(
            schema=d["schema"],
            inputs=Inputs(
                x1=SetInfo(**inputs["x1"]), x2=SetInfo(**inputs["x2"]),
                pairs=None if pairs in (None, "identity") else PairsInfo(**pairs),
                similarity=inputs["similarity"],
                x1_without_positive=int(inputs["x1_without_positive"]) if "x1_without_positive" in inputs else None),
            infonce=tuple(loss(l) for l in d.get("infonce", ())),
            dcl=tuple(loss(l) for l in d.get("dcl", ())),
            siglip=tuple(SigLIP(float(s["scale"]), float(s["bias"]), float(s["loss"])) for s in d.get("siglip", ())),
            retrieval=Retrieval(direction(d["retrieval"]["x1_to_x2"]), direction(d["retrieval"]["x2_to_x1"]))
            if "retrieval" in d else None,
            diagnostics=Diagnostics(
                positive_mean=float(diag["positive_mean"]), positive_std=float(diag["positive_std"]),
                negative_mean=_float_or_none(diag.get("negative_mean")), negative_std=_float_or_none(diag.get("negative_std")),
                alignment=float(diag["alignment"]),
                chance=Chance(float(diag["chance"]["x1_to_x2"]), float(diag["chance"]["x2_to_x1"])),
                uniformity=Uniformity(float(diag["uniformity"]["x1"]), float(diag["uniformity"]["x2"]))
                if "uniformity" in diag else None) if diag is not None else None,
            histogram=Histogram(float(histogram["lower"]), float(histogram["upper"]),
                                tuple(histogram["positive"]), tuple(histogram["negative"])) if histogram else None,
            engine=MergedEngine(**engine) if "parts" in engine else Engine(
                backend=engine["backend"], threads=int(engine["threads"]), tile=tuple(engine["tile"]),
                seconds=float(engine["seconds"]), gflops=float(engine["gflops"]), peak_rss_bytes=int(engine["peak_rss_bytes"])),
            json=text, summary=summary, notes=notes, neighbors=neighbors, hard_negatives=hard_negatives,
            per_query=per_query,
            health=Health(
                x1=SetHealth(float(health["x1"]["effective_rank"])), x2=SetHealth(float(health["x2"]["effective_rank"])),
                modality_gap=float(health["modality_gap"]),
                hubness=Hubness(int(health["hubness"]["k"]), hubness(health["hubness"]["x1_to_x2"]),
                                hubness(health["hubness"]["x2_to_x1"]))) if health else None,
            queries_only=QueriesOnly(int(queries_only["queries"]), int(queries_only["k"])) if queries_only else None,
            crosssim=MappingProxyType(d["crosssim"]) if "crosssim" in d else None, created=d.get("created"),
            machine=MappingProxyType(d["machine"]) if "machine" in d else None)


def _float_or_none(value: Any) -> Optional[float]:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ComparisonMetric:
    """One metric of two reports: both figures, new − base, its paired bootstrap interval and
    the verdict ("improved", "regressed" or "unchanged")."""

    name: str
    base: float
    new: float
    difference: float
    ci: Tuple[float, float]
    verdict: str


@dataclass(frozen=True)
class RankChanges:
    """One direction's queries by how their rank moved."""

    better: int
    worse: int
    same: int


@dataclass(frozen=True)
class RankChange:
    index: int
    base_rank: int
    new_rank: int


@dataclass(frozen=True)
class DirectionChanges:
    x1_to_x2: RankChanges
    x2_to_x1: RankChanges


@dataclass(frozen=True)
class LargestChanges:
    """Per direction, the queries whose rank moved most (largest |new − base| first)."""

    x1_to_x2: Tuple[RankChange, ...]
    x2_to_x1: Tuple[RankChange, ...]


@dataclass(frozen=True)
class Comparison:
    """Everything ``crosssim compare --json`` writes (schema crosssim.compare/1), as values;
    ``json`` is the same text."""

    schema: str
    base: str
    new: str
    bootstrap: int
    confidence: float
    seed: int
    metrics: Tuple[ComparisonMetric, ...]
    queries: DirectionChanges
    largest_changes: LargestChanges
    json: str
    #: The table ``crosssim compare`` prints.
    summary: str
    #: Figures one report has and the other lacks, left out (the CLI prints these on stderr).
    notes: Tuple[str, ...] = ()

    @property
    def regressed(self) -> Tuple[str, ...]:
        """The names of the metrics that regressed (``--fail-on-regression`` exits 3 when any did)."""
        return tuple(m.name for m in self.metrics if m.verdict == "regressed")

    def to_dict(self) -> dict[str, Any]:
        """The JSON as plain dicts and lists (a new copy each call)."""
        value: dict[str, Any] = _json.loads(self.json)
        return value

    def __str__(self) -> str:
        return self.summary

    @classmethod
    def _from_json(cls, text: str, summary: str, notes: Tuple[str, ...]) -> "Comparison":
        d = _json.loads(text)

        def changes(c: dict[str, Any]) -> RankChanges:
            return RankChanges(int(c["better"]), int(c["worse"]), int(c["same"]))

        def largest(entries: list[dict[str, Any]]) -> Tuple[RankChange, ...]:
            return tuple(RankChange(int(e["index"]), int(e["base_rank"]), int(e["new_rank"])) for e in entries)

        return cls(
            schema=d["schema"], base=d["base"], new=d["new"], bootstrap=int(d["bootstrap"]),
            confidence=float(d["confidence"]), seed=int(d["seed"]),
            metrics=tuple(ComparisonMetric(m["name"], float(m["base"]), float(m["new"]), float(m["difference"]),
                                           (float(m["ci"][0]), float(m["ci"][1])), m["verdict"]) for m in d["metrics"]),
            queries=DirectionChanges(changes(d["queries"]["x1_to_x2"]), changes(d["queries"]["x2_to_x1"])),
            largest_changes=LargestChanges(largest(d["largest_changes"]["x1_to_x2"]), largest(d["largest_changes"]["x2_to_x1"])),
            json=text, summary=summary, notes=notes)


@dataclass(frozen=True)
class Dedup:
    """What ``crosssim dedup`` writes (docs/dedup.md), as arrays."""

    #: int64 [P, 2]: (i, j) with s_ij ≥ T, ordered by i then j (i < j within a set).
    pairs: np.ndarray
    #: float32 [P]: each pair's exact similarity, rounded.
    similarity: np.ndarray
    #: Within a set, int64 [N]: each row's connected component, named by its smallest row.
    cluster: Optional[np.ndarray]
    #: Against another set, int64 [N]: the row of it each row matches best, or −1.
    matched: Optional[np.ndarray]
    #: bool [N]: the rows to keep.
    keep: np.ndarray
    #: The line ``crosssim dedup`` prints.
    summary: str
    #: Where the .npy files are, when ``out`` was given.
    out: Optional[str] = None

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Gradient:
    """What ``crosssim grad`` computes (docs/gradient.md): the loss, its gradients with respect
    to the rows of x1 and x2 as given (float32 arrays of their shapes, the caller's), and the
    evaluation's report (``grad``'s report.json)."""

    #: The symmetric InfoNCE at τ, or the SigLIP loss, as the report gives it.
    loss: float
    #: float32 [N1, D]: dL/dx1.
    dx1: np.ndarray
    #: float32 [N2, D]: dL/dx2.
    dx2: np.ndarray
    report: Report
