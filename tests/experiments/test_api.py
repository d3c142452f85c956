import re

import numpy as np
import pytest

from lawloop.experiments import (
    BatchResult,
    InvalidDesignError,
    RunCode,
    RunStatus,
    Variable,
    make,
)
from lawloop.experiments._api import REFERENCE_SEED, REFERENCE_SIZE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "1x", "unit": "m"}, "not a Python identifier"),
        ({"name": "x", "unit": "m", "low": 2.0, "high": 1.0}, "low` <= `high"),
        (
            {
                "name": "x",
                "unit": "m",
                "low": 0.0,
                "high": 1.0,
                "sampling": "log-uniform",
            },
            "log-uniform",
        ),
        (
            {"name": "x", "unit": "m", "low": 1.0, "high": 2.0, "sampling": "normal"},
            "sampling",
        ),
        ({"name": "x", "unit": "m", "low": 1.0, "high": 2.0, "sign": "up"}, "sign"),
        (
            {"name": "x", "unit": "m", "low": -1.0, "high": 2.0, "sign": "negative"},
            "magnitude",
        ),
        (
            {"name": "x", "unit": "m", "low": 1.2, "high": 1.8, "integer": True},
            "no integer",
        ),
        ({"name": "x", "unit": "m", "low": 1.0}, "both"),
        ({"name": "x", "unit": "m", "low": 1.0, "high": 2.0, "cost": 0}, "cost"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_variable_rejects_bad_fields(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Variable(**kwargs)


def test_sampling_honours_sign_integer_and_log_uniform():
    rng = np.random.default_rng(0)
    both = Variable("x", "m", 0.1, 10.0, sampling="log-uniform", sign="both").sample(
        rng, 4000
    )
    assert (both < 0).mean() == pytest.approx(0.5, abs=0.05)
    assert np.all((np.abs(both) >= 0.1) & (np.abs(both) <= 10.0))
    # log-uniform: each decade holds half the points
    assert (np.abs(both) < 1.0).mean() == pytest.approx(0.5, abs=0.05)
    neg = Variable("q", "m", 1.0, 2.0, sign="negative").sample(rng, 100)
    assert np.all((neg <= -1.0) & (neg >= -2.0))
    ints = Variable("n", "", 1.0, 99.0, integer=True).sample(rng, 1000)
    assert np.array_equal(ints, np.rint(ints))
    assert ints.min() >= 1
    assert ints.max() <= 99
    assert len(np.unique(ints)) > 80
    signed = Variable("a", "", -10.0, 10.0, sign="both").sample(rng, 1000)
    assert signed.min() < -5
    assert signed.max() > 5


def test_validate_inputs_names_variable_value_and_range():
    lab = make("lawloop_test_backends:Square")
    with pytest.raises(
        InvalidDesignError, match=re.escape("Input `x` = 7.0 (point 1")
    ) as info:
        lab.validate_inputs({"x": [1.0, 7.0], "a": [1.0, 1.0]})
    assert "[0.5, 2]" in str(info.value)
    with pytest.raises(
        InvalidDesignError, match=re.escape("missing ['a'], unexpected ['b']")
    ):
        lab.validate_inputs({"x": [1.0], "b": [1.0]})
    with pytest.raises(InvalidDesignError, match="different lengths"):
        lab.validate_inputs({"x": [1.0, 1.0], "a": [1.0]})
    with pytest.raises(InvalidDesignError, match="nan"):
        lab.validate_inputs({"x": [np.nan], "a": [1.0]})


def test_validate_inputs_checks_integer_and_magnitude_ranges():
    from lawloop_test_backends import Square

    class Lab(Square):
        inputs = (
            Variable("n", "", 1, 5, integer=True),
            Variable("q", "m", 1.0, 2.0, sign="both"),
        )
        observables = (Variable("y", ""),)

        def _simulate(self, inputs, rng):
            return {"y": inputs["n"] * inputs["q"]}

    lab = Lab()
    lab.validate_inputs({"n": [1, 5], "q": [-2.0, 1.5]})
    with pytest.raises(InvalidDesignError, match=re.escape("`n` = 2.5")):
        lab.validate_inputs({"n": [2.5], "q": [1.5]})
    with pytest.raises(
        InvalidDesignError, match=re.escape("`|q|` in [1, 2] with either sign")
    ):
        lab.validate_inputs({"n": [2], "q": [-0.5]})


def test_run_batch_returns_float64_columns_and_provenance():
    lab = make("lawloop_test_backends:Square")
    result = lab.run_batch({"x": [1, 2], "a": [2, 3]}, seed=0)
    assert isinstance(result, BatchResult)
    assert result.status == RunStatus(RunCode.OK, None)
    assert result.columns["y"].dtype == np.float64
    np.testing.assert_array_equal(result.columns["y"], [2.0, 12.0])
    assert result.info["backend_id"] == "lawloop_test_backends:Square"
    assert result.info["seed"] == 0


def test_noise_is_reproducible_by_seed_and_scaled_by_reference_rms():
    lab = make("lawloop_test_backends:Square", noise=0.1, blind=False)
    x = lab.sample_inputs(np.random.default_rng(1), 20_000)
    clean = x["a"] * x["x"] ** 2
    first, again, other = (lab.run_batch(x, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first.columns["y"], again.columns["y"])
    assert not np.array_equal(first.columns["y"], other.columns["y"])
    ref = lab.sample_inputs(np.random.default_rng(REFERENCE_SEED), REFERENCE_SIZE)
    rms = np.sqrt(np.mean((ref["a"] * ref["x"] ** 2) ** 2))
    assert lab.reference_rms()["y"] == pytest.approx(rms, rel=1e-12)
    assert first.info["noise_std"]["y"] == pytest.approx(0.1 * rms, rel=1e-12)
    assert np.std(first.columns["y"] - clean) == pytest.approx(0.1 * rms, rel=0.03)


def test_noise_scale_does_not_depend_on_the_points_asked_for():
    lab = make("lawloop_test_backends:Square", noise=0.1)
    small = lab.run_batch({"x": [0.5] * 5, "a": [1.0] * 5}, seed=0)
    large = lab.run_batch({"x": [2.0] * 5, "a": [3.0] * 5}, seed=0)
    assert small.info["noise_std"] == large.info["noise_std"]


def test_non_finite_output_is_a_diverged_status_not_an_exception():
    lab = make("lawloop_test_backends:Diverging")
    result = lab.run_batch({"x": [1.0, 1.9, 2.0], "a": [1.0, 1.0, 1.0]}, seed=0)
    assert result.status.code == RunCode.SIMULATION_DIVERGED
    assert "`y` at 2 of 3 points" in result.status.message
    assert result.columns["y"].shape == (3,)


def test_empty_batch_and_context_manager():
    with make("lawloop_test_backends:Square") as lab:
        result = lab.run_batch({"x": [], "a": []}, seed=0)
        assert result.columns["y"].shape == (0,)
    lab.close()  # closing twice is fine


def test_reset_reseeds_the_backend_generator():
    lab = make("lawloop_test_backends:Square")
    lab.reset(seed=3)
    first = lab.sample_inputs(lab.rng, 5)
    lab.reset(seed=3)
    np.testing.assert_array_equal(first["x"], lab.sample_inputs(lab.rng, 5)["x"])
