"""The benchmark scripts run end to end on tiny sizes and print what they promise."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

THROUGHPUT = ROOT / "benchmarks" / "executor_throughput.py"
FEYNMAN = ROOT / "benchmarks" / "problems" / "feynman_dev.json"


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.mark.slow  # imports torch in a subprocess
def test_executor_throughput_prints_numpy_and_torch_cpu_rows(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [
            sys.executable,
            str(THROUGHPUT),
            "--sizes",
            "100",
            "--steps",
            "50",
            "--repeats",
            "1",
            "--batches",
            "50",
            "--exec-repeats",
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
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CPU: ")
    table = {
        (cells[0], cells[1], cells[2]): cells
        for cells in map(_cells, lines)
        if len(cells) == 9 and cells[3] == "100"
    }
    for key in [
        ("numpy", "cpu", "1"),
        ("torch _rk4", "cpu", "1"),
        ("torch _rk4_block", "cpu", "1"),
    ]:
        assert key in table, done.stdout
        assert table[key][4] == "50"
        assert float(table[key][5].rstrip("kMG")) > 0  # best steps/s
    document = json.loads(out.read_text())
    assert document["machine"]["torch"]
    timed = [r for r in document["rk4"] if "note" not in r]
    assert {r["implementation"] for r in timed} >= {
        "numpy",
        "torch _rk4",
        "torch _rk4_block",
    }
    for row in timed:
        assert row["best_steps_per_s"] > 0
        assert row["median_steps_per_s"] > 0
        assert row["diff_vs_numpy"] < 1e-12, (
            row
        )  # every path integrates the same pendulum
    pendulum = [
        r
        for r in document["executor"]
        if r["backend"] == "core/Pendulum-v0" and r["device"] == "cpu"
    ]
    assert [(r["points"], r["status"]) for r in pendulum] == [(50, "OK")]
    assert pendulum[0]["best_per_s"] > 0
    formula = [
        r for r in document["executor"] if r["backend"].startswith("core/Formula-v0")
    ]
    assert formula[0]["status"] == "OK"  # the problem file is in the repository


@pytest.mark.slow  # campaigns in a subprocess
def test_design_efficiency_runs_both_designs_and_reports_the_ratio(tmp_path):
    out = tmp_path / "design.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "design_efficiency.py"),
            "--backends",
            "lawloop_test_backends:Square",
            "--ids",
            "--budget",
            "200",
            "--time-limit",
            "30",
            "--initial-points",
            "16",
            "--batch-points",
            "8",
            "--replicates",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PYTHONPATH": str(ROOT / "tests" / "experiments"),
            "PATH": "/usr/bin:/bin",
        },
        check=True,
    )
    (row,) = json.loads(out.read_text())
    for design in ("active", "random"):
        assert row[design]["recovered"], row
        assert 0 < row[design]["measurements"] <= 200
    ratio = row["random"]["measurements"] / row["active"]["measurements"]
    table = [s for s in done.stdout.splitlines() if s.startswith("| lawloop_test")]
    assert _cells(table[0])[-1] == f"{ratio:.2f}"
    assert "median random/active measurements over the 1 problems both" in done.stdout
