"""Physical constants: values, readable units, and the right dimensions."""

import math

import pytest

from lawloop.tools import PHYSICAL_CONSTANTS, Dimension, pi_groups, unit_dimension

CONSTANTS = {c.name: c for c in PHYSICAL_CONSTANTS}


def _dim(name):
    return unit_dimension(CONSTANTS[name].unit)


def test_names_are_unique_and_the_expected_ones():
    assert len(CONSTANTS) == len(PHYSICAL_CONSTANTS)
    assert set(CONSTANTS) == {
        "c",
        "G",
        "h",
        "k_B",
        "epsilon_0",
        "e",
        "m_e",
        "g_n",
        "N_A",
    }


@pytest.mark.parametrize("constant", PHYSICAL_CONSTANTS, ids=lambda c: c.name)
def test_every_constant_has_a_readable_unit_and_a_positive_value(constant):
    assert isinstance(unit_dimension(constant.unit), Dimension)
    assert math.isfinite(constant.value)
    assert constant.value > 0
    assert constant.description


def test_exact_si_defining_values():
    assert CONSTANTS["c"].value == 299792458.0
    assert CONSTANTS["h"].value == 6.62607015e-34
    assert CONSTANTS["e"].value == 1.602176634e-19
    assert CONSTANTS["k_B"].value == 1.380649e-23
    assert CONSTANTS["N_A"].value == 6.02214076e23
    assert CONSTANTS["g_n"].value == 9.80665


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        (lambda: _dim("h") * _dim("c"), "J*m"),
        (lambda: _dim("k_B") * unit_dimension("K"), "J"),
        (lambda: _dim("e") ** 2 / (_dim("epsilon_0") * unit_dimension("m")), "J"),
        (lambda: _dim("G") * unit_dimension("kg") ** 2 / unit_dimension("m"), "J"),
        (lambda: _dim("m_e") * _dim("c") ** 2, "J"),
        (lambda: _dim("g_n"), "m/s**2"),
        (lambda: _dim("N_A") * unit_dimension("mol"), ""),
        (lambda: _dim("e"), "C"),
        (lambda: _dim("epsilon_0"), "F/m"),
    ],
    ids=[
        "h*c",
        "k_B*K",
        "coulomb",
        "gravity",
        "m_e*c**2",
        "g_n",
        "N_A",
        "e",
        "epsilon_0",
    ],
)
def test_constants_have_the_right_dimension(dimension, expected):
    assert dimension() == unit_dimension(expected)


def test_the_fine_structure_constant_is_the_one_group_of_e_epsilon0_h_c():
    names = ["e", "epsilon_0", "h", "c"]
    basis = pi_groups({n: CONSTANTS[n].unit for n in names}, "alpha", "")
    (group,) = basis.groups
    value = float(group.evaluate({n: CONSTANTS[n].value for n in names}))
    alpha = 7.2973525693e-3  # CODATA 2018
    # The group is e**2/(epsilon_0*h*c) = 2*alpha, or its inverse.
    assert value == pytest.approx(2 * alpha, rel=1e-9) or value == pytest.approx(
        1 / (2 * alpha), rel=1e-9
    )
