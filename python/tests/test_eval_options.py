"""The options of `crosssim eval` beyond the figures: per-query results, health, hard negatives
and queries-only runs give, from Python, the CLI's report and the CLI's files bit for bit, and
their bad values the CLI's messages."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import crosssim
from conftest import pairs_of_sets, run_cli, without_engine
from test_cli_equality import named_as_in_memory

COLUMNS = ("rank", "best_positive", "best_negative", "best_negative_index", "infonce")


def same_bits(array: np.ndarray, path: Path) -> None:
    """`array` holds exactly the values (and dtype and shape) of the .npy at `path`."""
    expected = np.load(path)
    assert array.dtype == expected.dtype and array.shape == expected.shape, path
    assert array.tobytes() == expected.tobytes(), path


def save_sets(tmp_path: Path, **arrays: np.ndarray) -> dict[str, Path]:
    paths = {}
    for name, array in arrays.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], array)
    return paths


def test_per_query_health_and_hard_negatives_give_the_cli_report_and_files(cli: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(31)
    x1 = rng.standard_normal((120, 24)).astype(np.float32)
    owner = rng.integers(0, 110, size=300)  # x1 rows 110.. have no positive
    x2 = (x1[owner] + 0.9 * rng.standard_normal((300, 24))).astype(np.float32)
    files = save_sets(tmp_path, x1=x1, x2=x2, pairs=owner.astype(np.int64))
    cli_json = tmp_path / "cli.json"
    run_cli(cli, "eval", files["x1"], files["x2"], "--pairs", files["pairs"], "--tau", "0.05", "0.02", "--top-k", "4",
            "--per-query", tmp_path / "cli-pq", "--health", "--hubness-k", "5", "--hard-negatives", "3",
            "--margin", "0.01", "--range-min", "1", "--neighbors", tmp_path / "nn", "--json", cli_json, "--quiet")
    report = crosssim.evaluate(x1, x2, pairs=owner, tau=(0.05, 0.02), top_k=4, per_query=tmp_path / "py-pq", health=True,
                               hubness_k=5, hard_negatives=3, margin=0.01, range_min=1)
    expected = named_as_in_memory(json.loads(cli_json.read_text()), "x1", "x2")
    expected["inputs"]["pairs"]["path"] = "memory"
    expected["per_query"]["path"] = str(tmp_path / "py-pq")
    assert without_engine(report.to_dict()) == expected
    assert report.health is not None and report.health.hubness.k == 5
    assert report.health.x1.effective_rank == expected["health"]["x1"]["effective_rank"]
    assert report.per_query is not None and report.per_query.path == str(tmp_path / "py-pq")
    for direction in ("x1_to_x2", "x2_to_x1"):
        columns = getattr(report.per_query, direction)
        for name in COLUMNS:
            same_bits(getattr(columns, name), tmp_path / "cli-pq" / f"{direction}.{name}.npy")
            # The files Python had written are the CLI's, byte for byte.
            assert ((tmp_path / "py-pq" / f"{direction}.{name}.npy").read_bytes()
                    == (tmp_path / "cli-pq" / f"{direction}.{name}.npy").read_bytes())
        lists = getattr(report.hard_negatives, direction)
        same_bits(lists.indices, tmp_path / "nn" / f"{direction}.hard_negatives.indices.npy")
        same_bits(lists.scores, tmp_path / "nn" / f"{direction}.hard_negatives.scores.npy")
        same_bits(getattr(report.neighbors, direction).indices, tmp_path / "nn" / f"{direction}.indices.npy")
    assert report.per_query.x1_to_x2.rank[115] == 0 and np.isnan(report.per_query.x1_to_x2.infonce[115]).all()
    assert not report.per_query.x2_to_x1.rank.flags.writeable


def test_per_query_in_memory_only_and_from_files(cli: Path, tmp_path: Path) -> None:
    x1, x2 = pairs_of_sets(200, 16, noise=1.0, seed=32)
    files = save_sets(tmp_path, x1=x1, x2=x2)
    in_memory = crosssim.evaluate(x1, x2, per_query=True)
    assert "per_query" not in in_memory.to_dict() and in_memory.per_query is not None and in_memory.per_query.path is None
    run_cli(cli, "eval", files["x1"], files["x2"], "--per-query", tmp_path / "cli-pq", "--json", tmp_path / "cli.json", "--quiet")
    from_files = crosssim.evaluate_files(files["x1"], files["x2"], per_query=True)
    for report in (in_memory, from_files):
        for name in COLUMNS:
            same_bits(getattr(report.per_query.x2_to_x1, name), tmp_path / "cli-pq" / f"x2_to_x1.{name}.npy")
    assert from_files.to_dict()["infonce"] == json.loads((tmp_path / "cli.json").read_text())["infonce"]
    assert crosssim.evaluate(x1, x2).per_query is None


def test_parts_keep_per_query_results_for_the_merge(cli: Path, tmp_path: Path) -> None:
    x1, x2 = pairs_of_sets(300, 16, noise=1.0, seed=33)
    files = save_sets(tmp_path, x1=x1, x2=x2)
    states = [tmp_path / f"{i}.state" for i in range(2)]
    for i, state in enumerate(states):
        crosssim.evaluate_files(files["x1"], files["x2"], part=f"{i}/2", state=state, per_query=True, top_k=3)
    merged = crosssim.merge(states, per_query=tmp_path / "py-pq")
    run_cli(cli, "merge", *states, "--per-query", tmp_path / "cli-pq", "--neighbors", tmp_path / "nn", "--json",
            tmp_path / "cli.json")
    expected = json.loads((tmp_path / "cli.json").read_text())
    expected["per_query"]["path"] = str(tmp_path / "py-pq")
    assert without_engine(merged.to_dict()) == without_engine(expected)
    for name in COLUMNS:
        same_bits(getattr(merged.per_query.x1_to_x2, name), tmp_path / "cli-pq" / f"x1_to_x2.{name}.npy")
    same_bits(merged.neighbors.x2_to_x1.scores, tmp_path / "nn" / "x2_to_x1.scores.npy")
    with pytest.raises(crosssim.InputError, match="per-query results need each query's best negative"):
        plain = [tmp_path / f"plain-{i}.state" for i in range(2)]
        for i, state in enumerate(plain):
            crosssim.evaluate_files(files["x1"], files["x2"], part=f"{i}/2", state=state)
        crosssim.merge(plain, per_query=True)


def test_queries_only_gives_the_cli_report_and_only_x1_lists(cli: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(34)
    queries = rng.standard_normal((40, 12)).astype(np.float32)
    base = rng.standard_normal((500, 12)).astype(np.float32)
    files = save_sets(tmp_path, x1=queries, x2=base)
    run_cli(cli, "eval", files["x1"], files["x2"], "--queries-only", "--top-k", "50", "--neighbors", tmp_path / "nn",
            "--json", tmp_path / "cli.json", "--quiet")
    expected = json.loads((tmp_path / "cli.json").read_text())
    for report, names in ((crosssim.evaluate(queries, base, queries_only=True, top_k=50), ("x1", "x2")),
                          (crosssim.evaluate_files(files["x1"], files["x2"], queries_only=True, top_k=50), None)):
        # named_as_in_memory changes the dicts it is given: a copy each time.
        wanted = named_as_in_memory(copy.deepcopy(expected), *names) if names else without_engine(expected)
        assert without_engine(report.to_dict()) == wanted
        assert report.queries_only == crosssim.QueriesOnly(queries=40, k=50)
        assert report.retrieval is None and report.diagnostics is None and report.infonce == ()
        assert report.inputs.pairs is None and report.inputs.x1_without_positive is None
        assert report.neighbors is not None and report.neighbors.x2_to_x1 is None
        same_bits(report.neighbors.x1_to_x2.indices, tmp_path / "nn" / "x1_to_x2.indices.npy")
        same_bits(report.neighbors.x1_to_x2.scores, tmp_path / "nn" / "x1_to_x2.scores.npy")
    assert not (tmp_path / "nn" / "x2_to_x1.indices.npy").exists()


def test_queries_only_parts_merge_as_the_cli_merges(cli: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(36)
    files = save_sets(tmp_path, x1=rng.standard_normal((30, 8)).astype(np.float32),
                      x2=rng.standard_normal((90, 8)).astype(np.float32))
    states = [tmp_path / f"{i}.state" for i in range(3)]
    for i, state in enumerate(states):
        crosssim.evaluate_files(files["x1"], files["x2"], queries_only=True, top_k=40, part=f"{i}/3", state=state)
    merged = crosssim.merge(states)
    run_cli(cli, "merge", *states, "--neighbors", tmp_path / "nn", "--json", tmp_path / "cli.json")
    assert without_engine(merged.to_dict()) == without_engine(json.loads((tmp_path / "cli.json").read_text()))
    assert merged.neighbors is not None and merged.neighbors.x2_to_x1 is None and merged.retrieval is None
    same_bits(merged.neighbors.x1_to_x2.indices, tmp_path / "nn" / "x1_to_x2.indices.npy")


@pytest.mark.parametrize("options, arguments", [
    (dict(queries_only=True, top_k=3, tau=0.1), ["--queries-only", "--top-k", "3", "--tau", "0.1"]),
    (dict(queries_only=True), ["--queries-only"]),
    (dict(queries_only=True, top_k=3, health=True), ["--queries-only", "--top-k", "3", "--health"]),
    (dict(queries_only=True, top_k=3, per_query=True), ["--queries-only", "--top-k", "3", "--keep-per-query"]),
    (dict(margin=0.1), ["--margin", "0.1"]),
    (dict(hard_negatives=0), ["--hard-negatives", "0", "--state", "STATE"]),
    (dict(hard_negatives=2, relative_margin=-1), ["--hard-negatives", "2", "--relative-margin", "-1", "--state", "STATE"]),
    (dict(hubness_k=4), ["--hubness-k", "4"]),
    (dict(health=True, hubness_k=0), ["--health", "--hubness-k", "0"]),
    (dict(health=True, hubness_k=99), ["--health", "--hubness-k", "99"]),
])
def test_bad_options_raise_the_cli_message(cli: Path, tmp_path: Path, options: dict, arguments: list) -> None:
    x1, x2 = pairs_of_sets(50, 8, noise=0.5, seed=35)
    files = save_sets(tmp_path, x1=x1, x2=x2)
    arguments = [tmp_path / "s.state" if a == "STATE" else a for a in arguments]
    stderr = run_cli(cli, "eval", files["x1"], files["x2"], *arguments, "--quiet", expect=2).stderr.strip()
    assert stderr.startswith("crosssim: error: ")
    with pytest.raises(crosssim.InputError) as error:
        crosssim.evaluate(x1, x2, **options)
    assert str(error.value) == stderr[len("crosssim: error: "):]
