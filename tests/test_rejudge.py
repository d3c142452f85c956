"""`benchmarks/rejudge.py` judges bench rows again by the interval rule, without a campaign."""

import json
import subprocess
import sys

import pytest

from tests.agent.test_bench import U0, _var
from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "rejudge.py"

PLANCK = {
    "description": "test problem written for lawloop's own tests",
    "problems": [
        {
            "id": "planck",
            "formula": "w ** 3 / (exp(w / T) - 1)",
            "output": "I",
            "output_units": dict(U0),
            "variables": [
                _var("w", 0.5, 5.0, {}),
                _var("T", 1.0, 3.0, {}),
            ],
            "split": "easy",
            "units_constants": [],
            "notes": None,
        }
    ],
}


def _row(law, expression, constants, recovered=False):
    return {
        "id": "planck",
        "engine": "lawloop",
        "split": "easy",
        "noise": 0.01,
        "recovered": recovered,
        "expression": expression,
        "law": law,
        "constants": constants,
        "stop_reason": "consistent",
        "rivals": [],
    }


@pytest.mark.slow  # imports the agent in a subprocess
def test_rows_are_judged_again_by_the_form_and_the_stated_intervals(tmp_path):
    problems = tmp_path / "planck.json"
    problems.write_text(json.dumps(PLANCK))
    law = "c0*w**3/(exp(c1*w/T) - 1)"
    rows = [
        # 0.6 % off in the exponent: no snapping mends it; the intervals hold the truth.
        _row(
            law,
            "1.006*w**3/(exp(0.994*w/T) - 1)",
            {"c0": [1.006, 0.99, 1.02], "c1": [0.994, 0.98, 1.01]},
        ),
        # The same law with intervals that exclude the truth.
        _row(
            law,
            "1.006*w**3/(exp(0.994*w/T) - 1)",
            {"c0": [1.006, 1.003, 1.009], "c1": [0.994, 0.98, 1.01]},
        ),
        # Wien's form: wrong, and judged so even if it was counted before.
        _row(
            "c0*w**3*exp(-c1*w/T)",
            "w**3*exp(-w/T)",
            {"c0": [1, 0, 2], "c1": [1, 0, 2]},
            recovered=True,
        ),
    ]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    out = tmp_path / "judged.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(path),
            "--problems",
            str(problems),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    judged = json.loads(out.read_text())
    assert [r["recovered"] for r in judged] == [True, False, False]
    assert judged[0]["method"] == "form+intervals"
    assert "c0 = 1 not in [1.003, 1.009]" in judged[1]["detail"]
    assert "planck: recovered False -> True" in done.stdout
    assert "planck: recovered True -> False" in done.stdout
    assert "2 verdicts changed" in done.stdout


def test_a_stated_precision_is_checked_against_the_truth_on_its_own_scale():
    from lawloop.agent.audit._recovery import claim_check

    verdict = {"max_abs_error": 0.02, "max_rel_error": 0.5}

    def best(reference):
        attack = {
            "verdict": "holds", "precision": 1e-3, "largest": 5e-4, "p_value": 0.5,
            "terms": 3, "dof": 90, "scale": 1e-4, "n": 100, "confidence": 0.95,
            "alpha": 0.01, "goal": 1e-3, "material": 1e-3, "ranges": {"x": [0, 1]},
            "worst": {"x": 1.0}, "reference": reference,
        }  # fmt: skip
        return {"attack": attack}

    # Relative: a 50 % error somewhere breaks a claim of 1e-3.
    relative = claim_check(best(None), verdict)
    assert relative["claim_kept"] is False
    assert relative["claim_error"] == 0.5
    # In units of an RMS of 100: 0.02 / 100 = 2e-4 keeps a claim of 1e-3.
    scaled = claim_check(best(100.0), verdict)
    assert scaled["claim_kept"] is True
    assert scaled["claim_error"] == 2e-4
    assert claim_check(None, verdict)["claim_kept"] is None
    assert claim_check({"attack": None}, verdict)["claim_kept"] is None
