"""The report from Python is the CLI's: from arrays, every field but the inputs' names and the
engine equals `crosssim eval --json` on the same values in .npy files, bit for bit; from
files, `report.json` is the CLI's text but for the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import crosssim
from conftest import REPOSITORY, cli_report, pairs_of_sets, run_cli, without_created, without_engine

OPTIONS: dict[str, Any] = dict(tau=(0.05, 0.01), siglip=[(10.0, -10.0)], k=(1, 5), top_k=5, histogram=True)
CLI_OPTIONS = ["--tau", "0.05", "0.01", "--siglip", "10:-10", "--k", "1,5", "--top-k", "5", "--histogram"]


def named_as_in_memory(report: dict, x1: str, x2: str) -> dict:
    """A CLI report with the sets named as `evaluate` names arrays ("x1", "x2"), which have no
    content fingerprint (that is taken while files are read)."""
    report = without_engine(report)
    report["inputs"]["x1"]["path"], report["inputs"]["x2"]["path"] = x1, x2
    for inputs in (report["inputs"]["x1"], report["inputs"]["x2"], report["inputs"].get("pairs")):
        if isinstance(inputs, dict):
            inputs.pop("fingerprint", None)
    return report


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_arrays_give_the_cli_report(cli: Path, tmp_path: Path, dtype: type) -> None:
    x1, x2 = pairs_of_sets(700, 40, noise=1.2, seed=5, dtype=dtype)
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    expected = json.loads(cli_report(cli, tmp_path, tmp_path / "x1.npy", tmp_path / "x2.npy", *CLI_OPTIONS))
    report = crosssim.evaluate(x1, x2, **OPTIONS)
    assert without_engine(report.to_dict()) == named_as_in_memory(expected, "x1", "x2")
    assert report.inputs.x1.dtype == np.dtype(dtype).str


def test_unit_rows_are_read_as_they_are_and_agree_within_the_accuracy(cli: Path, tmp_path: Path) -> None:
    # The CLI normalises rows as it reads them; arrays whose rows are unit length already are
    # used in place (no copy), so the last bits of the similarities may differ.
    x1, x2 = pairs_of_sets(800, 48, noise=1.0, seed=9)
    x1 /= np.linalg.norm(x1, axis=1, keepdims=True)
    x2 /= np.linalg.norm(x2, axis=1, keepdims=True)
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    expected = json.loads(cli_report(cli, tmp_path, tmp_path / "x1.npy", tmp_path / "x2.npy", "--tau", "0.05", "0.02"))
    report = crosssim.evaluate(x1, x2, tau=(0.05, 0.02)).to_dict()
    assert report["retrieval"] == expected["retrieval"]
    for ours, theirs in zip(report["infonce"], expected["infonce"]):
        assert ours["symmetric"] == pytest.approx(theirs["symmetric"], rel=1e-5)
    assert report["diagnostics"]["positive_mean"] == pytest.approx(expected["diagnostics"]["positive_mean"], rel=1e-6)


def test_pairs_and_dot_give_the_cli_report(cli: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    x1 = rng.standard_normal((150, 24)).astype(np.float32)
    owner = rng.integers(0, 150, size=400)
    x2 = (x1[owner] + rng.standard_normal((400, 24))).astype(np.float32)
    for name, array in (("x1", x1), ("x2", x2), ("pairs", owner.astype(np.int64))):
        np.save(tmp_path / f"{name}.npy", array)
    expected = json.loads(cli_report(cli, tmp_path, tmp_path / "x1.npy", tmp_path / "x2.npy", "--pairs", tmp_path / "pairs.npy",
                                     "--similarity", "dot", "--uniformity", "--siglip", "1:0"))
    report = crosssim.evaluate(x1, x2, pairs=owner, similarity="dot", uniformity=True, siglip=[(1, 0)])
    expected = named_as_in_memory(expected, "x1", "x2")
    expected["inputs"]["pairs"]["path"] = "memory"
    assert without_engine(report.to_dict()) == expected


def test_files_give_the_cli_text_and_neighbors(cli: Path, tmp_path: Path) -> None:
    x1, x2 = pairs_of_sets(500, 32, noise=1.0, seed=7, dtype=np.float16)
    (tmp_path / "x1").mkdir()
    np.save(tmp_path / "x1" / "part-0.npy", x1[:300])
    np.save(tmp_path / "x1" / "part-1.npy", x1[300:])
    np.save(tmp_path / "x2.npy", x2)
    run_cli(cli, "eval", tmp_path / "x1", tmp_path / "x2.npy", *CLI_OPTIONS, "--json", tmp_path / "cli.json",
            "--neighbors", tmp_path / "nn", "--quiet")
    expected = (tmp_path / "cli.json").read_text()
    report = crosssim.evaluate_files(tmp_path / "x1", tmp_path / "x2.npy", **OPTIONS)
    assert without_engine(report.to_dict()) == without_engine(json.loads(expected))
    # The same text but for the engine's lines.
    engine_free = lambda text: text[:text.index('  "engine"')]  # noqa: E731
    assert engine_free(without_created(report.json)) == engine_free(without_created(expected))
    assert report.json.endswith("}\n")
    for direction in ("x1_to_x2", "x2_to_x1"):
        lists = getattr(report.neighbors, direction)
        np.testing.assert_array_equal(lists.indices, np.load(tmp_path / "nn" / f"{direction}.indices.npy"))
        np.testing.assert_array_equal(lists.scores, np.load(tmp_path / "nn" / f"{direction}.scores.npy"))


def test_the_real_sample_under_a_memory_limit(cli: Path, tmp_path: Path) -> None:
    functions = REPOSITORY / "data" / "functions"
    expected = cli_report(cli, tmp_path, functions / "x1", functions / "x2", "--memory-limit", "200M", "--tau", "0.05", "0.02")
    report = crosssim.evaluate_files(functions / "x1", functions / "x2", memory_limit="200M", tau=(0.05, 0.02))
    assert without_engine(report.to_dict()) == without_engine(json.loads(expected))
    assert report.inputs.x1 == crosssim.SetInfo(path=str(functions / "x1"), rows=5151, dim=384, shards=3, dtype="<f2",
                                                fingerprint=json.loads(expected)["inputs"]["x1"]["fingerprint"])


def test_parts_merge_as_the_cli_merges(cli: Path, tmp_path: Path) -> None:
    x1, x2 = pairs_of_sets(400, 16, noise=1.0, seed=8)
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    states = []
    for i in range(3):
        state = tmp_path / f"{i}.state"
        assert crosssim.evaluate_files(tmp_path / "x1.npy", tmp_path / "x2.npy", part=f"{i}/3", state=state) is None
        states.append(state)
    states.reverse()  # any order
    merged = crosssim.merge(states, plot=tmp_path / "merged.svg")
    assert merged.per_query is None
    out = tmp_path / "cli-merged.json"
    run_cli(cli, "merge", *states, "--json", out, "--plot", tmp_path / "cli-merged.svg")
    # A merged report's engine holds the parts' figures: the same but for when it was made.
    assert without_created(merged.json) == without_created(out.read_text())
    assert (tmp_path / "merged.svg").read_text() == (tmp_path / "cli-merged.svg").read_text()
    assert isinstance(merged.engine, crosssim.MergedEngine) and merged.engine.parts == 3
    whole = crosssim.evaluate(x1, x2)
    assert merged.infonce[0].symmetric == pytest.approx(whole.infonce[0].symmetric, rel=1e-5)
    assert dict(merged.retrieval.x1_to_x2.recall) == dict(whole.retrieval.x1_to_x2.recall)
    with pytest.raises(crosssim.InputError, match="missing"):
        crosssim.merge(states[:2])
