"""The recovery rule under noise: the true form, its true constants inside the stated intervals."""

import numpy as np
import pytest

from lawloop.tools import constants_within_intervals, parse_expression

NAMES = ["omega", "T"]
TRUTH = parse_expression("omega**3/(exp(omega/T) - 1)", NAMES)  # Planck's shape


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    return {"omega": rng.uniform(0.5, 5, 400), "T": rng.uniform(1, 3, 400)}


def _law(text):
    return parse_expression(text, NAMES, ["c0", "c1"])


def test_a_law_with_constants_0_6_percent_off_is_recovered_when_its_intervals_hold_the_truth(
    sample,
):
    verdict = constants_within_intervals(
        _law("c0*omega**3/(exp(c1*omega/T) - 1)"),
        {"c0": (1.006, 0.99, 1.02), "c1": (0.994, 0.98, 1.01)},
        TRUTH,
        sample,
    )
    assert verdict.recovered
    assert verdict.method == "form+intervals"
    assert "c0 = 1 in [0.99, 1.02]" in verdict.detail


def test_a_true_constant_outside_its_interval_is_not_recovered(sample):
    verdict = constants_within_intervals(
        _law("c0*omega**3/(exp(c1*omega/T) - 1)"),
        {"c0": (1.006, 1.001, 1.02), "c1": (0.994, 0.98, 1.01)},
        TRUTH,
        sample,
    )
    assert not verdict.recovered
    assert "c0 = 1 not in [1.001, 1.02]" in verdict.detail


def test_the_wrong_form_is_not_recovered_however_wide_the_intervals(sample):
    # Wien's law: the close rival near the peak, a different form.
    verdict = constants_within_intervals(
        _law("c0*omega**3*exp(-c1*omega/T)"),
        {"c0": (1.0, -1e9, 1e9), "c1": (1.0, -1e9, 1e9)},
        TRUTH,
        sample,
    )
    assert not verdict.recovered
    assert "not the true form" in verdict.detail


def test_a_law_without_free_constants_or_finite_intervals_is_left_to_the_other_rule(
    sample,
):
    law = _law("omega**3/(exp(omega/T) - 1)")
    assert not constants_within_intervals(law, {}, TRUTH, sample).recovered
    verdict = constants_within_intervals(
        _law("c0*omega**3/(exp(c1*omega/T) - 1)"),
        {"c0": (1.0, float("nan"), 2.0), "c1": (1.0, 0.0, 2.0)},
        TRUTH,
        sample,
    )
    assert not verdict.recovered
    assert "no finite interval" in verdict.detail
