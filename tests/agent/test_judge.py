"""The judge: simplest adequate law leads; fresh confirmations accept it."""

import numpy as np
import pytest

from lawloop.agent.science._judge import (
    Scored,
    adequacy_bound,
    chi2_reduced,
    judge,
    point_sigma,
    ranked_above,
)


def _s(hid, complexity, bic, chi2, fresh=None, streak=0, success=True, bound=2.0):
    return Scored(hid, complexity, bic, chi2, fresh, bound, streak, success)


def test_simplest_adequate_law_leads_even_with_a_worse_bic():
    verdict = judge(
        [
            _s("complex", 12, -900.0, 0.9),
            _s("simple", 5, -880.0, 1.1),
            _s("bad", 3, 50.0, 400.0),
        ],
        confirmations=1,
    )
    assert verdict.leader == "simple"
    assert verdict.leader_adequate
    assert not verdict.accept  # not yet tested on fresh data
    assert [r[0] for r in verdict.rejected] == ["bad"]


def test_leader_with_a_fresh_confirmation_is_accepted():
    verdict = judge([_s("law", 5, -880.0, 1.1, fresh=0.9, streak=1)], confirmations=1)
    assert verdict.accept
    assert "predicted 1 fresh batch" in verdict.reason


def test_without_an_adequate_law_the_lowest_bic_leads_and_nothing_is_accepted():
    verdict = judge(
        [_s("a", 3, 10.0, 50.0, streak=3), _s("b", 9, 5.0, 20.0)], confirmations=1
    )
    assert verdict.leader == "b"
    assert not verdict.accept
    assert "no adequate law" in verdict.reason


def test_failed_fits_are_rejected_with_a_reason():
    verdict = judge(
        [
            _s("ok", 3, 1.0, 1.0),
            _s("broken", 3, float("inf"), float("inf"), success=False),
        ],
        confirmations=1,
    )
    assert ("broken", "the fit failed") in verdict.rejected


def test_chi2_counts_noise_and_relative_tolerance():
    y = np.array([1.0, 10.0, 100.0])
    sigma = point_sigma(y, 0.0, 1e-3)
    assert np.allclose(sigma, 1e-3 * y)
    assert chi2_reduced(y, y * (1 + 1e-3), sigma) == pytest.approx(1.0)
    assert chi2_reduced(y, y * (1 + 1e-3), sigma, n_params=1) == pytest.approx(1.5)


def test_under_noise_the_bound_is_the_f_test_and_tightens_with_data():
    def bound(n, dof, noise_sd=0.1):
        return adequacy_bound(
            2.0, n, 1, noise_sd=noise_sd, noise_dof=dof, tolerance=1e-3, y_rms=1.0
        )

    from scipy.stats import f

    assert bound(200, 6) > 3.0  # few repeats: the noise may be underestimated
    assert bound(200, 6) == pytest.approx(f.ppf(0.99, 199, 6))
    # Many points and repeats: close to 1, so a law off by half the noise
    # (reduced chi-square about 1.25) no longer passes as the configured 2.0 let it.
    assert bound(4000, 4000) == pytest.approx(f.ppf(0.99, 3999, 4000))
    assert 1.0 < bound(4000, 4000) < 1.1
    assert bound(200, 6, noise_sd=0.0) == 2.0  # no noise: the configured bound
    assert bound(200, 6, noise_sd=1e-4) == 2.0  # noise below the precision


def test_a_law_within_its_raised_bound_is_adequate():
    verdict = judge([_s("law", 5, 0.0, 2.6, bound=3.0)], confirmations=1)
    assert verdict.leader_adequate


def test_the_reason_for_a_ranking_is_the_judges_own_rule():
    """`ranked_above` states, for any two fits, the order `judge` puts them in."""
    simple = _s("a", 5, -100.0, 1.0)
    complex_ = _s("b", 9, -120.0, 1.0)
    misfit = _s("c", 3, -90.0, 50.0)
    failed = _s("d", 4, float("inf"), float("inf"), success=False)
    ranking = judge([complex_, misfit, simple, failed], confirmations=1).ranking
    assert ranking[:3] == ("a", "b", "c")
    assert (
        ranked_above(simple, complex_) == "both adequate; simpler (complexity 5 vs 9)"
    )
    assert ranked_above(complex_, misfit).startswith(
        "only one adequate: reduced chi-square 50 exceeds its bound 2"
    )
    assert ranked_above(_s("e", 5, -110.0, 1.0), simple) == (
        "both adequate and as simple; lower BIC (-110 vs -100)"
    )
    assert ranked_above(misfit, _s("f", 3, -80.0, 60.0)).startswith("neither adequate")
    assert ranked_above(simple, failed) == "a failed fit is never ranked"
