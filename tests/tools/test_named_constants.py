"""Constants of nature by name where a law's exact numbers are made of them."""

import pytest

from lawloop.tools import name_constants, parse_expression


@pytest.mark.parametrize(
    ("law", "variables", "named"),
    [
        # g_n / k_B, as dimensional analysis writes it into a Boltzmann factor.
        (
            "c0*n_0*exp(980665000000000000000000000000*c1*m*x/(1380649*T))",
            ["n_0", "m", "x", "T"],
            "c0*n_0*exp(c1*g_n*m*x/(T*k_B))",
        ),
        # 1 / m_e: the 40-digit integer of the newcomer's report.
        (
            "20000000000000000000000000000000000000000*c1*m/18218767403",
            ["m"],
            "c1*m/m_e",
        ),
        # h / (2 pi), an exact rational times pi.
        (
            "c1*w*662607015/(2*pi*1000000000000000000000000000000000000000000)",
            ["w"],
            "c1*h*w/(2*pi)",
        ),
    ],
)
def test_exact_numbers_made_of_constants_are_named(law, variables, named):
    expr = parse_expression(law, variables, ["c0", "c1"])
    assert str(name_constants(expr)) == named


def test_the_laws_own_numbers_and_fitted_floats_stay_numbers():
    # 1/16 is the law's own; 7.2429233506e22 is a fitted 1/k_B 7e-6 off: a claim
    # its interval must support, not a name to print.
    for law in ("2*pi*sqrt(L/g)*(theta0**2/16 + 1)", "7.2429233506e22*L/g"):
        expr = parse_expression(law, ["L", "g", "theta0"], [])
        assert name_constants(expr) == expr
