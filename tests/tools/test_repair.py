"""Repairing units-inconsistent laws with free dimensional constants."""

from __future__ import annotations

import pytest
import sympy

from lawloop.tools import check_dimensions, parse_expression, repair_units

NAMES = ["x", "t", "E", "m", "v"]
UNITS = {"x": "m", "t": "s", "E": "kg*m**2/s**2", "m": "kg", "v": "m/s"}


@pytest.mark.parametrize(
    ("text", "target", "expected", "added"),
    [
        ("x + t", "m", "x + k0*t", 1),
        ("exp(E)", "1", "exp(k0*E)", 1),
        ("m*v**2", "m", "k0*m*v**2", 1),
        ("x*exp(-E) + t", "m", "x*exp(-k0*E) + k1*t", 2),
        ("sin(x)", "1", "sin(k0*x)", 1),
    ],
)
def test_repairs_insert_the_missing_constants(text, target, expected, added) -> None:  # type: ignore[no-untyped-def]
    fixed = repair_units(parse_expression(text, NAMES), UNITS, target)
    assert fixed is not None
    law, names = fixed
    assert len(names) == added
    want = parse_expression(expected, NAMES, names)
    assert sympy.simplify(law - want) == 0
    assert check_dimensions(law, UNITS, target, names).consistent


def test_a_consistent_law_needs_no_repair() -> None:
    assert (
        repair_units(parse_expression("m*v**2/2", NAMES), UNITS, "kg*m**2/s**2") is None
    )


def test_new_parameter_names_avoid_names_in_use() -> None:
    expr = parse_expression("k0*x + t", ["x", "t"], ["k0"])
    fixed = repair_units(expr, UNITS, "m", ["k0"])
    assert fixed is not None
    assert fixed[1] == ("k1",)


def test_a_repair_whose_constants_the_law_absorbs_is_refused() -> None:
    """`c0*(k0*x)**c1` is `c0*x**c1` again: `k0` would only wander along a valley."""
    params = ["c0", "c1", "c2"]
    expr = parse_expression("c0*x**c1*t**c2", NAMES, params)
    assert not check_dimensions(expr, UNITS, "m", params).consistent
    assert repair_units(expr, UNITS, "m", params) is None


def test_a_repair_that_adds_freedom_is_kept() -> None:
    """`x + c0*exp(E)`: the `k0` inside the exponential is a new rate, not a rescaling."""
    expr = parse_expression("x + c0*exp(E)", NAMES, ["c0"])
    fixed = repair_units(expr, UNITS, "m", ["c0"])
    assert fixed is not None
    assert fixed[1] == ("k0",)


def test_a_law_with_an_integer_beyond_int64_is_repaired() -> None:
    """The redundancy check evaluates the law: NumPy has no sqrt of a huge Python int (bonus.18 failed so)."""
    params = ["c0"]
    expr = parse_expression("x + sqrt(2384928624852116150570)*c0*exp(E)", NAMES, params)
    fixed = repair_units(expr, UNITS, "m", params)
    assert fixed is not None
    assert fixed[1] == ("k0",)
