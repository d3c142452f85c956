"""The attack's test: a smooth relative correction to a law, seen or bounded."""

import numpy as np
import pytest

from lawloop.agent.science._attack import correction_shapes
from lawloop.tools import deviation_test

GRID = np.array([[a, b] for a in np.linspace(0, 1, 5) for b in np.linspace(0, 1, 5)])


def _fit_scale(g, y, w):
    """Least-squares multiplier of the law `c * g` (its one constant)."""
    return float(np.sum(g * y * w**2) / np.sum(g * g * w**2))


def _test(u, y, g, sigma):
    c = _fit_scale(g, y, 1 / sigma)
    return deviation_test(
        y,
        c * g,
        g[:, None],
        sigma,
        correction_shapes(u),
        correction_shapes(GRID),
        np.full((len(GRID), 1), 1 / c),  # d(c g)/dc / (c g)
    )


def _data(rng, n, truth, noise):
    u = rng.uniform(size=(n, 2))
    y0 = truth(u)
    sd = noise * np.sqrt(np.mean(y0**2))
    return u, y0, y0 + sd * rng.normal(size=n), np.full(n, sd) + 1e-12 * np.abs(y0)


def law(u):
    return (1 + u[:, 0]) * (1 + u[:, 1])


def relativistic(u):
    """`law` with a gamma factor in the first input (speeds up to 0.6 c)."""
    return law(u) / np.sqrt(1 - (0.6 * u[:, 0]) ** 2)


def test_an_approximation_is_refuted_and_the_law_is_not():
    rng = np.random.default_rng(0)
    u, _, y, sigma = _data(rng, 1000, relativistic, 0.01)
    wrong = _test(u, y, law(u), sigma)
    assert wrong.refutes(0.01, 1e-9)
    assert 0.05 < wrong.largest < 0.15  # gamma(0.6) - 1 = 0.25, less what c absorbs
    right = _test(u, y, relativistic(u), sigma)
    assert not right.refutes(0.01, 1e-9)
    assert right.terms == 4  # the constant shape is the law's own constant
    assert 0 < right.precision < 0.03


def test_the_bound_tightens_as_one_over_root_n():
    rng = np.random.default_rng(1)
    bounds = []
    for n in (400, 6400):
        u, _, y, sigma = _data(rng, n, law, 0.01)
        bounds.append(_test(u, y, law(u), sigma).precision)
    assert bounds[1] == pytest.approx(bounds[0] / 4, rel=0.35)


def test_the_stated_precision_covers_the_true_deviation_95_percent():
    """Calibration: the bound exceeds the true largest change in at least 95 % of runs.

    The truth is the law times 1 + 0.03 (2u - 1)**2, a correction the shapes
    span and the noise shows, so the bound sits near the estimate and its
    band decides the coverage; it is also not wider than it needs to be.
    """
    rng = np.random.default_rng(2)

    def truth(u):
        return law(u) * (1 + 0.03 * (2 * u[:, 0] - 1) ** 2)

    covered, ratios, runs = 0, [], 200
    for _ in range(runs):
        u, y0, y, sigma = _data(rng, 300, truth, 0.01)
        g = law(u)
        # The change the correction makes to the law's best fit on this design, noise-free.
        c_true = _fit_scale(g, y0, 1 / sigma)
        true_change = np.max(np.abs(truth(GRID) / (c_true * law(GRID)) - 1))
        bound = _test(u, y, g, sigma).precision
        covered += bound >= true_change
        ratios.append(bound / true_change)
    assert covered / runs >= 0.95
    assert np.median(ratios) < 2.0


def test_exact_data_are_bounded_above_rounding():
    # A noiseless simulator's residuals are rounding (1e-16); a claim at that
    # level is broken by float64 itself, and by constants printed to 11 digits.
    rng = np.random.default_rng(3)
    u, y0, _, _ = _data(rng, 200, law, 0.0)
    result = _test(u, y0, law(u), 1e-9 * np.abs(y0))
    assert 5e-11 < result.precision < 1e-8  # about the 1e-10 resolution, not 1e-16
    assert not result.refutes(0.01, 1e-9)


def test_too_few_points_state_nothing():
    rng = np.random.default_rng(4)
    u, _, y, sigma = _data(rng, 4, law, 0.01)
    result = _test(u, y, law(u), sigma)
    assert result.precision == float("inf")
    assert result.p_value == 1.0


def test_mismatched_arrays_are_refused():
    with pytest.raises(ValueError, match="one row per measurement"):
        deviation_test(
            np.ones(3),
            np.ones(2),
            np.ones((3, 0)),
            np.ones(3),
            np.ones((3, 5)),
            np.ones((4, 5)),
            np.ones((4, 0)),
        )
