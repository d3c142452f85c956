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


def dump_diff(a: dict, b: dict, limit: int = 8) -> str:
    """The first differences between two campaign dumps, for a readable failure."""
    out = []
    for table in sorted(set(a) | set(b)):
        rows_a, rows_b = a.get(table, []), b.get(table, [])
        if len(rows_a) != len(rows_b):
            out.append(f"{table}: {len(rows_a)} rows vs {len(rows_b)}")
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False)):
            for key in sorted(set(ra) | set(rb)):
                if ra.get(key) != rb.get(key):
                    out.append(
                        f"{table}[{i}].{key}: {str(ra.get(key))[:300]!r} != {str(rb.get(key))[:300]!r}"
                    )
    return "\n".join(out[:limit]) or "no difference"


@pytest.fixture(scope="session")
def recorded_pendulum(tmp_path_factory):
    """One FAST pendulum campaign (seed 1), run once for every test that only reads its record.

    Returns (database path, database URL, summary). A test that changes the
    record copies the file first.
    """
    from agent import CampaignConfig, start_campaign

    path = tmp_path_factory.mktemp("recorded") / "pendulum.db"
    url = f"sqlite:///{path}"
    summary = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=1, **FAST), url
    )
    return path, url, summary
