#!/usr/bin/env python3
"""Accuracy of every report figure on every kernel path this machine reaches (docs/accuracy.md).

For each kernel path printed by scripts/kernel-paths.sh ("LEVEL CORETYPE", run with
CROSSSIM_VECTOR_LEVEL=LEVEL OPENBLAS_CORETYPE=CORETYPE) and for the default run (neither
variable set), `crosssim eval` is run on a set of cases and every figure of its JSON report,
and its top-k lists, are compared with a float64 reference computed the naive way, with the
full N1 x N2 similarity matrix, from the same Float32 inputs:

- cosine: each row is L2-normalised in binary64 and rounded once to Float32 (as CrossSim
  does on read); S = x1 . x2^T is then computed in float64 from those Float32 rows;
- InfoNCE per docs/definitions.md (x1->x2: SupCon L_out over x1 rows with a positive;
  x2->x1 over all x2 rows; symmetric the mean), SigLIP likewise;
- ranks with its tie rule (best positive, ties to the lower index), recall@k, mean and
  median rank (numpy median), MRR;
- top-k lists by the same tie rule (stable sort on -S), precision@k, nDCG@k, MAP@k with
  binary relevance (sentence-transformers: precision = hits in top k / k; nDCG ideal over
  min(relevant, k); MAP = sum of precision at each hit / min(k, relevant));
- diagnostics: positive/negative mean and population std, alignment, chance = log N,
  uniformity (Wang & Isola, t = 2, over distinct pairs within a set, on the rows as used).

Before any comparison the reference is checked against closed forms (a collapse case:
InfoNCE = log N, ranks by index, SigLIP(10:-10) = N log 2, uniformity 0) and, on a tiny case
with ties, against a per-query loop written straight from docs/definitions.md.

Output: one Markdown table per kernel path (figure family -> largest error over cases, the
docs/accuracy.md tolerance, a verdict) and the engine's "backend" string. Exit code 1 if any figure
is out of tolerance (or a run fails), 0 otherwise.

Usage: python3 scripts/accuracy.py [--binary PATH] [--quick] [--keep DIR]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAUS = [0.05, 0.01]
SIGLIP = [(10.0, -10.0)]
TOPK = 10
KS = [1, 5, 10]
TIE_WINDOW = 1e-6          # docs/accuracy.md: ranks exact except where similarities differ by < 1e-6
ZERO = 1e-12               # a reference below this in magnitude is treated as 0: absolute error


# ----------------------------------------------------------------------------- cases

def _offset_gaussian(rng, n, d, offset):
    mu = rng.standard_normal(d) * offset
    return rng.standard_normal((n, d)) + mu


def make_cases(quick):
    """Each case: name, x1, x2 (float32), pairs (int64 array or None), similarity."""
    rng = np.random.default_rng(20240601)
    cases = []
    s = 0.5 if quick else 1.0

    def noisy(base, sig_lo=0.3, sig_hi=3.0, unit=1.0):
        """base plus Gaussian noise of per-row scale sigma * unit (unit: base's per-entry scale)."""
        sig = rng.uniform(sig_lo, sig_hi, size=(base.shape[0], 1))
        return base + sig * unit * rng.standard_normal(base.shape)

    # cosine one-to-one, D = 384 and 768; N not a multiple of the tile sizes
    n = int(4000 * s)
    x1 = _offset_gaussian(rng, n, 384, 0.5)
    cases.append(("cos-1to1-d384", x1, noisy(x1), None, "cosine"))
    n = int(2500 * s)
    x1 = _offset_gaussian(rng, n, 768, 0.5)
    cases.append(("cos-1to1-d768", x1, noisy(x1), None, "cosine"))

    # cosine, anisotropic (a large shared direction, as many text encoders give): negatives
    # with mean ~0.8 and std ~0.03, where a one-pass variance loses digits
    n = int(3000 * s)
    x1 = _offset_gaussian(rng, n, 384, 2.0)
    cases.append(("cos-aniso-d384", x1, noisy(x1, 0.2, 1.5), None, "cosine"))

    # cosine multi-positive: 1..5 x2 rows per x1 row, 20 % of x1 rows without positive
    n1 = int(1500 * s)
    x1 = _offset_gaussian(rng, n1, 384, 0.5)
    has = rng.permutation(n1)[: int(n1 * 0.8)]
    counts = rng.integers(1, 6, size=has.size)
    pairs = np.repeat(has, counts)
    pairs = pairs[rng.permutation(pairs.size)].astype(np.int64)
    cases.append(("cos-multi-d384", x1, noisy(x1[pairs]), pairs, "cosine"))

    # dot similarity, un-normalised rows (norms vary ~ x0.5 .. x2 around 1)
    n = int(3000 * s)
    base = _offset_gaussian(rng, n, 768, 0.3) / math.sqrt(768)
    x1 = base * np.exp(rng.normal(0, 0.35, size=(n, 1)))
    x2 = noisy(base, 0.3, 3.0, 1 / math.sqrt(768)) * np.exp(rng.normal(0, 0.35, size=(n, 1)))
    cases.append(("dot-1to1-d768", x1, x2, None, "dot"))

    # dot multi-positive, N1 != N2
    n1 = int(1200 * s)
    base = _offset_gaussian(rng, n1, 384, 0.3) / math.sqrt(384)
    has = rng.permutation(n1)[: int(n1 * 0.9)]
    pairs = np.repeat(has, rng.integers(1, 4, size=has.size))
    pairs = pairs[rng.permutation(pairs.size)].astype(np.int64)
    x1 = base * np.exp(rng.normal(0, 0.35, size=(n1, 1)))
    x2 = noisy(base[pairs], 0.3, 3.0, 1 / math.sqrt(384)) * np.exp(rng.normal(0, 0.35, size=(pairs.size, 1)))
    cases.append(("dot-multi-d384", x1, x2, pairs, "dot"))

    # collapse: every row of both sets is the same vector
    n = int(2500 * s)
    row = rng.standard_normal(384)
    cases.append(("collapse-d384", np.tile(row, (n, 1)), np.tile(row, (n, 1)), None, "cosine"))

    # exact duplicates: runs of equal rows in x2 (and some in x1) -> exact ties
    n = int(3001 * s)
    x1 = rng.standard_normal((n, 384))
    x2 = noisy(x1, 0.5, 2.0)
    for j in rng.choice(np.arange(0, n - 3, 3), size=n // 6, replace=False):
        x2[j + 1] = x2[j]
        if rng.random() < 0.5:
            x2[j + 2] = x2[j]
    for i in rng.choice(np.arange(0, n - 2, 2), size=n // 8, replace=False):
        x1[i + 1] = x1[i]
    cases.append(("dup-ties-d384", x1, x2, None, "cosine"))

    return [(name, a.astype(np.float32), b.astype(np.float32), p, sim) for name, a, b, p, sim in cases]


# ----------------------------------------------------------------------------- reference

def as_used(x, similarity):
    """The Float32 rows CrossSim computes with: cosine rows normalised in binary64, rounded once."""
    if similarity == "dot":
        return x.astype(np.float32)
    x64 = x.astype(np.float64)
    return (x64 / np.sqrt((x64 * x64).sum(axis=1, keepdims=True))).astype(np.float32)


def lse_rows(z):
    m = z.max(axis=1)
    finite = np.where(np.isfinite(m), m, 0.0)
    return finite + np.log(np.exp(z - finite[:, None]).sum(axis=1))


def rank_table(A, M, queries, window, chunk=512):
    """Ranks per docs/definitions.md for the query rows `queries` of A (float64) with positives M (bool),
    plus the near-tie envelope [lo, hi]: every negative within `window` of s* but not exactly
    equal to it counted as losing (lo) or as winning (hi). Exact ties (duplicate rows) are
    always decided by the tie rule: the engine can decide them exactly."""
    C = A.shape[1]
    cols = np.arange(C)
    rank, lo, hi = [], [], []
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        a, m = A[q], M[q]
        w = window[q][:, None]
        sstar = np.where(m, a, -np.inf).max(axis=1)[:, None]
        pstar = (m & (a == sstar)).argmax(axis=1)[:, None]
        neg = ~m
        rank.append(1 + (neg & (a > sstar)).sum(1) + (neg & (a == sstar) & (cols[None, :] < pstar)).sum(1))
        tie_before = (neg & (a == sstar) & (cols[None, :] < pstar)).sum(1)
        tie_after = (neg & (a == sstar) & (cols[None, :] > pstar)).sum(1)
        lo.append(1 + (neg & (a > sstar + w)).sum(1) + tie_before)
        hi.append(1 + (neg & (a >= sstar - w)).sum(1) - tie_after)
    return np.concatenate(rank), np.concatenate(lo), np.concatenate(hi)


def topk_lists(A, K, chunk=512):
    """K best columns per row, ties to the lower index (stable sort on -A)."""
    out = np.empty((A.shape[0], K), dtype=np.int64)
    for s in range(0, A.shape[0], chunk):
        out[s:s + chunk] = np.argsort(-A[s:s + chunk], axis=1, kind="stable")[:, :K]
    return out


def list_metrics(lists, M, queries, nrel, ks):
    """sentence-transformers' precision@k, nDCG@k, MAP@k (binary relevance), mean over queries."""
    rel = np.take_along_axis(M[queries], lists[queries], axis=1).astype(np.float64)
    nrel = nrel[queries].astype(np.float64)
    disc = 1.0 / np.log2(np.arange(lists.shape[1]) + 2.0)
    cum = np.cumsum(rel, axis=1)
    out = {"precision": {}, "ndcg": {}, "map": {}}
    for k in ks:
        r = rel[:, :k]
        out["precision"][str(k)] = float((r.sum(1) / k).mean())
        dcg = (r * disc[:k]).sum(1)
        ideal = np.cumsum(disc[:k])[np.minimum(nrel, k).astype(int) - 1]
        out["ndcg"][str(k)] = float((dcg / ideal).mean())
        prec_at_hit = (r * cum[:, :k] / np.arange(1, k + 1)).sum(1)
        out["map"][str(k)] = float((prec_at_hit / np.minimum(k, nrel)).mean())
    return out


def rank_figures(r, ks):
    return {"recall": {str(k): float((r <= k).mean()) for k in ks},
            "mean_rank": float(r.mean()), "median_rank": float(np.median(r)),
            "mrr": float((1.0 / r).mean())}


def uniformity(x):
    x = x.astype(np.float64)
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    z = -2.0 * d2
    np.fill_diagonal(z, -np.inf)
    n = x.shape[0]
    return float(lse_rows(z.ravel()[None, :])[0] - math.log(n * (n - 1)))


def reference(x1, x2, pairs, similarity, ks=KS, K=TOPK, taus=TAUS, siglip=SIGLIP, unif=True):
    u1, u2 = as_used(x1, similarity), as_used(x2, similarity)
    a, b = u1.astype(np.float64), u2.astype(np.float64)
    n1, n2 = a.shape[0], b.shape[0]
    p = np.arange(n2) if pairs is None else np.asarray(pairs, dtype=np.int64)
    # Identical rows have identical exact similarities; dgemm does not promise it (its edge
    # kernels sum in another order), so S is computed over the distinct rows and expanded:
    # exact ties in the inputs stay exact ties in the reference.
    ua, inv1 = np.unique(a, axis=0, return_inverse=True)
    ub, inv2 = np.unique(b, axis=0, return_inverse=True)
    S = np.ascontiguousarray((ua @ ub.T)[inv1.ravel()][:, inv2.ravel()])
    del ua, ub
    M = np.zeros((n1, n2), dtype=bool)
    M[p, np.arange(n2)] = True
    count = M.sum(1)
    withpos = np.nonzero(count > 0)[0]
    ref = {"x1_without_positive": int(n1 - withpos.size), "infonce": [], "siglip": []}

    pos = S[p, np.arange(n2)]
    for tau in taus:
        z = S / tau
        row = lse_rows(z[withpos]) - (np.where(M[withpos], z[withpos], 0.0).sum(1) / count[withpos])
        col = lse_rows(z.T) - pos / tau
        l12, l21 = float(row.mean()), float(col.mean())
        ref["infonce"].append({"tau": tau, "x1_to_x2": l12, "x2_to_x1": l21, "symmetric": (l12 + l21) / 2})
        del z
    for t, bias in siglip:
        y = np.where(M, 1.0, -1.0)
        ref["siglip"].append({"scale": t, "bias": bias,
                              "loss": float(np.logaddexp(0.0, -y * (t * S + bias)).sum() / n1)})
        del y

    nrm1, nrm2 = np.sqrt((a * a).sum(1)), np.sqrt((b * b).sum(1))
    if similarity == "cosine":
        w1, w2 = np.full(n1, TIE_WINDOW), np.full(n2, TIE_WINDOW)
    else:  # dot: the window scales with the size of the similarities of the query
        w1 = TIE_WINDOW * np.maximum(1.0, nrm1 * nrm2.max())
        w2 = TIE_WINDOW * np.maximum(1.0, nrm2 * nrm1.max())
    r12, lo12, hi12 = rank_table(S, M, withpos, w1)
    ST, MT = np.ascontiguousarray(S.T), np.ascontiguousarray(M.T)
    r21, lo21, hi21 = rank_table(ST, MT, np.arange(n2), w2)
    L12, L21 = topk_lists(S, K), topk_lists(ST, K)
    ret = {}
    for d, r, lo, hi, L, A, MM, q, nrel, w in (
            ("x1_to_x2", r12, lo12, hi12, L12, S, M, withpos, count, w1),
            ("x2_to_x1", r21, lo21, hi21, L21, ST, MT, np.arange(n2), np.ones(n2, dtype=np.int64), w2)):
        f = {"queries": int(len(q))}
        f.update(rank_figures(r, ks))
        f.update(list_metrics(L, MM, q, nrel, [k for k in ks if k <= K]))
        f["_ranks"], f["_lo"], f["_hi"], f["_lists"] = r, lo, hi, L
        f["_A"], f["_M"], f["_q"], f["_nrel"], f["_w"] = A, MM, q, nrel, w
        ret[d] = f
    ref["retrieval"] = ret

    negcount = n1 * n2 - n2
    pm = float(pos.mean())
    nm = float((S.sum() - pos.sum()) / negcount) if negcount else float("nan")
    diag = {"positive_mean": pm, "positive_std": float(np.sqrt(((pos - pm) ** 2).mean())),
            "negative_mean": nm,
            "negative_std": float(np.sqrt((((S - nm) ** 2).sum() - ((pos - nm) ** 2).sum()) / negcount)),
            "alignment": float((((a[p] - b) ** 2).sum(1)).mean()),
            "chance": {"x1_to_x2": math.log(n2), "x2_to_x1": math.log(n1)}}
    if unif:
        diag["uniformity"] = {"x1": uniformity(u1), "x2": uniformity(u2)}
    ref["diagnostics"] = diag
    ref["_norms"] = (nrm1, nrm2)
    return ref


# ----------------------------------------------------------------------------- self-checks

def spec_loop(x1, x2, pairs, similarity, tau, ks):
    """The docs/definitions.md formulas one query at a time (tiny inputs only)."""
    a = as_used(x1, similarity).astype(np.float64)
    b = as_used(x2, similarity).astype(np.float64)
    n1, n2 = len(a), len(b)
    p = list(range(n2)) if pairs is None else [int(v) for v in pairs]
    P = {i: [j for j in range(n2) if p[j] == i] for i in range(n1)}
    s = [[float(np.dot(a[i], b[j])) for j in range(n2)] for i in range(n1)]

    def lse(v):
        m = max(v)
        return m + math.log(sum(math.exp(x - m) for x in v))

    rows = [lse([s[i][j] / tau for j in range(n2)]) - sum(s[i][q] / tau for q in P[i]) / len(P[i])
            for i in range(n1) if P[i]]
    cols = [lse([s[i][j] / tau for i in range(n1)]) - s[p[j]][j] / tau for j in range(n2)]

    def rank(vals, Pq):
        best = max(vals[c] for c in Pq)
        pstar = min(c for c in Pq if vals[c] == best)
        return 1 + sum(1 for c in range(len(vals)) if c not in Pq and (vals[c] > best or (vals[c] == best and c < pstar)))

    r12 = [rank(s[i], set(P[i])) for i in range(n1) if P[i]]
    r21 = [rank([s[i][j] for i in range(n1)], {p[j]}) for j in range(n2)]

    def topk(vals, K):
        return sorted(range(len(vals)), key=lambda c: (-vals[c], c))[:K]

    def st(lists, rel_sets, k):
        pr, nd, mp = [], [], []
        for L, R in zip(lists, rel_sets):
            hits = [1 if c in R else 0 for c in L[:k]]
            pr.append(sum(hits) / k)
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
            idcg = sum(1 / math.log2(r + 2) for r in range(min(len(R), k)))
            nd.append(dcg / idcg)
            found, acc = 0, 0.0
            for r, h in enumerate(hits):
                if h:
                    found += 1
                    acc += found / (r + 1)
            mp.append(acc / min(k, len(R)))
        return np.mean(pr), np.mean(nd), np.mean(mp)

    K = max(ks)
    l12 = [topk(s[i], K) for i in range(n1) if P[i]]
    l21 = [topk([s[i][j] for i in range(n1)], K) for j in range(n2)]
    m12 = {k: st(l12, [set(P[i]) for i in range(n1) if P[i]], k) for k in ks}
    m21 = {k: st(l21, [{p[j]} for j in range(n2)], k) for k in ks}
    return np.mean(rows), np.mean(cols), np.array(r12), np.array(r21), m12, m21


def self_check():
    """The reference against closed forms and against docs/definitions.md written as a loop."""
    problems = []
    # collapse: InfoNCE = log N, ranks by index, SigLIP(10:-10) ~ N log 2, uniformity 0
    rng = np.random.default_rng(7)
    n = 300
    row = rng.standard_normal(64).astype(np.float32)
    x = np.tile(row, (n, 1))
    ref = reference(x, x, None, "cosine")
    for e in ref["infonce"]:
        for d in ("x1_to_x2", "x2_to_x1", "symmetric"):
            if abs(e[d] - math.log(n)) > 1e-12 * math.log(n):
                problems.append(f"collapse: InfoNCE {d} at tau {e['tau']} = {e[d]!r}, not log N = {math.log(n)!r}")
    for d in ("x1_to_x2", "x2_to_x1"):
        r = ref["retrieval"][d]["_ranks"]
        if not np.array_equal(r, np.arange(1, n + 1)):
            problems.append(f"collapse: {d} ranks are not 1..N by index")
        f = ref["retrieval"][d]
        if abs(f["mrr"] - sum(1 / i for i in range(1, n + 1)) / n) > 1e-12 or f["median_rank"] != (n + 1) / 2:
            problems.append(f"collapse: {d} MRR or median rank off the closed form")
        for k in KS:
            if f["recall"][str(k)] != k / n:
                problems.append(f"collapse: {d} recall@{k} != k/N")
        if not np.array_equal(f["_lists"][5], np.arange(TOPK)):
            problems.append(f"collapse: {d} top-k list is not 0..K-1")
    if abs(ref["siglip"][0]["loss"] - n * math.log(2)) > 1e-5 * n:
        problems.append(f"collapse: SigLIP {ref['siglip'][0]['loss']} != N log 2")
    for d in ("x1", "x2"):
        if abs(ref["diagnostics"]["uniformity"][d]) > 1e-9:
            problems.append(f"collapse: uniformity {d} = {ref['diagnostics']['uniformity'][d]} != 0")
    if abs(ref["diagnostics"]["negative_std"]) > 1e-12 or abs(ref["diagnostics"]["alignment"]) > 1e-12:
        problems.append("collapse: negative_std or alignment not 0")

    # tiny multi-positive case with exact ties, against the loop
    x1 = rng.standard_normal((23, 8)).astype(np.float32)
    pairs = np.array([0, 0, 1, 3, 3, 3, 4, 6, 7, 8, 8, 9, 10, 12, 13, 13, 15, 16, 18, 19, 20, 20, 22, 2, 5], dtype=np.int64)
    x2 = (x1[pairs] + rng.standard_normal((pairs.size, 8))).astype(np.float32)
    x2[4] = x2[3]
    x2[10] = x2[2]
    x1[12] = x1[11]
    x2[7] = x2[6]
    for sim in ("cosine", "dot"):
        ref = reference(x1, x2, pairs, sim, ks=[1, 2, 3], K=3, taus=[0.1], siglip=[], unif=False)
        l12, l21, r12, r21, m12, m21 = spec_loop(x1, x2, pairs, sim, 0.1, [1, 2, 3])
        e = ref["infonce"][0]
        if abs(e["x1_to_x2"] - l12) > 1e-12 * abs(l12) or abs(e["x2_to_x1"] - l21) > 1e-12 * abs(l21):
            problems.append(f"loop ({sim}): InfoNCE differs")
        if not np.array_equal(ref["retrieval"]["x1_to_x2"]["_ranks"], r12) or \
                not np.array_equal(ref["retrieval"]["x2_to_x1"]["_ranks"], r21):
            problems.append(f"loop ({sim}): ranks differ")
        for d, m in (("x1_to_x2", m12), ("x2_to_x1", m21)):
            f = ref["retrieval"][d]
            for k in (1, 2, 3):
                got = (f["precision"][str(k)], f["ndcg"][str(k)], f["map"][str(k)])
                if max(abs(g - w) for g, w in zip(got, m[k])) > 1e-12:
                    problems.append(f"loop ({sim}): {d} precision/ndcg/map@{k} differ: {got} vs {m[k]}")
    return problems


# ----------------------------------------------------------------------------- runs

def wait_for(binary, seconds=600):
    end = time.time() + seconds
    while not os.access(binary, os.X_OK):
        if time.time() > end:
            sys.exit(f"accuracy.py: {binary} is missing")
        time.sleep(5)


def run_engine(binary, env_extra, x1p, x2p, pairsp, similarity, outdir):
    env = {k: v for k, v in os.environ.items() if k not in ("CROSSSIM_VECTOR_LEVEL", "OPENBLAS_CORETYPE")}
    env.update(env_extra)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    js = os.path.join(outdir, "report.json")
    nb = os.path.join(outdir, "nb")
    cmd = [binary, "eval", x1p, x2p, "--similarity", similarity, "--tau", *map(str, TAUS),
           "--siglip", *[f"{t:g}:{b:g}" for t, b in SIGLIP], "--top-k", str(TOPK), "--neighbors", nb,
           "--k", ",".join(map(str, KS)), "--uniformity", "--json", js, "--quiet"]
    if pairsp:
        cmd[4:4] = ["--pairs", pairsp]
    for attempt in range(5):
        wait_for(binary)
        try:
            pr = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        except OSError:  # the binary was being replaced
            time.sleep(5)
            continue
        if pr.returncode == 0:
            break
        if pr.returncode in (126, 127) or not os.access(binary, os.X_OK):
            time.sleep(5)
            continue
        return None, f"exit {pr.returncode}: {pr.stderr.strip()[-500:]}"
    else:
        return None, "binary unavailable"
    with open(js) as f:
        rep = json.load(f)
    lists = {d: (np.load(os.path.join(nb, f"{d}.indices.npy")), np.load(os.path.join(nb, f"{d}.scores.npy")))
             for d in ("x1_to_x2", "x2_to_x1")}
    return (rep, lists), None


# ----------------------------------------------------------------------------- comparison

class Family:
    """The largest error of one figure family over cases, with its tolerance."""

    def __init__(self, name, tol, tol_text, kind="rel"):
        self.name, self.tol, self.tol_text, self.kind = name, tol, tol_text, kind
        self.err, self.where, self.absolute, self.fail = 0.0, "", False, False
        self.mismatch, self.explained, self.exact_tie, self.notes = 0, 0, 0, []
        self.seen = False

    def value(self, got, want, case, tol=None):
        self.seen = True
        tol = self.tol if tol is None else tol
        if got is None:
            self.fail = True
            self.notes.append(f"{case}: missing")
            return
        if abs(want) < ZERO:
            e, absolute = abs(got - want), True
        else:
            e, absolute = abs(got - want) / abs(want), False
        if e > tol:
            self.fail = True
            self.notes.append(f"{case}: {got!r} vs {want!r} ({'abs' if absolute else 'rel'} {e:.2e})")
        if e >= self.err:
            self.err, self.where, self.absolute = e, case, absolute

    def text(self):
        if not self.seen:
            return "not measured"
        if self.kind == "count":
            if self.mismatch == 0:
                return "exact"
            t = f"{self.mismatch} mismatches ({self.explained} within near-tie window"
            if self.exact_tie:
                t += f"; {self.exact_tie} at exact ties, against the tie rule"
            return t + ")"
        if self.err == 0:
            return "0 (exact)"
        return f"{self.err:.2e}{' (abs, ref 0)' if self.absolute else ''} [{self.where}]"


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def compare(fams, case, ref, rep, lists, x_norms):
    F = fams
    # losses
    for e_ref in ref["infonce"]:
        e = next((x for x in rep.get("infonce", []) if abs(x["tau"] - e_ref["tau"]) < 1e-12), {})
        fam = F["infonce_hi"] if e_ref["tau"] >= 0.05 else F["infonce_lo"]
        for d in ("x1_to_x2", "x2_to_x1", "symmetric"):
            fam.value(e.get(d), e_ref[d], f"{case} τ={e_ref['tau']} {d}")
    for s_ref in ref["siglip"]:
        s = next((x for x in rep.get("siglip", []) if x["scale"] == s_ref["scale"] and x["bias"] == s_ref["bias"]), {})
        F["siglip"].value(s.get("loss"), s_ref["loss"], f"{case} {s_ref['scale']:g}:{s_ref['bias']:g}")
    # diagnostics
    D, Dr = rep.get("diagnostics", {}), ref["diagnostics"]
    for key in ("positive_mean", "negative_mean", "positive_std", "negative_std", "alignment"):
        F[key].value(D.get(key), Dr[key], case)
    for d in ("x1_to_x2", "x2_to_x1"):
        F["chance"].value(get(D, "chance", d), Dr["chance"][d], f"{case} {d}")
    for d in ("x1", "x2"):
        F["uniformity"].value(get(D, "uniformity", d), Dr["uniformity"][d], f"{case} {d}")
    F["counts"].value(get(rep, "inputs", "x1_without_positive"), ref["x1_without_positive"], case)
    # retrieval
    for d in ("x1_to_x2", "x2_to_x1"):
        R, Rr = get(rep, "retrieval", d) or {}, ref["retrieval"][d]
        F["counts"].value(R.get("queries"), Rr["queries"], f"{case} {d} queries")
        lo, hi = rank_figures(Rr["_lo"], KS), rank_figures(Rr["_hi"], KS)
        for key, got, want, bounds in (
                [("recall", get(R, "recall", str(k)), Rr["recall"][str(k)],
                  (hi["recall"][str(k)], lo["recall"][str(k)])) for k in KS] +
                [("mean_rank", R.get("mean_rank"), Rr["mean_rank"], (lo["mean_rank"], hi["mean_rank"])),
                 ("median_rank", R.get("median_rank"), Rr["median_rank"], (lo["median_rank"], hi["median_rank"])),
                 ("mrr", R.get("mrr"), Rr["mrr"], (hi["mrr"], lo["mrr"]))]):
            fam = F["recall" if key == "recall" else "rankstats"]
            fam.seen = True
            if got is None:
                fam.fail = True
                fam.notes.append(f"{case} {d} {key}: missing")
                continue
            if abs(got - want) <= 1e-12 * max(1.0, abs(want)):
                continue
            fam.mismatch += 1
            if bounds[0] - 1e-12 <= got <= bounds[1] + 1e-12:
                fam.explained += 1
                fam.notes.append(f"{case} {d} {key}: {got!r} vs {want!r}, inside the near-tie envelope {bounds}")
            else:
                fam.fail = True
                fam.notes.append(f"{case} {d} {key}: {got!r} vs {want!r}, outside the near-tie envelope {bounds}")
        # top-k lists
        idx, sc = lists[d]
        A, M, q, nrel, w = Rr["_A"], Rr["_M"], Rr["_q"], Rr["_nrel"], Rr["_w"]
        L = Rr["_lists"]
        fam = F["topk_idx"]
        fam.seen = True
        if idx.shape != L.shape:
            fam.fail = True
            fam.notes.append(f"{case} {d}: lists shape {idx.shape} vs {L.shape}")
            continue
        diff = idx != L
        rows, cols = np.nonzero(diff)
        ok = True
        for r_, c_ in zip(rows, cols):
            e_, f_ = idx[r_, c_], L[r_, c_]
            fam.mismatch += 1
            if 0 <= e_ < A.shape[1] and A[r_, e_] == A[r_, f_]:
                fam.exact_tie += 1      # an exact tie resolved against the tie rule
                ok = False
            elif 0 <= e_ < A.shape[1] and abs(A[r_, e_] - A[r_, f_]) < w[r_]:
                fam.explained += 1
            else:
                ok = False
        if not ok:
            fam.fail = True
            fam.notes.append(f"{case} {d}: top-k index mismatches beyond the near-tie window or against "
                             f"the tie rule at exact ties")
        if any(len(set(r_)) != len(r_) for r_ in idx.tolist()):
            fam.fail = True
            fam.notes.append(f"{case} {d}: a top-k list repeats an index")
        # scores: engine score against the float64 similarity of the same (query, candidate)
        nq, nc = (x_norms[0], x_norms[1]) if d == "x1_to_x2" else (x_norms[1], x_norms[0])
        safe = np.clip(idx, 0, A.shape[1] - 1)
        refsc = np.take_along_axis(A, safe, axis=1)
        scale = nq[:, None] * nc[safe]
        err = np.abs(sc.astype(np.float64) - refsc) / scale
        F["topk_score"].seen = True
        e = float(err.max())
        if e > F["topk_score"].tol:
            F["topk_score"].fail = True
            F["topk_score"].notes.append(f"{case} {d}: score error {e:.2e}")
        if e >= F["topk_score"].err:
            F["topk_score"].err, F["topk_score"].where = e, f"{case} {d}"
        # precision / ndcg / map: against the reference lists, and against the engine's own lists
        own = list_metrics(idx, M, q, nrel, [k for k in KS if k <= TOPK])
        for kind in ("precision", "ndcg", "map"):
            for k in KS:
                got = get(R, kind, str(k))
                want = Rr[kind][str(k)]
                fam = F["stmetrics"]
                if got is None:
                    fam.value(None, want, f"{case} {d} {kind}@{k}")
                    continue
                if abs(got - want) <= fam.tol * max(abs(want), ZERO):
                    fam.value(got, want, f"{case} {d} {kind}@{k}")
                elif ok and abs(got - own[kind][str(k)]) <= fam.tol * max(abs(want), ZERO):
                    # lists differ only inside the near-tie window: the figure follows the lists
                    fam.seen = True
                    fam.notes.append(f"{case} {d} {kind}@{k}: {got!r} vs {want!r}, follows its near-tie lists")
                else:
                    fam.value(got, want, f"{case} {d} {kind}@{k}")


def families():
    return {
        "infonce_hi": Family("InfoNCE, τ ≥ 0.05 (3 directions)", 1e-5, "1e-5 rel"),
        "infonce_lo": Family("InfoNCE, 0.01 ≤ τ < 0.05", 1e-4, "1e-4 rel"),
        "siglip": Family("SigLIP 10:-10", 1e-5, "1e-5 rel (loss)"),
        "positive_mean": Family("positive_mean", 1e-6, "1e-6 rel"),
        "negative_mean": Family("negative_mean", 1e-6, "1e-6 rel"),
        "positive_std": Family("positive_std", 1e-6, "1e-6 rel (as means)"),
        "negative_std": Family("negative_std", 1e-6, "1e-6 rel (as means)"),
        "alignment": Family("alignment", 1e-6, "1e-6 rel"),
        "chance": Family("chance (log N)", 1e-12, "exact (1e-12)"),
        "uniformity": Family("uniformity", 1e-5, "1e-5 rel (as losses)"),
        "counts": Family("queries, x1_without_positive", 0.0, "exact"),
        "recall": Family("recall@1,5,10", 0.0, "exact (near-tie envelope; exact ties by index)", kind="count"),
        "rankstats": Family("mean rank, median rank, MRR", 0.0, "exact (near-tie envelope; exact ties by index)", kind="count"),
        "topk_idx": Family("top-10 lists: indices", 0.0, "exact (near-tie window; exact ties by index)", kind="count"),
        "topk_score": Family("top-10 lists: scores, |err|/(‖a‖‖b‖)", TIE_WINDOW, "1e-6 abs, cosine scale"),
        "stmetrics": Family("precision/nDCG/MAP@1,5,10", 1e-9, "1e-9 rel (exact sums)"),
    }


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "crosssim"))
    ap.add_argument("--quick", action="store_true", help="half-size cases")
    ap.add_argument("--keep", help="write inputs and reports here and keep them")
    args = ap.parse_args()

    t0 = time.time()
    problems = self_check()
    if problems:
        print("The reference fails its own checks; nothing compared:")
        for p in problems:
            print("-", p)
        return 1
    print("Reference self-check: collapse closed forms (InfoNCE = log N, ranks by index, SigLIP = N log 2, "
          "uniformity 0) and the definitions loop on a tiny case with ties: OK\n")

    paths = []
    kp = subprocess.run(["bash", os.path.join(REPO, "scripts", "kernel-paths.sh")], capture_output=True, text=True)
    for line in kp.stdout.split("\n"):
        if line.strip():
            level, core = line.split()
            paths.append((f"CROSSSIM_VECTOR_LEVEL={level} OPENBLAS_CORETYPE={core}",
                          {"CROSSSIM_VECTOR_LEVEL": level, "OPENBLAS_CORETYPE": core}))
    paths.append(("default (no env)", {}))

    work = args.keep or tempfile.mkdtemp(prefix="crosssim-accuracy-")
    os.makedirs(work, exist_ok=True)
    fams = {name: families() for name, _ in paths}
    backends = {name: set() for name, _ in paths}
    failures = {name: [] for name, _ in paths}
    mtimes = set()
    try:
        cases = make_cases(args.quick)
        for case, x1, x2, pairs, sim in cases:
            cdir = os.path.join(work, case)
            os.makedirs(cdir, exist_ok=True)
            x1p, x2p = os.path.join(cdir, "x1.npy"), os.path.join(cdir, "x2.npy")
            np.save(x1p, x1)
            np.save(x2p, x2)
            pp = None
            if pairs is not None:
                pp = os.path.join(cdir, "pairs.npy")
                np.save(pp, pairs)
            t = time.time()
            ref = reference(x1, x2, pairs, sim)
            tref = time.time() - t
            print(f"case {case}: x1 {x1.shape[0]}×{x1.shape[1]}, x2 {x2.shape[0]}×{x2.shape[1]}, {sim}"
                  f"{', pairs' if pairs is not None else ''}; reference {tref:.1f} s; "
                  f"InfoNCE τ=0.05 sym {ref['infonce'][0]['symmetric']:.6g}, τ=0.01 sym {ref['infonce'][1]['symmetric']:.6g}",
                  flush=True)
            if case.startswith("collapse"):
                n = x1.shape[0]
                assert all(abs(e[d] - math.log(n)) <= 1e-12 * math.log(n) for e in ref["infonce"]
                           for d in ("x1_to_x2", "x2_to_x1", "symmetric")), "collapse reference is not log N"
            for pname, env in paths:
                wait_for(args.binary)
                mtimes.add(os.stat(args.binary).st_mtime)
                out, err = run_engine(args.binary, env, x1p, x2p, pp, sim,
                                      os.path.join(cdir, "run-" + (env.get("CROSSSIM_VECTOR_LEVEL") or "default")))
                if err:
                    failures[pname].append(f"{case}: {err}")
                    continue
                rep, lists = out
                backends[pname].add(get(rep, "engine", "backend") or "?")
                compare(fams[pname], case, ref, rep, lists, ref["_norms"])
            del ref
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    bad = False
    print()
    for pname, _ in paths:
        F = fams[pname]
        print(f"## {pname}")
        print(f"backend: {', '.join(sorted(backends[pname])) or '(no run succeeded)'}\n")
        print("| figure | largest error over cases [where] | tolerance (docs/accuracy.md) | verdict |")
        print("| --- | --- | --- | --- |")
        for f in F.values():
            verdict = "FAIL" if f.fail else ("ok" if f.seen else "—")
            print(f"| {f.name} | {f.text()} | {f.tol_text} | {verdict} |")
            bad |= f.fail
        notes = [n for f in F.values() for n in f.notes[:6]]
        if failures[pname]:
            bad = True
            print("\nruns that failed:")
            for x in failures[pname]:
                print("-", x)
        if notes:
            print("\nnotes:")
            for n in notes:
                print("-", n)
        print()
    print("Relative errors throughout; '(abs, ref 0)' marks an absolute error where the reference is 0 "
          f"(|ref| < {ZERO:g}). Near-tie window for ranks and lists: {TIE_WINDOW:g} "
          "(cosine; under dot scaled by max(1, ‖q‖·max‖c‖)); exact ties (equal float64 "
          "similarities, from duplicate rows) must follow the tie rule, lower index first.")
    if len(mtimes) > 1:
        print("WARNING: the binary changed while the script ran; paths may have run different builds.")
    print(f"total {time.time() - t0:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
