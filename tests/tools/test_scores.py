"""Scores: R^2, RMSE, BIC and complexity."""

import math

import numpy as np
import pytest

from lawloop.tools import bic, complexity, make_symbol, parse_expression, r2, rmse


def test_r2_and_rmse_of_perfect_and_mean_predictions():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2(y, y) == 1.0
    assert r2(y, np.full(4, y.mean())) == pytest.approx(0.0)
    assert rmse(y, y + 1.0) == pytest.approx(1.0)
    assert r2(y, np.array([1.0, np.nan, 3.0, 4.0])) == -math.inf


def test_bic_is_finite_for_exact_fits_and_penalises_parameters():
    assert math.isfinite(bic(0.0, 10, 2))
    assert bic(1.0, 100, 3) > bic(1.0, 100, 2)
    assert bic(2.0, 10, 1) == pytest.approx(10 * math.log(0.2) + math.log(10))
    with pytest.raises(ValueError, match="n >= 1"):
        bic(1.0, 0, 1)


def test_complexity_counts_tree_nodes():
    assert complexity(make_symbol("x")) == 1
    assert complexity(parse_expression("a*x + b", ["x"], ["a", "b"])) == 5
