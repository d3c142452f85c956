"""`fit_parameters` reports uncertainties that match known and simulated spreads."""

import numpy as np
import pytest

from lawloop.tools import _uncertainty, fit_parameters, parse_expression

DECAY = parse_expression("a*exp(-b*x)", ["x"], ["a", "b"])
TRUE = {"a": 2.0, "b": 0.5}
NOISE = 0.05


def _decay_data(n):
    x = np.linspace(0.0, 4.0, n)
    return x, TRUE["a"] * np.exp(-TRUE["b"] * x)


def test_linear_covariance_with_known_sigma_is_the_weighted_normal_matrix_inverse():
    rng = np.random.default_rng(20240611)
    x = rng.uniform(0, 10, 80)
    sigma = rng.uniform(0.05, 0.5, x.size)
    y = 1.5 + 0.3 * x + rng.normal(0, sigma)
    fit = fit_parameters(
        parse_expression("a + b*x", ["x"], ["a", "b"]),
        ["a", "b"],
        {"x": x},
        y,
        sigma=sigma,
    )

    design = np.column_stack([np.ones_like(x), x])
    weights = np.diag(1.0 / sigma**2)
    covariance = np.linalg.inv(design.T @ weights @ design)
    beta = covariance @ design.T @ weights @ y

    assert fit.success
    np.testing.assert_allclose([fit.values["a"], fit.values["b"]], beta, rtol=1e-8)
    np.testing.assert_allclose(fit.covariance, covariance, rtol=1e-6)
    np.testing.assert_allclose(
        [fit.stderr["a"], fit.stderr["b"]], np.sqrt(np.diag(covariance)), rtol=1e-6
    )


@pytest.mark.parametrize("known_sigma", [True, False], ids=["sigma", "residuals"])
def test_nonlinear_stderr_matches_the_monte_carlo_spread(known_sigma):
    """Over 200 noisy replicates the estimates scatter by the reported stderr."""
    x, clean = _decay_data(40)
    rng = np.random.default_rng(7)
    values, stderrs = [], []
    for _ in range(200):
        y = clean + rng.normal(0, NOISE, x.size)
        fit = fit_parameters(
            DECAY,
            ["a", "b"],
            {"x": x},
            y,
            sigma=NOISE if known_sigma else None,
            n_starts=1,
            initial=TRUE,
        )
        assert fit.success, fit.message
        values.append([fit.values["a"], fit.values["b"]])
        stderrs.append([fit.stderr["a"], fit.stderr["b"]])
    spread = np.std(values, axis=0, ddof=1)
    reported = np.sqrt(np.mean(np.square(stderrs), axis=0))
    # The standard deviation of 200 draws is itself uncertain by about 5%.
    np.testing.assert_allclose(spread, reported, rtol=0.15)


@pytest.mark.slow  # hundreds of bootstrapped fits
def test_bootstrap_95_percent_interval_covers_the_true_value_about_95_percent():
    x, clean = _decay_data(100)
    rng = np.random.default_rng(11)
    covered = {"a": 0, "b": 0}
    replicates, resamples = 100, 200
    for i in range(replicates):
        y = clean + rng.normal(0, NOISE, x.size)
        fit = fit_parameters(
            DECAY,
            ["a", "b"],
            {"x": x},
            y,
            sigma=NOISE,
            seed=i,
            n_starts=1,
            initial=TRUE,
            bootstrap=resamples,
        )
        assert fit.bootstrap_n == resamples, fit.message
        for name, (low, high) in fit.intervals.items():
            covered[name] += low <= TRUE[name] <= high
    # Case resampling undercovers slightly at this size (about 93% over many
    # seeds); 85% is three binomial standard errors below that.
    for name, count in covered.items():
        assert 0.85 <= count / replicates <= 1.0, (name, count)


@pytest.fixture
def decay_sample():
    x, clean = _decay_data(50)
    y = clean + np.random.default_rng(3).normal(0, NOISE, x.size)
    return {"x": x}, y


def _fit_decay(sample, **options):
    """Fit `DECAY` from the true values (one start: these tests are about the bootstrap)."""
    data, y = sample
    return fit_parameters(
        DECAY, ["a", "b"], data, y, n_starts=1, initial=TRUE, **options
    )


def test_bootstrap_is_off_by_default(decay_sample):
    fit = _fit_decay(decay_sample)
    assert fit.intervals == {}
    assert fit.bootstrap_n == 0
    assert "bootstrap" not in fit.message


def test_bootstrap_is_reproducible_for_a_seed_and_leaves_the_fit_unchanged(
    decay_sample,
):
    plain = _fit_decay(decay_sample, seed=5)
    first = _fit_decay(decay_sample, seed=5, bootstrap=100)
    second = _fit_decay(decay_sample, seed=5, bootstrap=100)
    other = _fit_decay(decay_sample, seed=6, bootstrap=100)

    assert first.intervals == second.intervals
    assert first.intervals != other.intervals
    assert first.bootstrap_n == 100
    assert "bootstrap: 100 of 100 resamples converged" in first.message
    assert first.values == plain.values
    np.testing.assert_array_equal(first.covariance, plain.covariance)
    for name, (low, high) in first.intervals.items():
        assert low < first.values[name] < high


def test_bootstrap_confidence_sets_the_interval_width(decay_sample):
    wide = _fit_decay(decay_sample, bootstrap=200, confidence=0.99)
    narrow = _fit_decay(decay_sample, bootstrap=200, confidence=0.5)
    for name in ("a", "b"):
        assert wide.intervals[name][0] < narrow.intervals[name][0]
        assert narrow.intervals[name][1] < wide.intervals[name][1]


def test_bootstrap_with_most_resamples_failing_gives_no_intervals(
    decay_sample, monkeypatch
):
    # One damped step cannot meet the convergence test, so every resample fails.
    monkeypatch.setattr(_uncertainty, "_LM_MAX_ITER", 1)
    fit = _fit_decay(decay_sample, bootstrap=40)
    assert fit.success
    assert fit.intervals == {}
    assert fit.bootstrap_n < 20
    assert "fewer than half" in fit.message
