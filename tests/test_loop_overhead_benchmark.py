"""`benchmarks/loop_overhead.py` and `benchmarks/cli_startup.py` run and print their tables."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_loop_overhead_accounts_for_the_whole_wall_time(tmp_path):
    out = tmp_path / "overhead.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "loop_overhead.py"),
            "--tiny",
            "--campaigns",
            "formula",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "| **loop overhead** (wall - experiments, planner, SR, fitting) |"
        in done.stdout
    )
    assert "| provenance writes |" in done.stdout
    (row,) = json.loads(out.read_text())
    assert row["campaign"] == "formula"
    seconds = row["seconds"]
    # Exclusive times: the parts add up to the wall time (the unaccounted rest
    # is the benchmark's own few statements around the campaign).
    assert sum(seconds.values()) == pytest.approx(row["wall_s"], rel=0.02)
    assert seconds["provenance writes"] > 0
    assert seconds["checkpoints"] > 0
    assert seconds["fitting"] > 0
    # The instrumentation sees what the record says.
    assert seconds["experiments"] == pytest.approx(
        row["recorded"]["experiments"], rel=0.5, abs=0.05
    )
    first = row["per_iteration"][0]
    assert first["write_calls"] >= first["rows_written"] > 0
    assert first["checkpoint_writes"] >= 7  # one per node at least
    assert row["measurements"] > 0


@pytest.mark.slow  # starts the CLI many times
def test_cli_startup_prints_the_medians(tmp_path):
    out = tmp_path / "startup.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cli_startup.py"),
            "--repeats",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| `python run.py --help` |" in done.stdout
    rows = json.loads(out.read_text())
    assert rows[0]["command"] == "python run.py --help"
    assert all(r["median_s"] > 0 for r in rows)
