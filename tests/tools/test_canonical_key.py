"""`canonical_key` abstracts constants and keeps structure."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lawloop.tools import canonical_form, canonical_key, parse_expression

VARS = ["L", "g", "x", "y", "I_", "r"]


def _key(text, parameters=()):
    return canonical_key(parse_expression(text, VARS, parameters), parameters)


@pytest.mark.parametrize(
    ("a", "b", "parameters"),
    [
        ("c0*sqrt(L/g)", "6.28*L**0.5/g**0.5", ["c0"]),
        ("c0*c1*x", "3*x", ["c0", "c1"]),
        ("x + c0 + 2", "x + 1", ["c0"]),
        ("a*exp(-b*x)", "2*exp(-x/2)", ["a", "b"]),
        ("c0*(x + y)", "3.5*x - 2*y", ["c0"]),
        (
            "1 / (4 * pi * 8.854e-12 * 299792458.0 ** 2) * 2 * I_ / r",
            "3.2e-13*I_/r",
            [],
        ),
    ],
    ids=["pendulum", "product", "offset", "decay", "distributed", "feynman-floats"],
)
def test_constant_only_differences_give_equal_keys(a, b, parameters):
    assert _key(a, [p for p in parameters if p in a]) == _key(
        b, [p for p in parameters if p in b]
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x**2", "x**3"),
        ("sin(x)", "cos(x)"),
        ("x*y", "x + y"),
        ("sqrt(L/g)", "L/g"),
        ("exp(x)", "exp(x**2)"),
    ],
    ids=str,
)
def test_different_structures_give_different_keys(a, b):
    assert _key(a) != _key(b)


def test_key_is_a_sha256_hex_digest():
    key = _key("x")
    assert len(key) == 64
    assert int(key, 16) >= 0


_TEMPLATES = [
    "{a}*x**2 + {b}",
    "{a}*sin({b}*x)",
    "{a}*sqrt(L/g)",
    "exp(-{a}*x)/({b} + y)",
    "{a}*x*y/r**2",
]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(_TEMPLATES),
    st.floats(min_value=1e-6, max_value=1e6),
    st.floats(min_value=1e-6, max_value=1e6),
)
def test_key_ignores_constant_values_and_form_is_idempotent(template, a, b):
    # sin(1.0*x) is sin(x): no constant left where the template has `c1`.
    assume(b != 1.0)
    with_values = parse_expression(template.format(a=repr(a), b=repr(b)), VARS)
    with_parameters = parse_expression(
        template.format(a="c0", b="c1"), VARS, ["c0", "c1"]
    )
    assert canonical_key(with_values) == canonical_key(with_parameters, ["c0", "c1"])
    form = canonical_form(with_values)
    assert canonical_form(form) == form
