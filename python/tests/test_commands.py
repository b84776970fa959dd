"""`compare`, `dedup` and `grad` from Python are the CLI's commands: the same JSON, arrays and
files bit for bit, and the same messages for bad input. The gradient is also checked against
a float64 numpy reference, within docs/gradient.md's bounds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

import crosssim
from conftest import pairs_of_sets, run_cli, without_engine
from test_cli_equality import named_as_in_memory
from test_eval_options import same_bits, save_sets


def cli_message(cli: Path, *arguments: Any) -> str:
    """The message of a CLI run that fails with exit code 2, without its "crosssim: error: "."""
    stderr = run_cli(cli, *arguments, expect=2).stderr.strip()
    assert stderr.startswith("crosssim: error: "), stderr
    return stderr[len("crosssim: error: "):]


def raises_message(expected: str, function: Any, *arguments: Any, **options: Any) -> None:
    with pytest.raises(crosssim.InputError) as error:
        function(*arguments, **options)
    assert str(error.value) == expected


# -- compare --------------------------------------------------------------------------------

def two_models(tmp_path: Path) -> dict[str, Path]:
    """The same queries embedded by a model and by a slightly better one, as .npy files."""
    rng = np.random.default_rng(41)
    truth = rng.standard_normal((400, 20))
    sets = {"x1": truth, "old": truth + 1.3 * rng.standard_normal((400, 20)), "new": truth + 1.1 * rng.standard_normal((400, 20))}
    return save_sets(tmp_path, **{name: value.astype(np.float32) for name, value in sets.items()})


def test_compare_gives_the_cli_comparison(cli: Path, tmp_path: Path) -> None:
    files = two_models(tmp_path)
    for model in ("old", "new"):
        run_cli(cli, "eval", files["x1"], files[model], "--tau", "0.05", "0.1", "--per-query", tmp_path / f"{model}-pq",
                "--json", tmp_path / f"{model}.json", "--quiet")
    out = tmp_path / "cli-compare.json"
    options = ["--bootstrap", "3000", "--seed", "7", "--confidence", "0.9", "--tolerance", "0.001"]
    stdout = run_cli(cli, "compare", tmp_path / "old.json", tmp_path / "new.json", *options, "--json", out,
                     "--plot", tmp_path / "cli.svg").stdout
    comparison = crosssim.compare(tmp_path / "old.json", tmp_path / "new.json", bootstrap=3000, seed=7, confidence=0.9,
                                  tolerance=0.001, plot=tmp_path / "py.svg")
    assert comparison.json == out.read_text()
    assert comparison.summary + "\n" == stdout
    assert (tmp_path / "py.svg").read_text() == (tmp_path / "cli.svg").read_text()
    expected = json.loads(out.read_text())
    assert comparison.to_dict() == expected
    assert [m.name for m in comparison.metrics] == [m["name"] for m in expected["metrics"]]
    assert comparison.metrics[0].ci == tuple(expected["metrics"][0]["ci"])
    assert comparison.queries.x1_to_x2.better == expected["queries"]["x1_to_x2"]["better"]
    assert comparison.largest_changes.x2_to_x1[0].index == expected["largest_changes"]["x2_to_x1"][0]["index"]
    assert comparison.regressed == tuple(m["name"] for m in expected["metrics"] if m["verdict"] == "regressed")


def test_reports_from_python_compare_as_the_cli_reports(cli: Path, tmp_path: Path) -> None:
    files = two_models(tmp_path)
    x1 = np.load(files["x1"])
    for model in ("old", "new"):
        run_cli(cli, "eval", files["x1"], files[model], "--per-query", tmp_path / f"cli-{model}-pq",
                "--json", tmp_path / f"cli-{model}.json", "--quiet")
        report = crosssim.evaluate(x1, np.load(files[model]), per_query=tmp_path / f"py-{model}-pq")
        (tmp_path / f"py-{model}.json").write_text(report.json)
    ours = crosssim.compare(tmp_path / "py-old.json", tmp_path / "py-new.json", bootstrap=500)
    theirs = crosssim.compare(tmp_path / "cli-old.json", tmp_path / "cli-new.json", bootstrap=500)
    assert ours.metrics == theirs.metrics and ours.queries == theirs.queries
    assert ours.largest_changes == theirs.largest_changes


def test_reports_in_memory_compare_as_their_files(cli: Path, tmp_path: Path) -> None:
    files = two_models(tmp_path)
    x1 = np.load(files["x1"])
    reports = {}
    for model in ("old", "new"):
        reports[model] = crosssim.evaluate(x1, np.load(files[model]), tau=(0.05, 0.1), per_query=True)
        run_cli(cli, "eval", files["x1"], files[model], "--tau", "0.05", "0.1", "--per-query", tmp_path / f"{model}-pq",
                "--json", tmp_path / f"{model}.json", "--quiet")
    out = tmp_path / "cli-compare.json"
    stdout = run_cli(cli, "compare", tmp_path / "old.json", tmp_path / "new.json", "--bootstrap", "800", "--seed", "5",
                     "--json", out).stdout
    comparison = crosssim.compare(reports["old"], reports["new"], bootstrap=800, seed=5)
    expected = json.loads(out.read_text())
    # The same figures, intervals and verdicts; the reports are named "base" and "new".
    assert comparison.to_dict() == {**expected, "base": "base", "new": "new"}
    assert comparison.summary.splitlines()[2:] == stdout.splitlines()[2:]
    with pytest.raises(crosssim.InputError, match=r"^new: no per-query results in this report: evaluate with per_query=True$"):
        crosssim.compare(reports["old"], crosssim.evaluate(x1, np.load(files["new"])))
    with pytest.raises(crosssim.InputError, match=r"^new: not the same queries as base: x1 has 399 rows here, 400 there$"):
        crosssim.compare(reports["old"], crosssim.evaluate(x1[:399], np.load(files["new"])[:399], per_query=True))
    with pytest.raises(TypeError, match="two report files or two Reports"):
        crosssim.compare(reports["old"], tmp_path / "new.json")


def test_compare_refuses_what_the_cli_refuses(cli: Path, tmp_path: Path) -> None:
    files = two_models(tmp_path)
    run_cli(cli, "eval", files["x1"], files["old"], "--json", tmp_path / "plain.json", "--quiet")
    run_cli(cli, "eval", files["x1"], files["new"], "--per-query", tmp_path / "pq", "--json", tmp_path / "new.json", "--quiet")
    for base, new, options, arguments in (
        (tmp_path / "plain.json", tmp_path / "new.json", {}, []),
        (tmp_path / "new.json", tmp_path / "missing.json", {}, []),
        (files["x1"], tmp_path / "new.json", {}, []),
        (tmp_path / "new.json", tmp_path / "new.json", {"bootstrap": 0}, ["--bootstrap", "0"]),
        (tmp_path / "new.json", tmp_path / "new.json", {"confidence": 1.5}, ["--confidence", "1.5"]),
    ):
        raises_message(cli_message(cli, "compare", base, new, *arguments), crosssim.compare, base, new, **options)


# -- dedup ----------------------------------------------------------------------------------

def near_duplicates(seed: int) -> np.ndarray:
    """Rows with exact and near copies among them, in clusters of several rows."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((600, 16))
    x[300:450] = x[:150] + 0.05 * rng.standard_normal((150, 16))
    x[450:500] = x[:50]
    return x.astype(np.float32)


def check_dedup(result: crosssim.Dedup, directory: Path, against: bool) -> None:
    names = ("pairs", "similarity", "matched" if against else "cluster", "keep")
    for name in names:
        same_bits(getattr(result, name), directory / f"{name}.npy")
    assert (result.cluster is None) == against and (result.matched is None) != against


def without_time(summary: str) -> str:
    """dedup's summary line less its directory and time."""
    return re.sub(r" → .* \([0-9.]+ s\)$", "", summary)


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_dedup_gives_the_cli_files(cli: Path, tmp_path: Path, similarity: str) -> None:
    x = near_duplicates(42)
    other = 0.9 * x[100:300] + 0.02 * np.random.default_rng(43).standard_normal((200, 16)).astype(np.float32)
    files = save_sets(tmp_path, x=x, other=other)
    threshold = "0.95" if similarity == "cosine" else "12"
    stdout = run_cli(cli, "dedup", files["x"], "--threshold", threshold, "--similarity", similarity, "--out", tmp_path / "cli",
                     "--quiet").stdout
    result = crosssim.dedup(x, threshold=float(threshold), similarity=similarity, tile=(64, 128))
    check_dedup(result, tmp_path / "cli", against=False)
    assert without_time(result.summary) == without_time(stdout.strip()) and result.out is None
    assert len(result.pairs) > 150
    kept = crosssim.dedup_files(files["x"], threshold=float(threshold), similarity=similarity, out=tmp_path / "py")
    check_dedup(kept, tmp_path / "cli", against=False)
    for name in ("pairs", "similarity", "cluster", "keep"):
        assert (tmp_path / "py" / f"{name}.npy").read_bytes() == (tmp_path / "cli" / f"{name}.npy").read_bytes()
    assert kept.out == str(tmp_path / "py")
    # --memory-limit reaches the library: a limit below the run's buffers is the CLI's error.
    check_dedup(crosssim.dedup_files(files["x"], threshold=float(threshold), similarity=similarity, memory_limit="4G"),
                tmp_path / "cli", against=False)
    raises_message(cli_message(cli, "dedup", files["x"], "--threshold", threshold, "--similarity", similarity,
                               "--memory-limit", "1M", "--out", tmp_path / "small"),
                   crosssim.dedup_files, files["x"], threshold=float(threshold), similarity=similarity, memory_limit="1M")

    run_cli(cli, "dedup", files["x"], "--against", files["other"], "--threshold", threshold, "--similarity", similarity,
            "--out", tmp_path / "cli-against", "--quiet")
    audit = crosssim.dedup(x, against=other, threshold=float(threshold), similarity=similarity)
    check_dedup(audit, tmp_path / "cli-against", against=True)
    assert (audit.matched >= 0).sum() >= 200
    check_dedup(crosssim.dedup_files(files["x"], against=files["other"], threshold=float(threshold), similarity=similarity),
                tmp_path / "cli-against", against=True)


def test_dedup_refuses_what_the_cli_refuses(cli: Path, tmp_path: Path) -> None:
    x = near_duplicates(44)
    bad = x.copy()
    bad[7, 2] = np.inf
    files = save_sets(tmp_path, x=x, bad=bad)
    out = tmp_path / "out"
    raises_message(cli_message(cli, "dedup", files["x"], "--threshold", "0.5", "--max-pairs", "10", "--out", out, "--quiet"),
                   crosssim.dedup, x, threshold=0.5, max_pairs=10, out=out)
    assert not out.exists() or not any(out.iterdir())
    # JSON has no NaN: options that are not finite are refused before the library sees them.
    raises_message("options must be finite numbers (NaN and ±inf are not)", crosssim.dedup, x, threshold=float("nan"))
    raises_message(cli_message(cli, "dedup", files["x"], "--threshold", "0.5", "--max-pairs", "-1", "--out", out),
                   crosssim.dedup_files, files["x"], threshold=0.5, max_pairs=-1)
    raises_message(cli_message(cli, "dedup", files["bad"], "--threshold", "0.5", "--out", out), crosssim.dedup_files,
                   files["bad"], threshold=0.5)
    # In memory the matrix is named as the argument.
    raises_message("x: row 7: NaN or infinite value", crosssim.dedup, bad, threshold=0.5)
    raises_message("against: dimension mismatch between sets: SET has D = 16, OTHER has D = 8", crosssim.dedup, x,
                   against=x[:, :8], threshold=0.5)


# -- grad -----------------------------------------------------------------------------------

GRADIENT_CASES = [
    # (similarity, loss options, CLI loss arguments, with pairs)
    ("cosine", dict(tau=0.05), ["--tau", "0.05"], False),
    ("dot", dict(tau=0.1), ["--tau", "0.1"], False),
    ("cosine", dict(siglip=(10.0, -10.0)), ["--siglip", "10:-10"], False),
    ("dot", dict(siglip=(1.0, 0.0)), ["--siglip", "1:0"], True),
    ("cosine", dict(tau=0.07), ["--tau", "0.07"], True),
]


def gradient_inputs(with_pairs: bool) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    rng = np.random.default_rng(45)
    if not with_pairs:
        x1, x2 = pairs_of_sets(160, 24, noise=1.0, seed=46)
        return x1 / 4, x2 / 4, None
    x1 = (rng.standard_normal((90, 24)) / 4).astype(np.float32)
    owner = rng.integers(0, 80, size=200)  # x1 rows without a positive, several positives per row
    x2 = (x1[owner] + 0.25 * rng.standard_normal((200, 24))).astype(np.float32)
    return x1, x2, owner


@pytest.mark.parametrize("similarity, loss, arguments, with_pairs", GRADIENT_CASES)
def test_grad_gives_the_cli_gradients(cli: Path, tmp_path: Path, similarity: str, loss: dict, arguments: list,
                                      with_pairs: bool) -> None:
    x1, x2, owner = gradient_inputs(with_pairs)
    files = save_sets(tmp_path, x1=x1, x2=x2, **({} if owner is None else {"pairs": owner.astype(np.int64)}))
    pairs = [] if owner is None else ["--pairs", files["pairs"]]
    run_cli(cli, "grad", files["x1"], files["x2"], *pairs, "--similarity", similarity, *arguments, "--out", tmp_path / "cli",
            "--quiet")
    result = crosssim.grad(x1, x2, pairs=owner, similarity=similarity, **loss)
    same_bits(result.dx1, tmp_path / "cli" / "x1.grad.npy")
    same_bits(result.dx2, tmp_path / "cli" / "x2.grad.npy")
    expected = named_as_in_memory(json.loads((tmp_path / "cli" / "report.json").read_text()), "x1", "x2")
    if owner is not None:
        expected["inputs"]["pairs"]["path"] = "memory"
    assert without_engine(result.report.to_dict()) == expected
    expected_loss = expected["infonce"][0]["symmetric"] if "tau" in loss else expected["siglip"][0]["loss"]
    assert result.loss == expected_loss


def reference_gradient(x1: np.ndarray, x2: np.ndarray, owner: Optional[np.ndarray], similarity: str,
                       tau: Optional[float] = None, siglip: Optional[tuple[float, float]] = None
                       ) -> tuple[float, np.ndarray, np.ndarray]:
    """The loss and its gradients in float64 from docs/gradient.md's weights and the chain rule."""
    r1, r2 = x1.astype(np.float64), x2.astype(np.float64)
    n1, n2 = len(r1), len(r2)
    owner = np.arange(n2) if owner is None else owner
    norms1, norms2 = np.linalg.norm(r1, axis=1, keepdims=True), np.linalg.norm(r2, axis=1, keepdims=True)
    a, b = (r1 / norms1, r2 / norms2) if similarity == "cosine" else (r1, r2)
    s = a @ b.T
    positive = np.zeros((n1, n2), dtype=bool)
    positive[owner, np.arange(n2)] = True
    if tau is not None:
        z = s / tau
        row_softmax = np.exp(z - z.max(axis=1, keepdims=True))
        row_softmax /= row_softmax.sum(axis=1, keepdims=True)
        column_softmax = np.exp(z - z.max(axis=0, keepdims=True))
        column_softmax /= column_softmax.sum(axis=0, keepdims=True)
        queries = positive.any(axis=1)
        count = positive.sum(axis=1, keepdims=True)
        row_losses = np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)) + z.max(axis=1) \
            - np.where(positive, z, 0).sum(axis=1) / np.maximum(count[:, 0], 1)
        column_losses = np.log(np.exp(z - z.max(axis=0, keepdims=True)).sum(axis=0)) + z.max(axis=0) - z[owner, np.arange(n2)]
        loss = (row_losses[queries].mean() + column_losses.mean()) / 2
        w = queries[:, None] * (row_softmax - positive / np.maximum(count, 1)) / (2 * queries.sum() * tau) \
            + (column_softmax - positive) / (2 * n2 * tau)
    else:
        assert siglip is not None
        t, bias = siglip
        y = np.where(positive, 1.0, -1.0)
        loss = np.logaddexp(0, -y * (t * s + bias)).sum() / n1
        w = -y * t / (1 + np.exp(y * (t * s + bias))) / n1
    g1, g2 = w @ b, w.T @ a
    if similarity == "cosine":
        g1 = (g1 - (g1 * a).sum(axis=1, keepdims=True) * a) / norms1
        g2 = (g2 - (g2 * b).sum(axis=1, keepdims=True) * b) / norms2
    return float(loss), g1, g2


@pytest.mark.parametrize("similarity, loss, arguments, with_pairs", GRADIENT_CASES)
def test_grad_matches_a_float64_reference(similarity: str, loss: dict, arguments: list, with_pairs: bool) -> None:
    x1, x2, owner = gradient_inputs(with_pairs)
    result = crosssim.grad(x1, x2, pairs=owner, similarity=similarity, **loss)
    expected_loss, g1, g2 = reference_gradient(x1, x2, owner, similarity, **loss)
    assert result.dx1.dtype == np.float32 and result.dx1.shape == x1.shape and result.dx2.shape == x2.shape
    assert result.loss == pytest.approx(expected_loss, rel=1e-5)
    # docs/gradient.md: relative Frobenius error ≤ 1e-5 (InfoNCE at τ ≥ 0.05, SigLIP).
    for ours, reference in ((result.dx1, g1), (result.dx2, g2)):
        assert np.linalg.norm(ours - reference) <= 1e-5 * np.linalg.norm(reference)


def test_grad_refuses_what_the_cli_refuses(cli: Path, tmp_path: Path) -> None:
    x1, x2, _ = gradient_inputs(False)
    files = save_sets(tmp_path, x1=x1, x2=x2)
    out = tmp_path / "out"
    raises_message(cli_message(cli, "grad", files["x1"], files["x2"], "--out", out), crosssim.grad, x1, x2)
    raises_message(cli_message(cli, "grad", files["x1"], files["x2"], "--tau", "0.1", "--siglip", "1:0", "--out", out),
                   crosssim.grad, x1, x2, tau=0.1, siglip=(1, 0))
    raises_message(cli_message(cli, "grad", files["x1"], files["x2"], "--tau", "-1", "--out", out), crosssim.grad, x1, x2,
                   tau=-1)
    raises_message("x2: row 3: NaN or infinite value", crosssim.grad, x1, np.where(np.arange(160)[:, None] == 3, np.nan, x2),
                   tau=0.1)
    raises_message("N1 ≠ N2 (160 and 100 rows) without --pairs: say which rows belong together", crosssim.grad, x1, x2[:100],
                   tau=0.1)
