"""A fit given a deadline gives up at it, and a deadline not reached changes nothing."""

import time

import numpy as np

from lawloop.tools import _least_squares, fit_parameters, parse_expression

# A law whose fresh starts each run many iterations: a long fit.
LAW = "c0*sin(c1*x + c2*sin(c3*y))/(1 + c4*x**2)"


def _data(n=200):
    rng = np.random.default_rng(3)
    data = {"x": rng.uniform(0.1, 5.0, n), "y": rng.uniform(0.1, 5.0, n)}
    y = 1.3 * np.sin(0.7 * data["x"] + 0.4 * np.sin(1.9 * data["y"]))
    return data, y / (1 + 0.2 * data["x"] ** 2) + rng.normal(0, 0.05, n)


def _fit(**kwargs):
    data, y = _data()
    expr = parse_expression(LAW, ["x", "y"], ["c0", "c1", "c2", "c3", "c4"])
    return fit_parameters(
        expr, ["c0", "c1", "c2", "c3", "c4"], data, y, seed=0, n_starts=3, **kwargs
    )


def test_a_passed_deadline_gives_a_timed_out_failed_fit():
    result = _fit(deadline=time.monotonic())
    assert result.timed_out
    assert not result.success
    assert "deadline" in result.message


def test_a_fit_stops_within_one_iteration_of_its_deadline():
    started = time.monotonic()
    full = _fit()
    took = time.monotonic() - started
    assert not full.timed_out
    budget = took / 10  # a tenth of what the fit needs
    started = time.monotonic()
    cut = _fit(deadline=started + budget)
    overrun = time.monotonic() - (started + budget)
    assert cut.timed_out
    assert overrun < 0.25, (overrun, took)


def test_a_deadline_not_reached_gives_the_same_bits():
    plain = _fit()
    timed = _fit(deadline=time.monotonic() + 3600)
    assert not timed.timed_out
    assert timed.values == plain.values
    assert np.array_equal(timed.covariance, plain.covariance)


def test_without_the_callback_the_deadline_is_checked_between_starts(monkeypatch):
    monkeypatch.setattr(_least_squares, "_CALLBACK", False)
    assert _fit(deadline=time.monotonic()).timed_out
