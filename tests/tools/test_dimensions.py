"""Units: parsing and the dimensional check of expressions."""

import pytest

from lawloop.tools import (
    Dimension,
    UnitError,
    check_dimensions,
    parse_expression,
    unit_dimension,
)

UNITS = {"L": "m", "g": "m/s**2", "theta0": "", "m": "kg", "v": "m/s"}


def _check(text, target="s", parameters=()):
    return check_dimensions(
        parse_expression(text, list(UNITS), parameters), UNITS, target, parameters
    )


def test_unit_dimension_products_powers_and_derived_units():
    assert unit_dimension("kg*m/s**2") == unit_dimension("N")
    assert unit_dimension("kg*m^2/s^2") == unit_dimension("J")
    assert unit_dimension("") == Dimension() == unit_dimension("1")
    assert unit_dimension("1/s") == unit_dimension("Hz")
    assert unit_dimension("V") == unit_dimension("kg*m**2/(s**3*A)")
    assert unit_dimension({"kg": 1, "m": 1, "s": -2}) == unit_dimension("N")
    assert str(unit_dimension("m**(1/2)")) == "m**(1/2)"


@pytest.mark.parametrize(
    ("unit", "match"),
    [
        ("T", "ambiguous"),
        ("foo", "Unknown unit `foo`"),
        ("m+s", "Cannot read"),
        ("m**x", "exponent"),
    ],
    ids=str,
)
def test_unit_dimension_refuses_bad_units(unit, match):
    with pytest.raises(UnitError, match=match):
        unit_dimension(unit)


def test_pendulum_law_is_consistent():
    assert _check("2*pi*sqrt(L/g)").consistent
    assert _check("2*pi*sqrt(L/g)*(1 + theta0**2/16)").consistent
    assert _check("c0*L**0.5/g**0.5", parameters=["c0"]).consistent


def test_function_arguments_must_be_dimensionless():
    check = _check("exp(L)")
    assert not check.consistent
    assert "argument of `exp`" in check.message
    assert _check("sqrt(L/g)*exp(c*L)", parameters=["c"]).consistent


def test_terms_of_a_sum_must_agree():
    check = _check("L + g", target="m")
    assert not check.consistent
    assert "differ in dimension" in check.message
    assert _check("L + c*g", target="m", parameters=["c"]).consistent


def test_wrong_target_dimension_is_reported():
    check = _check("L/g")
    assert not check.consistent
    assert "target" in check.message
    assert _check("m*v**2/2", target="J").consistent


def test_a_multiplying_parameter_absorbs_any_dimension():
    assert _check("c*L", target="kg", parameters=["c"]).consistent


def test_floats_can_be_treated_as_free_constants():
    expr = parse_expression("3.2*L", list(UNITS))
    assert not check_dimensions(expr, UNITS, "s").consistent
    assert check_dimensions(expr, UNITS, "s", floats_free=True).consistent


def test_variable_without_unit_raises():
    with pytest.raises(UnitError, match="no unit"):
        check_dimensions(parse_expression("L*x", ["L", "x"]), {"L": "m"}, "m")


@pytest.mark.parametrize(
    ("law", "says"),
    [
        # A period from sqrt(L/g): the constant is a pure number, not seconds.
        ("c0*sqrt(L/g)", "its free parameters are dimensionless"),
        ("c0*L", "its free parameters carry the dimension m**-1*s"),
        ("c0*exp(c1*L)", "carry whatever dimension the target needs"),
    ],
)
def test_a_consistent_law_says_what_its_parameters_carry(law, says):
    expr = parse_expression(law, ["L", "g"], ["c0", "c1"])
    check = check_dimensions(expr, {"L": "m", "g": "m/s**2"}, "s", ["c0", "c1"])
    assert check.consistent
    assert says in check.message
