"""`closed_form`: a fitted constant is named (2*pi) only where that is a claim, not numerology."""

import math

import pytest
import sympy

from lawloop.tools import closed_form


def test_a_constant_of_1_013_within_0_01_is_not_snapped_to_10_over_pi_squared():
    verdict = closed_form(1.013, 0.01)
    assert verdict.expr is None
    assert set(verdict.candidates) >= {"1", "10/pi**2"}
    assert "do not tell them apart" in verdict.reason


def test_a_constant_14_standard_errors_from_2_pi_stays_as_fitted():
    """The pendulum's 6.28991 +- 0.00047: the amplitude correction, not 2*pi."""
    verdict = closed_form(6.28991, 0.00047)
    assert verdict.expr is None
    assert verdict.candidates == ()
    low, high = verdict.interval
    assert low < 6.28991 < high
    assert not low <= 2 * math.pi <= high


@pytest.mark.parametrize(
    ("value", "stderr", "expected"),
    [
        (6.28319, 2e-5, 2 * sympy.pi),
        (2 * math.pi, 0.0, 2 * sympy.pi),  # an exact fit: float64 resolution
        (0.0795775, 1e-6, 1 / (4 * sympy.pi)),
        (1.41421, 3e-5, sympy.sqrt(2)),
        (1.5, 1e-4, sympy.Rational(3, 2)),
        (0.0, 1e-3, sympy.Integer(0)),
    ],
    ids=["2pi", "2pi-exact", "1/(4pi)", "sqrt2", "3/2", "zero"],
)
def test_a_constant_with_one_simple_value_in_its_interval_is_named(
    value, stderr, expected
):
    verdict = closed_form(value, stderr)
    assert verdict.expr == expected, verdict.reason
    assert verdict.chance <= 0.05


@pytest.mark.parametrize(
    ("value", "stderr", "candidate"),
    [(0.3708, 0.001, "sqrt(5)/6"), (1.2345678912345, 1e-3, "pi**2/8")],
    ids=["snell-0.3708", "1.2346"],
)
def test_a_lone_candidate_in_a_wide_interval_is_a_coincidence_not_a_claim(
    value, stderr, candidate
):
    """Snell's law accepted as 0.3708*...: sqrt(5)/6 is in the interval, as something would be."""
    verdict = closed_form(value, stderr)
    assert verdict.expr is None
    assert verdict.candidates == (candidate,)
    assert verdict.chance > 0.05
    assert "by chance" in verdict.reason


@pytest.mark.parametrize(
    ("value", "stderr"),
    [(math.nan, 0.1), (1.0, math.inf), (1.0, -1.0), (2 * math.pi, 3.0)],
    ids=["nan", "inf-stderr", "negative-stderr", "too-wide"],
)
def test_no_closed_form_without_a_usable_interval(value, stderr):
    verdict = closed_form(value, stderr)
    assert verdict.expr is None
    assert verdict.reason


def test_the_law_shows_the_digits_its_uncertainty_warrants_and_names_only_claims():
    from lawloop.agent import law_with_constants

    text, snapped = law_with_constants(
        "c0*sqrt(L/g)", ["L", "g"], ["c0"], {"c0": 6.28991}, stderr={"c0": 0.00047}
    )
    assert (text, snapped) == ("6.28991*sqrt(L/g)", False)
    text, snapped = law_with_constants(
        "c0*sqrt(L/g)", ["L", "g"], ["c0"], {"c0": 6.283190}, stderr={"c0": 4e-6}
    )
    assert (text, snapped) == ("2*pi*sqrt(L/g)", True)


def test_every_constant_the_pendulum_campaign_names_lies_in_its_interval(
    recorded_pendulum,
):
    _, _, summary = recorded_pendulum
    constants = summary["best"]["constants"]
    assert constants
    for name, claim in constants.items():
        assert claim["lower"] < claim["value"] < claim["upper"], name
        if claim["closed_form"] is not None:
            value = float(sympy.sympify(claim["closed_form"]))
            assert claim["lower"] <= value <= claim["upper"], (name, claim)
        assert claim["reason"]
