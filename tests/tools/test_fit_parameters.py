"""`fit_parameters` recovers known constants with the right uncertainties."""

import numpy as np
import pytest
import sympy

from lawloop.tools import (
    FitError,
    fit_parameters,
    make_symbol,
    parse_expression,
    predict,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def test_linear_model_matches_ols_estimate_and_covariance(rng):
    x = rng.uniform(0, 10, 200)
    y = 1.5 + 0.3 * x + rng.normal(0, 0.2, x.size)
    fit = fit_parameters(
        parse_expression("a + b*x", ["x"], ["a", "b"]), ["a", "b"], {"x": x}, y
    )

    design = np.column_stack([np.ones_like(x), x])
    beta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    s2 = rss[0] / (x.size - 2)
    cov = s2 * np.linalg.inv(design.T @ design)

    assert fit.success
    assert fit.n == 200
    np.testing.assert_allclose([fit.values["a"], fit.values["b"]], beta, rtol=1e-8)
    np.testing.assert_allclose(fit.covariance, cov, rtol=1e-6)
    np.testing.assert_allclose(
        [fit.stderr["a"], fit.stderr["b"]], np.sqrt(np.diag(cov)), rtol=1e-6
    )
    assert fit.rss == pytest.approx(rss[0], rel=1e-8)


def test_absolute_sigma_gives_weighted_covariance(rng):
    x = rng.uniform(0, 10, 100)
    sigma = rng.uniform(0.1, 0.5, x.size)
    y = 2.0 * x + rng.normal(0, sigma)
    fit = fit_parameters(
        parse_expression("b*x", ["x"], ["b"]), ["b"], {"x": x}, y, sigma=sigma
    )
    expected = 1.0 / np.sum(x**2 / sigma**2)
    assert fit.covariance[0, 0] == pytest.approx(expected, rel=1e-6)


def test_nonlinear_exponential_decay_is_recovered(rng):
    x = rng.uniform(0, 5, 150)
    y = 2.5 * np.exp(-0.7 * x) + rng.normal(0, 0.005, x.size)
    fit = fit_parameters(
        parse_expression("a*exp(-b*x)", ["x"], ["a", "b"]), ["a", "b"], {"x": x}, y
    )
    assert fit.success
    assert fit.values["a"] == pytest.approx(2.5, rel=1e-2)
    assert fit.values["b"] == pytest.approx(0.7, rel=1e-2)
    assert abs(fit.values["b"] - 0.7) < 5 * fit.stderr["b"]


def test_tiny_targets_and_extreme_scale_constants(rng):
    q1, q2, r = (rng.uniform(1, 5, 100) for _ in range(3))
    y = 8.99e-12 * q1 * q2 / r**2
    expr = parse_expression("k*q1*q2/r**2", ["q1", "q2", "r"], ["k"])
    fit = fit_parameters(expr, ["k"], {"q1": q1, "q2": q2, "r": r}, y)
    assert fit.success
    assert fit.values["k"] == pytest.approx(8.99e-12, rel=1e-9)


def test_power_law_exponent_is_recovered(rng):
    L = rng.uniform(0.1, 2.0, 80)
    y = 2.006 * L**0.5
    fit = fit_parameters(
        parse_expression("c*L**p", ["L"], ["c", "p"]), ["c", "p"], {"L": L}, y
    )
    assert fit.values["p"] == pytest.approx(0.5, rel=1e-6)
    assert fit.values["c"] == pytest.approx(2.006, rel=1e-6)


def test_fit_is_deterministic_for_a_seed(rng):
    x = rng.uniform(0, 3, 60)
    y = np.sin(1.3 * x) + rng.normal(0, 0.05, x.size)
    expr = parse_expression("a*sin(b*x)", ["x"], ["a", "b"])
    first = fit_parameters(expr, ["a", "b"], {"x": x}, y, seed=7)
    second = fit_parameters(expr, ["a", "b"], {"x": x}, y, seed=7)
    assert first.values == second.values
    np.testing.assert_array_equal(first.covariance, second.covariance)


def test_non_finite_predictions_are_a_failed_fit_not_an_error():
    x = np.linspace(-2, 2, 30)
    fit = fit_parameters(parse_expression("log(x)*a", ["x"], ["a"]), ["a"], {"x": x}, x)
    assert not fit.success
    assert "not finite" in fit.message


def test_expression_without_parameters_is_evaluated():
    x = np.linspace(1, 2, 10)
    fit = fit_parameters(parse_expression("2*x", ["x"]), [], {"x": x}, 2 * x + 1)
    assert fit.success
    assert fit.rss == pytest.approx(10.0)
    assert fit.covariance.shape == (0, 0)


def test_unidentifiable_parameters_get_infinite_stderr():
    x = np.linspace(1, 2, 20)
    fit = fit_parameters(
        parse_expression("a*b*x", ["x"], ["a", "b"]), ["a", "b"], {"x": x}, 3 * x
    )
    assert fit.values["a"] * fit.values["b"] == pytest.approx(3.0)
    assert np.isinf(fit.stderr["a"])
    assert "undetermined" in fit.message


def test_predict_uses_fitted_values():
    x = np.linspace(1, 2, 5)
    expr = parse_expression("a*x**2", ["x"], ["a"])
    np.testing.assert_allclose(predict(expr, {"a": 3.0}, {"x": x}), 3 * x**2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"parameters": ["a", "zz"]}, "do not appear"),
        ({"data": {"xx": np.ones(5)}}, "Did you mean `xx`"),
        ({"data": {"x": np.ones(4)}}, "has 4 values"),
        ({"y": np.array([1.0, np.nan, 1, 1, 1])}, "finite"),
        ({"sigma": -1.0}, "sigma"),
    ],
    ids=["unknown-parameter", "missing-column", "length", "nan-y", "sigma"],
)
def test_bad_arguments_raise_fit_error(kwargs, match):
    args = {"parameters": ["a"], "data": {"x": np.ones(5)}, "y": np.ones(5)}
    args.update(kwargs)
    sigma = args.pop("sigma", None)
    expr = parse_expression("a*x", ["x"], ["a"])
    with pytest.raises(FitError, match=match):
        fit_parameters(expr, args["parameters"], args["data"], args["y"], sigma=sigma)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"bootstrap": -1}, "`bootstrap` must be a non-negative integer"),
        ({"bootstrap": 2.5}, "`bootstrap` must be a non-negative integer"),
        ({"bootstrap": True}, "`bootstrap` must be a non-negative integer"),
        ({"confidence": 0.0}, "`confidence` must be a number strictly between"),
        ({"confidence": 1.0}, "`confidence` must be a number strictly between"),
        ({"confidence": float("nan")}, "`confidence` must be a number strictly"),
    ],
    ids=["negative", "fractional", "bool", "zero", "one", "nan"],
)
def test_bad_bootstrap_arguments_raise_fit_error(options, match):
    x = np.linspace(1, 2, 10)
    expr = parse_expression("a*x", ["x"], ["a"])
    with pytest.raises(FitError, match=match):
        fit_parameters(expr, ["a"], {"x": x}, 2 * x, **options)


def test_bootstrap_is_skipped_when_the_fit_fails():
    x = np.linspace(-2, 2, 30)
    fit = fit_parameters(
        parse_expression("log(x)*a", ["x"], ["a"]), ["a"], {"x": x}, x, bootstrap=20
    )
    assert not fit.success
    assert fit.intervals == {}
    assert fit.bootstrap_n == 0
    assert "bootstrap skipped" in fit.message


def test_bootstrap_of_an_exact_linear_fit_gives_point_intervals():
    x = np.linspace(1, 2, 20)
    fit = fit_parameters(
        parse_expression("a + b*x", ["x"], ["a", "b"]),
        ["a", "b"],
        {"x": x},
        1 + 3 * x,
        bootstrap=30,
    )
    assert fit.bootstrap_n == 30
    assert fit.intervals["a"] == pytest.approx((1.0, 1.0), abs=1e-8)
    assert fit.intervals["b"] == pytest.approx((3.0, 3.0), abs=1e-8)


def test_many_rows_the_starts_compete_on_a_sample_and_the_winner_reaches_the_full_optimum():
    """5000 rows: the multi-start search on 512 of them, polished on all, ends where a fit from the truth ends."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 5.0, 5000)
    y = 3.0 * np.exp(-0.7 * x) / (1 + 0.4 * x) + rng.normal(0, 0.01, x.size)
    expr = parse_expression("a*exp(-b*x)/(1 + c*x)", ["x"], ["a", "b", "c"])
    searched = fit_parameters(expr, ["a", "b", "c"], {"x": x}, y, seed=3, n_starts=8)
    from_truth = fit_parameters(
        expr,
        ["a", "b", "c"],
        {"x": x},
        y,
        n_starts=1,
        initial={"a": 3.0, "b": 0.7, "c": 0.4},
    )
    assert searched.success
    assert from_truth.success
    for name in ("a", "b", "c"):
        assert searched.values[name] == pytest.approx(from_truth.values[name], rel=1e-7)
        assert searched.stderr[name] == pytest.approx(from_truth.stderr[name], rel=1e-5)
    assert searched.rss == pytest.approx(from_truth.rss, rel=1e-9)
    again = fit_parameters(expr, ["a", "b", "c"], {"x": x}, y, seed=3, n_starts=8)
    assert again.values == searched.values  # the sample is drawn from the seed


def test_a_law_that_overflows_at_some_points_gives_a_failed_fit_not_an_error():
    """exp(x) passes float64 beyond x = 709: those points are not finite for any c0."""
    x = make_symbol("x")
    c0 = make_symbol("c0")
    xs = np.linspace(1.0, 1000.0, 40)
    fit = fit_parameters(c0 * sympy.exp(x), ["c0"], {"x": xs}, np.log(xs), seed=0)
    assert not fit.success
    assert fit.message


def test_a_law_sympy_cannot_evaluate_gives_a_failed_fit_not_an_error():
    """Built without the parser (which refuses it), the constant defeats lambdify's printer.

    It raised `OverflowError` out of `fit_parameters` (issue 13); a fit is
    where failures become data.
    """
    x = make_symbol("x")
    c0 = make_symbol("c0")
    tower = sympy.exp(sympy.exp(sympy.exp(sympy.exp(9))))
    xs = np.linspace(1.0, 2.0, 10)
    fit = fit_parameters(c0 * x + tower, ["c0"], {"x": xs}, xs, seed=0)
    assert not fit.success
    assert fit.message.startswith("fit failed: OverflowError")
    assert np.isnan(fit.values["c0"])
