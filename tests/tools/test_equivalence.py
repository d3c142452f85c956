"""The equivalence rule: `snap_constants` and `is_equivalent`."""

import numpy as np
import pytest
import sympy

from lawloop.tools import (
    ToolError,
    is_equivalent,
    make_symbol,
    parse_expression,
    snap_constants,
)

VARS = ["L", "g", "theta0", "x", "I_", "r"]


def _p(text):
    return parse_expression(text, VARS)


def sampler(n):
    rng = np.random.default_rng(0)
    return {
        "L": rng.uniform(0.1, 2.0, n),
        "g": rng.uniform(9.0, 10.0, n),
        "theta0": rng.uniform(0.01, 1.0, n),
        "x": rng.uniform(1.0, 2.0, n),
        "I_": rng.uniform(1.0, 5.0, n),
        "r": rng.uniform(1.0, 5.0, n),
    }


@pytest.mark.parametrize(
    ("text", "snapped"),
    [
        ("6.28318*x", "2*pi*x"),
        ("0.0795775*x", "x/(4*pi)"),
        ("1.41421*x", "sqrt(2)*x"),
        ("0.33333*x", "x/3"),
        ("9.8696*x", "pi**2*x"),
        ("2.0*x**0.50001", "2*sqrt(x)"),
    ],
    ids=str,
)
def test_snap_constants_finds_simple_constants(text, snapped):
    assert snap_constants(_p(text)) == _p(snapped)


def test_snap_constants_rounds_other_floats():
    assert snap_constants(_p("8.8541878e-12*x")) == sympy.Float(
        8.854e-12
    ) * make_symbol("x")


def test_pendulum_with_fitted_constant_is_recovered():
    verdict = is_equivalent(_p("6.2832*sqrt(L/g)"), _p("2*pi*sqrt(L/g)"), sampler)
    assert verdict.recovered
    assert verdict.method == "symbolic-ratio"


def test_constant_multiple_and_offset_count_as_recovered():
    truth = _p("2*pi*sqrt(L/g)")
    assert is_equivalent(_p("3*L**0.5/g**0.5"), truth, sampler).recovered
    offset = is_equivalent(_p("2*pi*sqrt(L/g) + 3"), truth, sampler)
    assert offset.recovered
    assert offset.method == "symbolic-difference"


def test_float_physical_constants_in_truth():
    truth = _p("1 / (4 * pi * 8.854e-12 * 299792458.0 ** 2) * 2 * I_ / r")
    verdict = is_equivalent(_p("3.2e-13*I_/r"), truth, sampler)
    assert verdict.recovered
    assert verdict.method == "symbolic-ratio"


def test_extra_dependence_is_not_recovered():
    verdict = is_equivalent(_p("sqrt(L/g)*(1 + theta0)"), _p("2*pi*sqrt(L/g)"), sampler)
    assert not verdict.recovered
    assert "ratio varies" in verdict.detail


def test_zero_is_not_a_constant_multiple():
    assert not is_equivalent(_p("0*x"), _p("x"), sampler).recovered


def test_sample_may_be_a_mapping_and_must_cover_truth():
    points = sampler(50)
    assert is_equivalent(_p("2*x"), _p("x"), points).recovered
    with pytest.raises(ToolError, match="lacks variables"):
        is_equivalent(_p("x"), _p("x*r"), {"x": points["x"]})


def test_symbols_are_matched_by_name_across_assumptions():
    found = parse_expression("2*x", ["x"], assumptions={"x": {"positive": True}})
    assert is_equivalent(found, _p("x"), sampler).recovered


# Problems of benchmarks/problems/feynman_dev.json: formula and log-uniform ranges.
FEYNMAN = [
    (
        "I.40.1",
        "n_0 * exp(-m * 9.80665 * x / (1.380649e-23 * T))",
        {
            "n_0": (1e25, 1e27),
            "m": (1e-24, 1e-22),
            "x": (0.01, 1.0),
            "T": (10.0, 1000.0),
        },
    ),
    (
        "I.6.2",
        "exp(-(theta / sigma) ** 2 / 2) / (sqrt(2 * pi) * sigma)",
        {"theta": (0.1, 10.0), "sigma": (0.1, 10.0)},
    ),
    (
        "II.11.27",
        "n * alpha / (1 - n * alpha / 3) * 8.854e-12 * Ef",
        {"n": (1e23, 1e25), "alpha": (1e-33, 1e-31), "Ef": (10.0, 1000.0)},
    ),
    (
        "I.10.7",
        "m_0 / sqrt(1 - v ** 2 / 299792458.0 ** 2)",
        {"m_0": (0.1, 10.0), "v": (1e5, 1e8)},
    ),
    (
        "III.4.32",
        "1 / (exp(6.626e-34 / (2 * pi) * omega / (1.380649e-23 * T)) - 1)",
        {"omega": (1e8, 1e10), "T": (10.0, 1000.0)},
    ),
]


@pytest.mark.parametrize(
    ("formula", "ranges"), [c[1:] for c in FEYNMAN], ids=[c[0] for c in FEYNMAN]
)
def test_feynman_truth_times_a_constant_with_float_constants(formula, ranges):
    truth = parse_expression(formula, list(ranges))
    rng = np.random.default_rng(1)

    def sample(n):
        return {
            k: np.exp(rng.uniform(np.log(lo), np.log(hi), n))
            for k, (lo, hi) in ranges.items()
        }

    found = (3.7 * truth).evalf()  # floats everywhere, as a fitted expression has
    assert is_equivalent(found, truth, sample).recovered
    first = min(found.free_symbols, key=lambda s: s.name)
    wrong = found.xreplace({first: first**2})
    assert not is_equivalent(wrong, truth, sample).recovered


def test_without_symbolic_time_numeric_agreement_and_structure_decide():
    verdict = is_equivalent(
        _p("6.283185307179586*L**0.5/g**0.5"),
        _p("2*pi*sqrt(L/g)"),
        sampler,
        time_limit=0.0,
    )
    assert verdict.recovered
    assert verdict.method == "numeric+structure"


def test_works_outside_the_main_thread():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        verdict = pool.submit(is_equivalent, _p("2*x"), _p("x"), sampler).result()
    assert verdict.recovered
