"""`benchmarks/feynman_table.py` counts recoveries per engine, split and noise level."""

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "feynman_table.py"


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("feynman_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(pid, engine, split, recovered, seconds, measurements, noise=0.0):
    return {
        "id": pid,
        "engine": engine,
        "split": split,
        "noise": noise,
        "recovered": recovered,
        "seconds": seconds,
        "measurements": measurements,
    }


ROWS = [
    _row("e1", "lawloop", "easy", True, 10.0, 1000),
    _row("e1", "operon", "easy", True, 30.0, 10000),
    _row("e2", "lawloop", "easy", True, 20.0, 3000),
    _row("e2", "operon", "easy", False, 60.0, 10000),
    _row("e3", "lawloop", "easy", False, 300.0, 10000),
    _row("e3", "operon", "easy", False, 60.0, 10000),
    _row("m1", "lawloop", "medium", True, 40.0, 2000),
    _row("m1", "operon", "medium", True, 50.0, 10000),
    _row("x1", "lawloop", None, False, 300.0, 9000),
    _row("x1", "operon", None, False, 60.0, 10000),
    _row("e1", "lawloop", "easy", False, 300.0, 10000, noise=0.1),
]


def _lines_after(text, heading):
    lines = text.splitlines()
    return lines[lines.index(heading) :]


def test_summary_counts_and_percentages_per_split(table):
    text = table.markdown_tables(ROWS)
    quiet = _lines_after(text, "## Noise 0")
    assert quiet[2] == (
        "| engine | easy | medium | hard | all | median s to recovery "
        "| median measurements to recovery |"
    )
    # lawloop: easy 2/3, medium 1/1, no hard problems, 3/5 overall; medians
    # over the recovered problems only (10, 20, 40 s; 1000, 3000, 2000).
    assert (
        quiet[4] == "| lawloop | 2/3 (67%) | 1/1 (100%) | - | 3/5 (60%) | 20.0 | 2000 |"
    )
    assert (
        quiet[5] == "| operon | 1/3 (33%) | 1/1 (100%) | - | 2/5 (40%) | 40.0 | 10000 |"
    )


def test_per_problem_table_has_one_column_per_engine(table):
    quiet = _lines_after(table.markdown_tables(ROWS), "## Noise 0")
    start = quiet.index("| id | split | lawloop | operon |")
    assert quiet[start + 2] == "| e1 | easy | yes 10.0 s | yes 30.0 s |"
    assert quiet[start + 4] == "| e3 | easy | no 300.0 s | no 60.0 s |"
    assert quiet[start + 6] == "| x1 | - | no 300.0 s | no 60.0 s |"


def test_each_noise_level_gets_its_own_section(table):
    text = table.markdown_tables(ROWS)
    assert text.index("## Noise 0\n") < text.index("## Noise 0.1\n")
    noisy = _lines_after(text, "## Noise 0.1")
    assert noisy[4] == "| lawloop | 0/1 (0%) | - | - | 0/1 (0%) | - | - |"


def test_a_repeated_row_counts_once_the_last_wins(table):
    again = [*ROWS, _row("e3", "lawloop", "easy", True, 100.0, 5000)]
    quiet = _lines_after(table.markdown_tables(again), "## Noise 0")
    assert quiet[4].startswith("| lawloop | 3/3 (100%) | 1/1 (100%) | - | 4/5 (80%) |")


def test_overshoot_of_the_time_limit_shows_its_median_and_max_over_all_rows(table):
    timed = [
        dict(_row("e1", "lawloop", "easy", True, 10.0, 1000), overshoot_s=-50.0),
        dict(_row("e2", "lawloop", "easy", False, 61.5, 900), overshoot_s=1.5),
        dict(_row("e3", "lawloop", "easy", False, 66.0, 900), overshoot_s=6.0),
        _row("e1", "operon", "easy", True, 30.0, 10000),  # an older row: none
    ]
    quiet = _lines_after(table.markdown_tables(timed), "## Noise 0")
    assert quiet[2].endswith("| median overshoot s | max overshoot s |")
    assert quiet[4].endswith("| 10.0 | 1000 | +1.5 | +6.0 |")
    assert quiet[5].endswith("| 30.0 | 10000 | - | - |")


def test_script_reads_several_files(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(ROWS[:6]))
    second.write_text(json.dumps(ROWS[6:]))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(first), str(second)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        "| lawloop | 2/3 (67%) | 1/1 (100%) | - | 3/5 (60%) | 20.0 | 2000 |"
        in out.stdout
    )
    assert "## Noise 0.1" in out.stdout


def test_script_rejects_a_file_that_is_not_a_row_list(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": []}))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "JSON list of rows" in out.stderr


def test_endings_count_wrong_acceptances_and_consistent_ones(table):
    def ended(pid, recovered, stop_reason, status="finished"):
        return dict(
            _row(pid, "lawloop", "easy", recovered, 60.0, 500, noise=0.01),
            campaign_id=f"c-{pid}",
            stop_reason=stop_reason,
            status=status,
        )

    rows = [
        ended("a", True, "accepted"),
        ended("b", False, "accepted"),  # an accepted law that is not the truth
        ended("c", True, "consistent"),
        ended("d", False, "consistent"),
        ended("e", False, "time limit (60 s) reached"),
        ended("f", False, None, status="killed"),
    ]
    text = table.markdown_tables(rows)
    assert (
        "| accepted | accepted, not the truth | accepted, stated precision broken "
        "| consistent | stopped | failed |" in text
    )
    assert "| 2 | 1 (50%) | - | 2 (1 the truth) | 1 | 1 |" in text
    rows[0]["claim_kept"], rows[1]["claim_kept"] = True, False
    assert (
        "| 2 | 1 (50%) | 1 of 2 | 2 (1 the truth) | 1 | 1 |"
        in table.markdown_tables(rows)
    )
    assert "| b | easy | no 60.0 s (accepted) |" in text
    assert "| f | easy | no 60.0 s (failed) |" in text


def test_consistent_endings_are_listed_with_the_rivals_left(table):
    rows = [
        dict(
            _row("c", "lawloop", "easy", True, 60.0, 900, noise=0.01),
            campaign_id="c-c",
            stop_reason="consistent",
            expression="m*v**2/2",
            rivals=["m*v**2*(0.5 + 0.01*v)", "a", "b", "c"],
        ),
        dict(
            _row("d", "lawloop", "easy", False, 60.0, 900, noise=0.01),
            campaign_id="c-d",
            stop_reason="consistent",
            expression="m*v",
            rivals=[],
        ),
    ]
    text = table.markdown_tables(rows)
    assert (
        "- c: `m*v**2/2` (the truth); 4 rival(s) left: `m*v**2*(0.5 + 0.01*v)`, `a`, `b` and 1 more"
        in text
    )
    assert (
        "- d: `m*v` (not the truth); no rival left; the attack's precision fell short"
        in text
    )
