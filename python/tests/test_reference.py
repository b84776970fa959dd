"""Every figure against a float64 numpy reference on small sets, within docs/accuracy.md:
losses to 1e-5 relative (τ ≥ 0.05) and 1e-4 (0.01 ≤ τ < 0.05), moments to 1e-6, ranks exact."""

from __future__ import annotations

import numpy as np
import pytest

import crosssim
from conftest import pairs_of_sets


def logsumexp(z: np.ndarray, axis: int) -> np.ndarray:
    m = z.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def normalised(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ranks(s: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """open_clip's rule for one positive per query: 1 + negatives above it + negatives equal to it
    with a lower index."""
    n = s.shape[1]
    best = s[np.arange(len(positive)), positive]
    above = (s > best[:, None]).sum(axis=1)
    equal_before = ((s == best[:, None]) & (np.arange(n)[None, :] < positive[:, None])).sum(axis=1)
    return 1 + above + equal_before


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_identity_pairs_match_the_float64_reference(similarity: str) -> None:
    x1, x2 = pairs_of_sets(300, 48, noise=1.0, seed=1)
    if similarity == "dot":
        x1, x2 = x1 / 7, x2 / 7
    taus = (0.07, 0.05, 0.02)
    report = crosssim.evaluate(x1, x2, similarity=similarity, tau=taus, siglip=[(10, -10), (1, 0)], k=(1, 5, 10))
    a, b = (normalised(x1), normalised(x2)) if similarity == "cosine" else (x1.astype(np.float64), x2.astype(np.float64))
    s = a @ b.T
    n = len(s)
    diag = np.arange(n)
    for tau, loss in zip(taus, report.infonce):
        z = s / tau
        x1_to_x2 = np.mean(logsumexp(z, 1) - z[diag, diag])
        x2_to_x1 = np.mean(logsumexp(z, 0) - z[diag, diag])
        tolerance = 1e-5 if tau >= 0.05 else 1e-4
        assert loss.tau == tau
        assert loss.x1_to_x2 == pytest.approx(x1_to_x2, rel=tolerance)
        assert loss.x2_to_x1 == pytest.approx(x2_to_x1, rel=tolerance)
        assert loss.symmetric == pytest.approx((x1_to_x2 + x2_to_x1) / 2, rel=tolerance)
    y = np.where(np.eye(n, dtype=bool), 1.0, -1.0)
    for (scale, bias), term in zip([(10, -10), (1, 0)], report.siglip):
        expected = np.logaddexp(0, -y * (scale * s + bias)).sum() / n
        assert (term.scale, term.bias) == (scale, bias)
        assert term.loss == pytest.approx(expected, rel=1e-5)
    for direction, matrix in ((report.retrieval.x1_to_x2, s), (report.retrieval.x2_to_x1, s.T)):
        r = ranks(matrix, diag)
        assert direction.queries == n
        assert dict(direction.recall) == {k: np.mean(r <= k) for k in (1, 5, 10)}
        assert direction.mean_rank == pytest.approx(r.mean(), rel=1e-12)
        assert direction.median_rank == np.median(r)
        assert direction.mrr == pytest.approx(np.mean(1 / r), rel=1e-12)
    negatives = s[~np.eye(n, dtype=bool)]
    d = report.diagnostics
    assert d.positive_mean == pytest.approx(s[diag, diag].mean(), rel=1e-6)
    assert d.positive_std == pytest.approx(s[diag, diag].std(), rel=1e-6)
    assert d.negative_mean == pytest.approx(negatives.mean(), rel=1e-6, abs=1e-9)
    assert d.negative_std == pytest.approx(negatives.std(), rel=1e-6)
    assert d.alignment == pytest.approx(np.mean(((a - b) ** 2).sum(axis=1)), rel=1e-6)
    assert (d.chance.x1_to_x2, d.chance.x2_to_x1) == (pytest.approx(np.log(n)), pytest.approx(np.log(n)))


def test_several_positives_per_query_and_top_k_lists() -> None:
    rng = np.random.default_rng(2)
    images = rng.standard_normal((80, 32)).astype(np.float32)
    owner = np.repeat(np.arange(80), 3)[:200]  # x2 row j is a caption of image owner[j]; rows 67.. have none
    captions = (images[owner] + 0.8 * rng.standard_normal((200, 32))).astype(np.float32)
    report = crosssim.evaluate(images, captions, pairs=owner, tau=0.05, top_k=5, k=(1, 5))
    s = normalised(images) @ normalised(captions).T
    z = s / 0.05
    has = np.bincount(owner, minlength=80) > 0
    # x1→x2 (SupCon's L_out over rows with a positive); x2→x1 one positive each.
    rows = [logsumexp(z[i], 0) - z[i, owner == i].mean() for i in np.flatnonzero(has)]
    columns = logsumexp(z, 0) - z[owner, np.arange(200)]
    assert report.infonce[0].x1_to_x2 == pytest.approx(np.mean(rows), rel=1e-5)
    assert report.infonce[0].x2_to_x1 == pytest.approx(columns.mean(), rel=1e-5)
    assert report.inputs.x1_without_positive == int((~has).sum())
    assert report.inputs.pairs == crosssim.PairsInfo(path="memory", positives=200)
    r = ranks(s.T, owner)
    assert dict(report.retrieval.x2_to_x1.recall) == {1: np.mean(r <= 1), 5: np.mean(r <= 5)}
    neighbors = report.neighbors
    assert neighbors is not None
    assert neighbors.x1_to_x2.indices.shape == (80, 5) and neighbors.x2_to_x1.indices.shape == (200, 5)
    np.testing.assert_array_equal(neighbors.x1_to_x2.indices, np.argsort(-s, axis=1, kind="stable")[:, :5])
    np.testing.assert_array_equal(neighbors.x2_to_x1.indices, np.argsort(-s.T, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(neighbors.x1_to_x2.scores, np.sort(s, axis=1)[:, ::-1][:, :5], rtol=1e-6)
    assert not neighbors.x1_to_x2.indices.flags.writeable
    assert report.retrieval.x1_to_x2.precision is not None and set(report.retrieval.x1_to_x2.precision) == {1, 5}


def test_uniformity_and_histogram() -> None:
    x1, x2 = pairs_of_sets(120, 16, noise=0.5, seed=3)
    report = crosssim.evaluate(x1, x2, uniformity=True, histogram=True)
    for x, value in ((x1, report.diagnostics.uniformity.x1), (x2, report.diagnostics.uniformity.x2)):
        a = normalised(x)
        a = a - a.mean(axis=0)  # docs/definitions.md: on a centred copy of each set
        d2 = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)
        off = ~np.eye(len(a), dtype=bool)
        assert value == pytest.approx(np.log(np.mean(np.exp(-2 * d2[off]))), rel=1e-5)
    h = report.histogram
    assert h is not None and (h.lower, h.upper) == (-1, 1)
    assert sum(h.positive) == 120 and sum(h.negative) == 120 * 119
