"""`python run.py backends check`: the conformance checker on the command line.

Two tests run `python run.py` as a user does; the others call the typer app
in-process, which is the same code without the seconds of start-up.
"""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT

# The helper backends are importable as `lawloop_test_backends:Class` from here.
TEST_BACKENDS = ROOT / "tests" / "experiments"
FEYNMAN = ROOT / "benchmarks" / "problems" / "feynman_dev.json"


def check_in_subprocess(*args, check_code=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TEST_BACKENDS), env.get("PYTHONPATH")) if p
    )
    out = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "backends", "check", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    if check_code is not None:
        assert out.returncode == check_code, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(autouse=True)
def backends_on_the_path(monkeypatch):
    """Puts `lawloop_test_backends` on `sys.path` for the in-process checks."""
    monkeypatch.syspath_prepend(str(TEST_BACKENDS))


def check_in_process(*args, check_code=None):
    from lawloop import cli as run

    out = CliRunner().invoke(run.app, ["backends", "check", *args])
    if out.exception is not None and not isinstance(out.exception, SystemExit):
        raise out.exception
    result = SimpleNamespace(
        returncode=out.exit_code, stdout=out.stdout, stderr=out.stderr
    )
    if check_code is not None:
        assert result.returncode == check_code, out.stdout[-3000:] + out.stderr[-3000:]
    return result


def flat(text):
    """Undo rich's line wrapping, so that messages can be searched."""
    return " ".join(text.split())


def test_check_of_a_correct_backend_prints_each_check_and_exits_0():
    out = check_in_subprocess(
        "lawloop_test_backends:Square", "--large-batch", "500", check_code=0
    )
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


def test_human_report_marks_the_failing_check():
    out = check_in_subprocess(
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
