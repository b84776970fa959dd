"""Shared helpers: the crosssim command line built beside the library (for the reports the
Python side must equal), and small deterministic sets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def cli_path() -> Path:
    """CROSSSIM_CLI, else the release build of this checkout (scripts/test-python.sh builds it)."""
    return Path(os.environ.get("CROSSSIM_CLI", REPOSITORY / ".build" / "release" / "crosssim"))


@pytest.fixture(scope="session")
def cli() -> Path:
    path = cli_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `swift build -c release --product crosssim --static-swift-stdlib` (scripts/test-python.sh does)")
    return path


def run_cli(cli: Path, *arguments: Any, expect: int = 0) -> subprocess.CompletedProcess[str]:
    process = subprocess.run([str(cli), *map(str, arguments)], capture_output=True, text=True, timeout=600)
    assert process.returncode == expect, process.stderr
    return process


def cli_report(cli: Path, tmp_path: Path, *arguments: Any) -> str:
    """The text `crosssim eval ... --json F` writes."""
    out = tmp_path / "cli.json"
    run_cli(cli, "eval", *arguments, "--json", out, "--quiet")
    return out.read_text()


def without_engine(report: dict[str, Any]) -> dict[str, Any]:
    """The report less what describes the process (its time, rate and memory) and when it ran."""
    return {key: value for key, value in report.items() if key not in ("engine", "created")}


def without_created(text: str) -> str:
    """A report's text less the line that says when it was made."""
    return "".join(line for line in text.splitlines(keepends=True) if '"created":' not in line)


def pairs_of_sets(n: int, dim: int, noise: float, seed: int, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((n, dim))
    x2 = x1 + noise * rng.standard_normal((n, dim))
    return x1.astype(dtype), x2.astype(dtype)


def load_json(text: str) -> Any:
    return json.loads(text)
