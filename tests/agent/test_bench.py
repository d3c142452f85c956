"""Formula campaigns recover laws from a problem file, judged by the equivalence rule."""

import json

import pytest

from lawloop import storage
from lawloop.agent import bench_feynman
from lawloop.agent.errors import ConfigError

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
        {
            # The speed of light is inlined and not declared to the agent: only
            # dimensional analysis with the constants of nature finds v/c.
            "id": "relativistic",
            "formula": "m0 / sqrt(1 - v ** 2 / 299792458.0 ** 2)",
            "output": "m",
            "output_units": {**U0, "kg": 1},
            "variables": [
                _var("m0", 0.1, 10.0, {"kg": 1}),
                _var("v", 1e6, 2.5e8, {"m": 1, "s": -1}),
            ],
            "split": "easy",
            "units_constants": [],
            "notes": None,
        },
    ],
}


@pytest.fixture
def problems_file(tmp_path):
    path = tmp_path / "problems.json"
    path.write_text(json.dumps(PROBLEMS))
    return path


@pytest.mark.slow  # three formula campaigns
def test_formula_campaigns_recover_their_laws(problems_file, tmp_path):
    rows = bench_feynman(
        problems_file,
        noise=0.0,
        time_limit=120,
        max_measurements=2000,
        db_url=f"sqlite:///{tmp_path / 'bench.db'}",
    )
    assert [r["id"] for r in rows] == ["kinetic", "gravity", "relativistic"]
    for row in rows:
        assert row["engine"] == "lawloop"
        assert row["split"] == "easy"
        assert row["recovered"], row
        assert row["test_r2"] > 0.999999
        assert row["measurements"] <= 2000
        assert row["overshoot_s"] == round(row["seconds"] - 120, 2)
        assert row["overshoot_s"] < 0  # recovered well inside the limit
    # The record says how the relativistic law was found: in the group v/c.
    store = storage.open_store(f"sqlite:///{tmp_path / 'bench.db'}")
    calls = store.planner_calls_for(rows[2]["campaign_id"])
    reductions = json.loads(calls[0].prompt)["reductions"]
    assert reductions[0]["groups"] == ["v/const_c"]
    assert reductions[0]["constants"]["const_c"]["value"] == 299792458.0


def test_unknown_problem_id_is_a_config_error(problems_file, tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        bench_feynman(
            problems_file, ids=["nope"], db_url=f"sqlite:///{tmp_path / 'b.db'}"
        )


PRODUCT = {
    "problems": [
        {
            "id": "product",
            "formula": "a * b",
            "output": "y",
            "output_units": {**U0, "m": 1, "s": 1},
            "variables": [
                _var("a", 0.5, 5.0, {"m": 1}, sampling="uniform"),
                _var("b", 0.5, 5.0, {"s": 1}, sampling="uniform"),
            ],
            "split": "easy",
            "units_constants": [],
            "notes": None,
        },
    ],
}

ROW_FIELDS = {
    "id",
    "engine",
    "split",
    "noise",
    "recovered",
    "expression",
    "seconds",
    "measurements",
    "points_used",
    "test_r2",
    "method",
    "detail",
    "campaign_id",
    "status",
    "stop_reason",
    "overshoot_s",
}


@pytest.fixture
def product_file(tmp_path):
    path = tmp_path / "product.json"
    path.write_text(json.dumps(PRODUCT))
    return path


@pytest.mark.slow  # an SR search: 5-15 s
def test_operon_baseline_recovers_a_product_from_random_inputs(product_file, tmp_path):
    (row,) = bench_feynman(
        product_file,
        engines=["operon"],
        noise=0.0,
        time_limit=1,
        max_measurements=200,
        db_url=f"sqlite:///{tmp_path / 'b.db'}",
    )
    assert set(row) == ROW_FIELDS
    assert row["engine"] == "operon"
    assert row["split"] == "easy"
    assert row["noise"] == 0.0
    assert row["recovered"], row
    assert row["test_r2"] > 0.999999
    assert row["measurements"] == row["points_used"] == 200
    assert row["status"] == "finished"
    assert row["overshoot_s"] == round(row["seconds"] - 1, 2)
    assert row["campaign_id"] is None
    assert row["stop_reason"] is None


def test_a_failing_baseline_is_a_row_not_a_crash(product_file, tmp_path):
    # One measurement is too few for any search: the engine raises SRError.
    (row,) = bench_feynman(
        product_file,
        engines=["operon"],
        max_measurements=1,
        db_url=f"sqlite:///{tmp_path / 'b.db'}",
    )
    assert row["recovered"] is False
    assert row["status"] == "failed"
    assert row["expression"] is None
    assert "SRError" in row["detail"]
    assert "2 samples" in row["detail"]


def test_gplearn_gets_at_most_its_point_cap(product_file, tmp_path, monkeypatch):
    monkeypatch.setattr("lawloop.agent.audit._bench_baseline._GPLEARN_MAX_POINTS", 50)
    (row,) = bench_feynman(
        product_file,
        engines=["gplearn"],
        max_measurements=200,
        db_url=f"sqlite:///{tmp_path / 'b.db'}",
    )
    assert row["engine"] == "gplearn"
    assert row["status"] == "finished", row["detail"]
    assert row["measurements"] == 200
    assert row["points_used"] == 50


def test_unknown_engine_is_a_config_error_naming_the_known_ones(product_file, tmp_path):
    with pytest.raises(
        ConfigError, match=r"Did you mean `operon`.*'lawloop', 'operon', 'gplearn'"
    ):
        bench_feynman(
            product_file,
            engines=["lawloop", "operan"],
            db_url=f"sqlite:///{tmp_path / 'b.db'}",
        )
