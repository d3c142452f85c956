"""Constants stay within float64 wherever sympy could compute them: parsing, substituting, rewriting."""

import time

import pytest
import sympy

from lawloop.tools import (
    ExpressionError,
    bind_parameters,
    canonical_key,
    make_symbol,
    parse_expression,
    snap_constants,
)

x, c0, c1 = (make_symbol(n) for n in ("x", "c0", "c1"))


def test_binding_values_gives_the_law_xreplace_gives():
    law = parse_expression("c0*x + sqrt(c1)*x**2", ["x"], ["c0", "c1"])
    values = {"c0": 2.5, "c1": 4.0}
    assert bind_parameters(law, values) == law.xreplace(
        {c0: sympy.Float(2.5), c1: sympy.Float(4.0)}
    )


def test_binding_a_value_that_makes_a_constant_beyond_float64_is_refused_at_once():
    """exp(exp(1e10)) would need ten billion bits of precision: refused, not computed."""
    law = parse_expression("x + exp(exp(c0))", ["x"], ["c0"])
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match="beyond 1e300"):
        bind_parameters(law, {"c0": 1e10})
    assert time.perf_counter() - started < 1.0


def test_binding_a_value_that_is_not_finite_is_refused():
    with pytest.raises(ExpressionError, match="`c0` has the value nan"):
        bind_parameters(c0 * x, {"c0": float("nan")})


def test_a_rewrite_that_collapses_a_tower_of_powers_is_refused_not_run():
    """The canonical key sets x**7e-86 to 1, leaving x**(huge integer) over a symbol without assumptions.

    sympy then expanded ``(re + I*im)**n`` and never finished. The parser
    refuses such towers now; built directly, the rewrite refuses them too.
    """
    huge = sympy.Integer(35739485416893841989223428653056)
    law = x ** (huge ** (x ** sympy.Float(7.427411259526033e-86)))
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match="exact exponent"):
        canonical_key(law)
    assert time.perf_counter() - started < 1.0


def test_nested_exponentials_of_constants_and_powers_of_zero_are_refused():
    """Both collapse under the rewrites into exact powers with millions of digits."""
    for text in ["80610346**80610346**c0", "2**(3**x)", "x + 0.0**(c0*x)"]:
        with pytest.raises(ExpressionError, match=r"Nested exponential|of zero"):
            parse_expression(text, ["x"], ["c0"])
    parse_expression("c0*10**(c1*x) + exp(exp(-x))", ["x"], ["c0", "c1"])


def test_snapping_that_would_make_a_huge_exact_power_is_refused():
    """10.0**1e15 snapped is 10**(10**15), which sympy would compute digit by digit."""
    power = sympy.Pow(sympy.Float(10.0), sympy.Float(1e15), evaluate=False)
    tower = sympy.Mul(power, x, evaluate=False)
    with pytest.raises(ExpressionError, match="beyond 1e300"):
        snap_constants(tower)


def test_nested_hyperbolic_functions_get_a_key_quickly():
    """Over symbols without assumptions, tanh eight deep took twenty seconds."""
    text = "c0*x + " + "tanh(c0*x + " * 8 + "tanh(2)" + ")" * 8
    law = parse_expression(text, ["x"], ["c0"])
    started = time.perf_counter()
    canonical_key(law, ["c0"])
    assert time.perf_counter() - started < 2.0


def test_function_calls_nested_too_deeply_are_refused():
    with pytest.raises(ExpressionError, match="Function calls are nested deeper"):
        parse_expression("sin(" * 11 + "x" + ")" * 11, ["x"])
    parse_expression("sin(" * 10 + "x" + ")" * 10, ["x"])  # the limit itself is fine


@pytest.mark.parametrize(
    "text",
    [
        "80610346**(80610346*abs(c0)/c0)",
        "x*exp(80610346*abs(c0)/c0*log(3))",
        "x*exp(log(3)/(abs(c0)/c0 - 1 + 1/1000000000000000000000000000000))",
    ],
    ids=["power", "exp-of-log", "denominator"],
)
def test_an_exponent_that_collapses_to_a_huge_exact_number_gets_a_key_quickly(text):
    """The key drops `Abs` of a symbol, so the exponent became the number 80610346.

    sympy then computed ``80610346**80610346`` exactly and never finished.
    """
    law = parse_expression(text, ["x"], ["c0"])
    started = time.perf_counter()
    canonical_key(law, ["c0"])
    assert time.perf_counter() - started < 2.0
