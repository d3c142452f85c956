"""Formula campaigns recover laws from a problem file, judged by the equivalence rule."""

import json

import pytest

from agent import bench_feynman
from agent.errors import ConfigError

U0 = {"m": 0, "s": 0, "kg": 0, "T": 0, "V": 0}


def _var(
    name, low, high, units, sampling="log-uniform", sign="positive", integer=False
):
    return {
        "name": name,
        "low": low,
        "high": high,
        "sampling": sampling,
        "sign": sign,
        "integer": integer,
        "units": {**U0, **units},
    }


PROBLEMS = {
    "description": "test problems written for lawloop's own tests",
    "problems": [
        {
            "id": "kinetic",
            "formula": "m * v ** 2 / 2",
            "output": "E_k",
            "output_units": {**U0, "kg": 1, "m": 2, "s": -2},
            "variables": [
                _var("m", 0.1, 10.0, {"kg": 1}),
                _var("v", 0.1, 10.0, {"m": 1, "s": -1}, sign="both"),
            ],
            "split": "easy",
            "units_constants": [],
            "notes": None,
        },
        {
            "id": "gravity",
            "formula": "6.6743e-11 * m1 * m2 / r ** 2",
            "output": "F",
            "output_units": {**U0, "kg": 1, "m": 1, "s": -2},
            "variables": [
                _var("m1", 1.0, 100.0, {"kg": 1}),
                _var("m2", 1.0, 100.0, {"kg": 1}),
                _var("r", 0.1, 10.0, {"m": 1}),
            ],
            "split": "easy",
            "units_constants": [
                {
                    "literal": "6.6743e-11",
                    "name": "G",
                    "description": "gravitational constant",
                    "units": {**U0, "m": 3, "s": -2, "kg": -1},
                }
            ],
            "notes": None,
        },
    ],
}


@pytest.fixture
def problems_file(tmp_path):
    path = tmp_path / "problems.json"
    path.write_text(json.dumps(PROBLEMS))
    return path


def test_formula_campaigns_recover_their_laws(problems_file, tmp_path):
    rows = bench_feynman(
        problems_file,
        noise=0.0,
        time_limit=120,
        max_measurements=2000,
        db_url=f"sqlite:///{tmp_path / 'bench.db'}",
    )
    assert [r["id"] for r in rows] == ["kinetic", "gravity"]
    for row in rows:
        assert row["recovered"], row
        assert row["test_r2"] > 0.999999
        assert row["measurements"] <= 2000


def test_unknown_problem_id_is_a_config_error(problems_file, tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        bench_feynman(
            problems_file, ids=["nope"], db_url=f"sqlite:///{tmp_path / 'b.db'}"
        )
