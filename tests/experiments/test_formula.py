import json
import re

import numpy as np
import pytest

from lawloop.experiments import (
    BackendRegistrationError,
    FormulaError,
    InvalidDesignError,
    RunCode,
    check_backend,
    compile_formula,
    make,
)

UNITLESS = {"m": 0, "s": 0, "kg": 0, "T": 0, "V": 0}
PROBLEMS = {
    "problems": [
        {
            "id": "toy.1",
            "formula": "q * Ef / (n * sqrt(1 - 0.5 ** 2)) + 0 * T",
            "output": "F",
            "output_units": {"m": 1, "s": -2, "kg": 1, "T": 0, "V": 0},
            "units_constants": [
                {
                    "literal": "299792458.0",
                    "name": "c",
                    "description": "speed of light",
                    "units": {"m": 1, "s": -1, "kg": 0, "T": 0, "V": 0},
                },
            ],
            "variables": [
                {
                    "name": "q",
                    "low": 1e-11,
                    "high": 1e-9,
                    "sampling": "log-uniform",
                    "sign": "both",
                    "integer": False,
                    "units": {"m": 2, "s": -2, "kg": 1, "T": 0, "V": -1},
                },
                {
                    "name": "Ef",
                    "low": 1.0,
                    "high": 2.0,
                    "sampling": "uniform",
                    "sign": "negative",
                    "integer": False,
                    "units": {"m": -1, "s": 0, "kg": 0, "T": 0, "V": 1},
                },
                {
                    "name": "n",
                    "low": 1.0,
                    "high": 99.0,
                    "sampling": "uniform",
                    "sign": "positive",
                    "integer": True,
                    "units": UNITLESS,
                },
                {
                    "name": "T",
                    "low": 100.0,
                    "high": 1000.0,
                    "sampling": "uniform",
                    "sign": "positive",
                    "integer": False,
                    "units": {"m": 0, "s": 0, "kg": 0, "T": 1, "V": 0},
                },
            ],
        },
        {
            "id": "toy.log",
            "formula": "log(x - 1)",
            "output": "y",
            "output_units": UNITLESS,
            "units_constants": [],
            "variables": [
                {
                    "name": "x",
                    "low": 0.5,
                    "high": 2.0,
                    "sampling": "uniform",
                    "sign": "positive",
                    "integer": False,
                    "units": UNITLESS,
                }
            ],
        },
    ]
}


@pytest.fixture
def problem_file(tmp_path):
    path = tmp_path / "problems.json"
    path.write_text(json.dumps(PROBLEMS))
    return str(path)


def _make(problem_file, problem_id="toy.1", **kwargs):
    return make(
        "core/Formula-v0",
        options={"problem_file": problem_file, "problem_id": problem_id},
        device="cpu",
        **kwargs,
    )


def test_formula_backend_declares_names_units_and_ranges(problem_file):
    lab = _make(problem_file)
    q, Ef, n, T = lab.inputs
    assert [v.name for v in lab.inputs] == ["q", "Ef", "n", "T"]
    assert q.unit == "kg*m**2/(s**2*V)"
    assert q.sampling == "log-uniform"
    assert q.sign == "both"
    assert Ef.unit == "V/m"
    assert Ef.sign == "negative"
    assert n.unit == ""
    assert n.integer
    assert T.unit == "K"  # the file's `T` is kelvin
    assert lab.observables[0].name == "F"
    assert lab.observables[0].unit == "kg*m/s**2"


def test_formula_backend_is_blinded(problem_file):
    lab = _make(problem_file)
    for hidden in ("ground_truth", "constants", "problem_id", "_formula"):
        assert not hasattr(lab, hidden)
    assert lab.options == {}
    result = lab.run_batch(lab.sample_inputs(np.random.default_rng(0), 3), seed=0)
    assert "toy.1" not in repr(result.info)
    truth = _make(problem_file, blind=False)
    assert truth.ground_truth() == {"F": PROBLEMS["problems"][0]["formula"]}
    assert truth.constants[0].unit == "m/s"
    assert truth.constants[0].value == 299792458.0


def test_formula_values_and_sampling_follow_the_file(problem_file):
    lab = _make(problem_file)
    x = lab.sample_inputs(np.random.default_rng(0), 4000)
    assert {np.sign(v) for v in x["q"]} == {-1.0, 1.0}
    assert np.all(x["Ef"] < 0)
    assert np.array_equal(x["n"], np.rint(x["n"]))
    decades = np.log10(np.abs(x["q"]))
    assert decades.min() < -10.8
    assert decades.max() > -9.2
    assert np.mean(decades < -10) == pytest.approx(
        0.5, abs=0.05
    )  # log-uniform, not uniform
    y = lab.run_batch(x, seed=0).columns["F"]
    np.testing.assert_allclose(
        y, x["q"] * x["Ef"] / (x["n"] * np.sqrt(0.75)), rtol=1e-12
    )


def test_formula_rejects_out_of_range_and_non_integer_inputs(problem_file):
    lab = _make(problem_file)
    good = {"q": [1e-10], "Ef": [-1.5], "n": [3.0], "T": [300.0]}
    lab.run_batch(good, seed=0)
    with pytest.raises(InvalidDesignError, match=re.escape("`n` = 3.5")):
        lab.run_batch({**good, "n": [3.5]}, seed=0)
    with pytest.raises(InvalidDesignError, match=re.escape("`Ef` = 1.5")):
        lab.run_batch({**good, "Ef": [1.5]}, seed=0)


def test_formula_nan_is_a_diverged_status(problem_file):
    lab = _make(problem_file, "toy.log")
    result = lab.run_batch({"x": [0.5, 2.0]}, seed=0)
    assert result.status.code == RunCode.SIMULATION_DIVERGED


def test_formula_option_errors(problem_file, tmp_path):
    with pytest.raises(InvalidDesignError, match="needs option `problem_id`"):
        make("core/Formula-v0", options={"problem_file": problem_file})
    with pytest.raises(BackendRegistrationError, match="does not exist"):
        _make(str(tmp_path / "missing.json"))
    with pytest.raises(
        BackendRegistrationError, match=re.escape("Did you mean `toy.1`?")
    ):
        _make(problem_file, "toy.2")


def test_checker_passes_on_the_formula_backend(problem_file):
    report = check_backend(_make(problem_file), large_batch=10_000)
    assert report.ok


def test_every_benchmark_problem_builds_and_runs(feynman_file):
    problems = json.loads(feynman_file.read_text())["problems"]
    for problem in problems:
        lab = make(
            "core/Formula-v0",
            options={"problem_file": str(feynman_file), "problem_id": problem["id"]},
            device="cpu",
            blind=False,
        )
        result = lab.run_batch(lab.sample_inputs(np.random.default_rng(0), 200), seed=0)
        assert result.status.ok, (problem["id"], result.status)
        assert lab.ground_truth() == {problem["output"]: problem["formula"]}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.real",
        "(lambda: 1)()",
        "x if x else 1",
        "[x]",
        "x[0]",
        "'a'",
        "sqrt(x, x)",
        "sqrt(x=1)",
        "os",
        "x < 1",
        "x @ x",
        "f(x)",
        "1j",
    ],
    ids=str,
)
def test_formula_eval_rejects_everything_outside_the_whitelist(text):
    with pytest.raises(FormulaError):
        compile_formula(text, ["x"])


def test_formula_eval_computes_with_torch():
    torch = pytest.importorskip("torch")
    f = compile_formula(
        "2*pi*sqrt(L/g) + e**0 - abs(-1) + arcsin(1) - asin(1) + -(+x)", ["L", "g", "x"]
    )
    L = torch.tensor([1.0, 4.0], dtype=torch.float64)
    g = torch.tensor([9.81, 9.81], dtype=torch.float64)
    out = f({"L": L, "g": g, "x": torch.zeros(2, dtype=torch.float64)})
    np.testing.assert_allclose(
        out.numpy(), 2 * np.pi * np.sqrt(L.numpy() / 9.81), rtol=1e-15
    )
    const = compile_formula("3", ["x"])({"x": torch.ones(4, dtype=torch.float64)})
    assert const.shape == (4,)
