"""`python run.py backends check`: the conformance checker on the command line.

The checks run in this process, through `main()` (`run_cli`), which is the
same program without the seconds of start-up; the two tests of the report's
layout run again as `python run.py`, in the slow set, where stdout and
stderr are a real process's.
"""

import json
import os

import pytest

from tests.conftest import ROOT, run_cli, run_cli_process

# The helper backends are importable as `lawloop_test_backends:Class` from here.
TEST_BACKENDS = ROOT / "tests" / "experiments"
FEYNMAN = ROOT / "benchmarks" / "problems" / "feynman_dev.json"


def check_in_subprocess(*args, check_code=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TEST_BACKENDS), env.get("PYTHONPATH")) if p
    )
    return run_cli_process("backends", "check", *args, env=env, check_code=check_code)


@pytest.fixture(autouse=True)
def backends_on_the_path(monkeypatch):
    """Puts `lawloop_test_backends` on `sys.path` for the in-process checks."""
    monkeypatch.syspath_prepend(str(TEST_BACKENDS))


def check_in_process(*args, check_code=None):
    return run_cli("backends", "check", *args, check_code=check_code)


# In process (quick), then as `python run.py` (slow).
IN_AND_OUT_OF_PROCESS = pytest.mark.parametrize(
    "check",
    [check_in_process, pytest.param(check_in_subprocess, marks=pytest.mark.slow)],
    ids=["in-process", "process"],
)


def flat(text):
    """Undo rich's line wrapping, so that messages can be searched."""
    return " ".join(text.split())


@IN_AND_OUT_OF_PROCESS
def test_check_of_a_correct_backend_prints_each_check_and_exits_0(check):
    out = check("lawloop_test_backends:Square", "--large-batch", "500", check_code=0)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("check lawloop_test_backends:Square: ")
    assert lines[0].endswith(" passed, 0 skipped, 0 violations")
    for name in ("declarations", "units", "reproducible", "out_of_range"):
        assert f"  pass {name}" in lines
    assert "  pass batch_of_500" in lines
    assert lines[-1] == "ok"
    assert out.stderr == ""


def test_check_of_formula_with_options_gives_an_ok_json_report():
    out = check_in_process(
        "core/Formula-v0",
        "--option",
        f"problem_file={FEYNMAN}",
        "--option",
        "problem_id=I.12.1",
        "--large-batch",
        "1000",
        "--seed",
        "3",
        "--json",
        check_code=0,
    )
    doc = json.loads(out.stdout)
    assert doc["backend"] == "core/Formula-v0"
    assert doc["ok"] is True
    assert doc["violations"] == []
    assert {"declarations", "reproducible", "batch_of_1000"} <= set(doc["passed"])
    assert set(doc) == {"backend", "ok", "passed", "skipped", "violations"}


@pytest.mark.parametrize(
    ("backend", "violation"),
    [
        (
            "WrongShape",
            "columns: column `y` is ndarray float64 (11,), expected a float64 NumPy array of shape (10,)",
        ),
        (
            "IgnoresRange",
            "out_of_range: `x` = -0.5 outside its range (`x` in [0.5, 2]) did not raise `InvalidDesignError`",
        ),
        ("Unseeded", "reproducible: `run_batch(x, seed=0)` twice gave different"),
        ("CrashesOnInit", "make: raised RuntimeError: no calibration file"),
    ],
    ids=["wrong-shape", "ignores-range", "unseeded", "crashing-constructor"],
)
def test_check_of_a_broken_backend_exits_1_naming_the_violation(backend, violation):
    out = check_in_process(
        f"lawloop_test_backends:{backend}",
        "--large-batch",
        "10",
        "--json",
        check_code=1,
    )
    doc = json.loads(out.stdout)
    assert doc["ok"] is False
    assert doc["backend"] == f"lawloop_test_backends:{backend}"
    assert any(v.startswith(violation) for v in doc["violations"]), doc["violations"]
    assert "breaks the backend contract" in flat(out.stderr)


@IN_AND_OUT_OF_PROCESS
def test_human_report_marks_the_failing_check(check):
    out = check(
        "lawloop_test_backends:IgnoresRange", "--large-batch", "10", check_code=1
    )
    assert "  FAIL out_of_range: `x` = -0.5 outside its range" in out.stdout
    assert "  pass columns" in out.stdout.splitlines()
    assert out.stdout.splitlines()[-1] == "violations found"
    assert "1 violation(s)" in flat(out.stderr)


def test_check_of_an_unknown_id_suggests_the_closest():
    out = check_in_process("core/Pendulm-v0", check_code=1)
    assert out.stdout == ""
    message = flat(out.stderr)
    assert "Backend `core/Pendulm-v0` is not registered." in message
    assert "Did you mean `core/Pendulum-v0`?" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["core/Formula-v0"], "pass `--option problem_file=VALUE`"),
        (["lawloop_test_backends:Square", "--option", "x=1"], "takes no options"),
        (["lawloop_test_backends:Nope"], "has no attribute `Nope`"),
        (["lawloop_test_backends:Square", "--large-batch", "0"], "--large-batch"),
        (["lawloop_test_backends:Square", "--seed", "-1"], "--seed"),
    ],
    ids=["missing-option", "unknown-option", "unknown-class", "bad-batch", "bad-seed"],
)
def test_check_with_bad_arguments_is_a_user_error(args, message):
    out = check_in_process(*args, check_code=1)
    assert message in flat(out.stderr)
