"""`parse_expression` refuses unsafe text and round-trips through `expression_text`."""

import cmath
import math
import re

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lawloop.tools import (
    ExpressionError,
    expression_text,
    make_symbol,
    parse_expression,
)
from lawloop.tools._bounds import check_constants
from lawloop.tools._parse import MAX_CALL_DEPTH

VARIABLES = ["L", "g", "x", "theta0"]


def test_parses_pendulum_law_with_declared_symbols():
    expr = parse_expression("2*pi*sqrt(L/g)", VARIABLES)
    L, g = make_symbol("L"), make_symbol("g")
    assert expr == 2 * sympy.pi * sympy.sqrt(L / g)


def test_caret_is_power_and_constants_are_known():
    expr = parse_expression("x^2 + E + e + pi", ["x"])
    assert expr == make_symbol("x") ** 2 + 2 * sympy.E + sympy.pi


def test_parameters_and_assumptions_make_identical_symbols():
    expr = parse_expression(
        "c0*L", ["L"], ["c0"], assumptions={"L": {"positive": True}}
    )
    assert expr.free_symbols == {
        make_symbol("c0"),
        make_symbol("L", {"positive": True}),
    }


def test_whitelisted_functions_and_aliases():
    x = make_symbol("x")
    expr = parse_expression("arcsin(x) + abs(x) + square(x) + cube(x)", ["x"])
    assert expr == sympy.asin(x) + sympy.Abs(x) + x**2 + x**3


def test_integer_division_gives_exact_rationals():
    assert parse_expression("1/2*x", ["x"]) == sympy.Rational(1, 2) * make_symbol("x")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x.real", "Attribute access"),
        ("__import__('os')", "Dunder name `__import__`"),
        ("__class__", "Dunder name"),
        ("(lambda: 1)()", "Only plain function names"),
        ("lambda: 1", "Lambdas"),
        ("[x for x in (1, 2)]", "Comprehensions"),
        ("import os", "Statements and imports"),
        ("x = 1", "Statements and imports"),
        ("x**11", "Exponent `11` is too large"),
        ("2**(5*3)", "is too large"),
        ("x[0]", "Subscripts"),
        ("'abc'", "Literal 'abc'"),
        ("True", "Literal True"),
        ("x < 1", "Comparisons"),
        ("sin(x=1)", "Keyword arguments"),
        ("sin(*x)", "exactly one positional"),
        ("open('f')", "Function `open` is not allowed"),
        ("xx + 1", "Did you mean `x`"),
        ("1e200", "too large"),
        ("sqrt(-1)", "not a real number"),
        ("1/0", "infinite"),
        ("x ^ ^ 2", "Not a single expression"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_refuses_unsafe_or_invalid_text_with_a_message(text, match):
    with pytest.raises(ExpressionError, match=match):
        parse_expression(text, VARIABLES)


def test_refuses_long_and_deep_text():
    with pytest.raises(ExpressionError, match="characters long"):
        parse_expression("x+" * 1500 + "x", ["x"])
    with pytest.raises(ExpressionError, match=re.escape("nested")):
        parse_expression("sin(" * 60 + "x" + ")" * 60, ["x"])


def test_expression_error_is_a_value_error():
    with pytest.raises(ValueError, match="not a declared"):
        parse_expression("y", ["x"])


@pytest.mark.parametrize("name", ["sqrt", "_x", "lambda", "a b"], ids=str)
def test_refuses_bad_declared_names(name):
    with pytest.raises(ExpressionError, match="rename"):
        parse_expression("1", [name])


def test_declared_name_shadows_constant():
    assert parse_expression("E", ["E"]) == make_symbol("E")


# Generated expressions: trees of declared symbols, small numbers and the
# allowed functions, built with sympy and printed.
_SYMBOLS = [make_symbol(v) for v in ("x", "y", "z")]
_leaves = st.one_of(
    st.sampled_from(_SYMBOLS),
    st.integers(min_value=-20, max_value=20).map(sympy.Integer),
    st.fractions(min_value=-5, max_value=5, max_denominator=12).map(
        lambda f: sympy.Rational(f.numerator, f.denominator)
    ),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).map(
        sympy.Float
    ),
    st.sampled_from([sympy.pi, sympy.E]),
)
_UNARY = [
    sympy.sin,
    sympy.cos,
    sympy.exp,
    sympy.log,
    sympy.sqrt,
    sympy.Abs,
    sympy.tanh,
    sympy.atan,
]


def _extend(children):
    return st.one_of(
        st.tuples(children, children).map(lambda ab: ab[0] + ab[1]),
        st.tuples(children, children).map(lambda ab: ab[0] * ab[1]),
        st.tuples(children, children).map(lambda ab: ab[0] - ab[1]),
        st.tuples(st.sampled_from(_SYMBOLS), st.integers(-3, 3)).map(
            lambda se: se[0] ** se[1]
        ),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda fa: fa[0](fa[1])),
    )


def _call_depth(expr):
    """Nesting of calls as printed (a power of 1/2 prints as `sqrt`)."""
    inner = max((_call_depth(arg) for arg in expr.args), default=0)
    root = isinstance(expr, sympy.Pow) and abs(expr.exp) == sympy.S.Half
    return inner + (isinstance(expr, sympy.Function) or root)


def _within_parser_limits(expr):
    """Auto-evaluation can merge powers past the exponent limit; skip those.

    Also constants the parser refuses (``exp(exp(9))`` is beyond 1e300) and
    calls nested deeper than it accepts.
    """
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I) or expr.atoms(
        sympy.AccumBounds
    ):
        return False  # e.g. atan(oo) is the interval AccumBounds(-pi/2, pi/2)
    if _call_depth(expr) > MAX_CALL_DEPTH:
        return False
    try:
        check_constants(expr)
    except ExpressionError:
        return False
    exponents = [p.exp for p in expr.atoms(sympy.Pow) if p.exp.is_number]
    numbers = [abs(float(n)) for n in expr.atoms(sympy.Number)]
    # sympy floats may leave the float64 range (e.g. 1e-309); text cannot keep them.
    doubles = all(sympy.Float(float(f)) == f for f in expr.atoms(sympy.Float))
    return (
        doubles
        and all(abs(float(e)) <= 10 for e in exponents)
        and all(n <= 1e100 for n in numbers)
        and all(map(_power_within_float_range, expr.atoms(sympy.Pow)))
    )


def _power_within_float_range(power):
    """The parser refuses a constant power beyond 1e300 or below 1e-300 (float64)."""
    if not (power.base.is_number and power.exp.is_number):
        return True
    magnitude = abs(complex(power.base.evalf()))
    return magnitude == 0 or abs(float(power.exp)) * abs(math.log10(magnitude)) <= 300


_expressions = st.recursive(_leaves, _extend, max_leaves=12).filter(
    _within_parser_limits
)


def _same_values(a, b, points=4):
    """Equal values at random points, to 30 digits: the numbers say two forms agree.

    `expand` cannot: sympy regroups what it reads back (`2*(x + y)*z` is
    `(2*x + 2*y)*z`), and under a `log` the two forms expand apart
    (`log(2) + log(x + y)` beside `log(2*x + 2*y)`). Points are positive and
    of order one; where a side has no value (a pole, a log of 0) the point
    says nothing.
    """
    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(points):
        at = {s: sympy.Float(rng.uniform(0.5, 2.0)) for s in _SYMBOLS}
        try:
            u, v = (complex(e.evalf(30, subs=at)) for e in (a, b))
        except TypeError:  # no number at this point (an unevaluated form)
            continue
        if not (cmath.isfinite(u) and cmath.isfinite(v)):
            continue
        compared += 1
        if abs(u - v) > 1e-9 * max(1.0, abs(u), abs(v)):
            return False
    return compared > 0 or a == b


@settings(max_examples=150, deadline=None)
@given(_expressions)
@example(sympy.log(2 * (_SYMBOLS[0] + _SYMBOLS[1]) * (_SYMBOLS[0] + _SYMBOLS[2])))
def test_expression_text_reads_back_equal(expr):
    text = expression_text(expr)
    back = parse_expression(text, ["x", "y", "z"])
    # Equal as sympy builds it, or else in value: sympy's automatic
    # evaluation regroups a product it reads back. A product sympy rebuilt
    # can hold `Abs(Abs(x))` unevaluated; read back, it is `Abs(x)`, so the
    # comparison is with the evaluated form.
    assert back == expr or _same_values(back, expr.doit()), (text, back)
    assert expression_text(back) == expression_text(
        parse_expression(expression_text(back), ["x", "y", "z"])
    )


def test_machine_numbers_turns_huge_exact_numbers_into_floats():
    import sympy

    from lawloop.tools import machine_numbers, make_symbol

    x = make_symbol("x")
    expr = (
        sympy.sqrt(sympy.Integer(24143766171762264090)) * x ** sympy.Rational(5, 2) / 3
    )
    out = machine_numbers(expr)
    assert not any(
        isinstance(a, sympy.Integer) and abs(a) > 2**53
        for a in out.atoms(sympy.Integer)
    )
    assert out.has(x ** sympy.Rational(5, 2))  # small exponents stay exact
    assert float(out.subs(x, 1)) == float(expr.subs(x, 1))


def test_an_integer_literal_beyond_float_range_is_refused_not_crashed():
    from lawloop.tools import ExpressionError, parse_expression

    with pytest.raises(ExpressionError, match="too large"):
        parse_expression("x*" + "9" * 400, ["x"])
