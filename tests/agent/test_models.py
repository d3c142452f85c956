"""Predictions of a law never raise: overflow and undefined values become NaN."""

import numpy as np

from lawloop.agent.science._fitting import predictor


def test_overflowing_power_of_constants_predicts_nan_instead_of_raising():
    # A repaired power law, k0**c3 with large constants: Python floats would
    # raise OverflowError here and fail the whole fit node.
    predict = predictor(
        "c0*k0**c3*n**c1",
        ["n"],
        ["c0", "c1", "c3", "k0"],
        {"c0": 1.0, "c1": 1.0, "c3": 400.0, "k0": 1e10},
    )
    out = predict({"n": np.ones(3)})
    assert out.shape == (3,)
    assert np.all(np.isnan(out))


def test_finite_predictions_are_kept():
    predict = predictor("c0*x**2", ["x"], ["c0"], {"c0": 2.0})
    assert np.allclose(predict({"x": np.array([1.0, 2.0])}), [2.0, 8.0])


def test_exact_constants_beyond_int64_evaluate():
    # Laws mapped back from dimensionless groups carry constants of nature as
    # exact decimals; sqrt of a Python int above 2**63 is not a NumPy operation.
    predict = predictor(
        "c0*sqrt(24143766171762264090)*x/2650428060000000000000000000000",
        ["x"],
        ["c0"],
        {"c0": 1.0},
    )
    out = predict({"x": np.array([1.0])})
    assert np.allclose(out, [24143766171762264090**0.5 / 2.65042806e30])


def test_fit_with_bootstrap_records_intervals_around_the_constant():
    from lawloop.agent.science._dataset import Dataset
    from lawloop.agent.science._fitting import fit_hypothesis

    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 2.0, 200)
    y = 3.0 * x**2 * (1 + 0.01 * rng.standard_normal(200))
    data = Dataset({"x": x}, y, np.zeros(200, dtype=int))
    record = fit_hypothesis(
        "c0*x**2",
        ["x"],
        ["c0"],
        data,
        initial={},
        seed=0,
        noise_sd=0.03,
        tolerance=1e-3,
        bootstrap=100,
    )
    assert record.scores is not None
    assert record.scores.bootstrap is not None
    boot = record.scores.bootstrap
    low, high = boot.intervals["c0"]
    assert boot.converged == 100
    assert low < record.values["c0"] < high
    assert low < 3.0 < high
    assert high - low < 0.01
    plain = fit_hypothesis(
        "c0*x**2",
        ["x"],
        ["c0"],
        data,
        initial={},
        seed=0,
        noise_sd=0.03,
        tolerance=1e-3,
    )
    assert plain.scores is not None
    assert "bootstrap" not in plain.scores.dump()
