"""Shared fixtures: a fast campaign configuration and project paths."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Small budgets that still recover the pendulum law: the tests check behaviour,
# the benchmarks check reach.
FAST = {
    "initial_points": 64,
    "batch_points": 32,
    "replicates": 8,
    "max_iterations": 4,
    "sr_max_evaluations": 60_000,
    "sr_time_limit": 120.0,  # a safety cap only: the evaluation budget must stop SR, or runs differ
    "sr_max_points": 300,
}


@pytest.fixture
def fast_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text("\n".join(f"{k} = {v!r}" for k, v in FAST.items()) + "\n")
    return path


@pytest.fixture
def root() -> Path:
    return ROOT
