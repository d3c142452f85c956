"""Buckingham pi analysis: groups, scale, and the `Monomial` text and values."""

from fractions import Fraction
from itertools import combinations
from math import gcd

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lawloop.tools import (
    Dimension,
    Monomial,
    UnitError,
    parse_expression,
    pi_groups,
    unit_dimension,
)

PENDULUM = {"L": "m", "g": "m/s**2", "m": "kg", "theta0": "rad"}
NEWTON = {"m1": "kg", "m2": "kg", "r": "m", "G": "m**3/(kg*s**2)"}


def _sympy(text, names):
    """The text as a sympy expression over positive symbols."""
    symbols = {n: sympy.Symbol(n, positive=True) for n in names}
    return sympy.parse_expr(text, local_dict=symbols)


def _same(monomial, text):
    names = sorted(
        {*monomial.names, *(str(s) for s in sympy.sympify(text).free_symbols)}
    )
    return sympy.simplify(_sympy(monomial.text(), names) - _sympy(text, names)) == 0


def _vector(monomial, names):
    exponents = dict(monomial.exponents)
    return [exponents.get(n, Fraction(0)) for n in names]


def test_pendulum_gives_period_times_sqrt_g_over_length_and_theta0():
    basis = pi_groups(PENDULUM, "T", "s")
    assert basis.reachable
    assert _same(basis.target_group(), "T*sqrt(g/L)")
    assert _same(basis.scale, "sqrt(L/g)")
    assert [g.text() for g in basis.groups] == ["theta0"]
    # The mass enters nothing: no product with it can be dimensionless.
    assert "m" not in basis.scale.names
    assert all("m" not in g.names for g in basis.groups)
    # The texts are readable by the project's own parser.
    parse_expression(basis.target_group().text(), ["T", "g", "L"])


def test_newton_gravity_scale_is_g_m1_m2_over_r2_up_to_the_group():
    basis = pi_groups(NEWTON, "F", "kg*m/s**2")
    (group,) = basis.groups
    assert _same(group, "m1/m2") or _same(group, "m2/m1")
    units = {n: unit_dimension(u) for n, u in NEWTON.items()}
    assert basis.scale.dimension(units) == unit_dimension("N")
    # scale / (G*m1*m2/r**2) is a power of the group.
    names = list(NEWTON)
    ratio = np.array(_vector(basis.scale, names), dtype=object) - np.array(
        [1, 1, -2, 1], dtype=object
    )
    vector = np.array(_vector(group, names), dtype=object)
    power = next(a / b for a, b in zip(ratio, vector, strict=True) if b)
    assert list(ratio) == list(power * vector)


def test_unreachable_target_has_no_scale():
    basis = pi_groups({"x": "m", "y": "m"}, "t", "s")
    assert basis.scale is None
    assert not basis.reachable
    assert basis.target_group() is None
    (group,) = basis.groups
    assert group.text() == "x/y"


def test_dimensionless_target_has_scale_one():
    basis = pi_groups(PENDULUM, "ratio", "")
    assert basis.scale.text() == "1"
    assert basis.target_group().text() == "ratio"


def test_reynolds_number_and_drag_scale():
    units = {"rho": "kg/m**3", "v": "m/s", "L": "m", "mu": "Pa*s"}
    basis = pi_groups(units, "F", "N")
    (group,) = basis.groups
    assert group.text() == "rho*v*L/mu"
    assert basis.scale.dimension(units) == unit_dimension("N")


def test_quantities_may_be_given_as_dimensions():
    by_text = pi_groups(PENDULUM, "T", "s")
    by_dimension = pi_groups(
        {n: unit_dimension(u) for n, u in PENDULUM.items()}, "T", unit_dimension("s")
    )
    assert by_text == by_dimension


def test_exponent_cap_orders_groups_and_the_fallback_completes_them():
    units = {"a": "m", "b": "m**4", "c": "m*s", "d": "m**3/s"}
    capped = pi_groups(units, "y", "")
    assert [g.text() for g in capped.groups] == ["c*d/b", "a**4/b"]
    uncapped = pi_groups(units, "y", "", max_exponent=4)
    assert [g.text() for g in uncapped.groups] == ["a**4/b", "c*d/b"]
    # Only groups over the cap exist: still n - rank of them.
    (group,) = pi_groups({"a": "m**4", "b": "m**5"}, "y", "").groups
    assert group.text() == "a**5/b**4"
    # Exponents too large for floating point are computed exactly.
    huge = {"a": "m**2097152", "b": "m", "c": "s", "d": "s**3"}
    basis = pi_groups(huge, "y", "m**2*s**(1/2)")
    assert [g.text() for g in basis.groups] == ["c**3/d", "b**2097152/a"]
    assert basis.scale.text() == "b**2*sqrt(c)"


@pytest.mark.parametrize(
    ("quantities", "target_unit", "match"),
    [
        ({"L": "furlong"}, "s", "`L`.*furlong"),
        ({"L": "m+s"}, "s", "`L`"),
        ({"L": "m"}, "T", "`T`"),
    ],
    ids=["unknown", "syntax", "target"],
)
def test_bad_units_raise_unit_error(quantities, target_unit, match):
    with pytest.raises(UnitError, match=match):
        pi_groups(quantities, "T", target_unit)


def test_target_among_inputs_raises_unit_error():
    with pytest.raises(UnitError, match="`L` is also an input"):
        pi_groups(PENDULUM, "L", "m")


def test_monomial_text():
    def mono(**exponents):
        return Monomial(tuple((n, Fraction(e)) for n, e in exponents.items()))

    assert mono().text() == "1"
    assert mono(theta0=1).text() == "theta0"
    assert mono(m1=1, m2=1, r=-2).text() == "m1*m2/r**2"
    assert mono(L=-1, g=-1).text() == "1/(L*g)"
    assert mono(T=1, L=Fraction(-1, 2), g=Fraction(1, 2)).text() == "T*sqrt(g)/sqrt(L)"
    assert mono(x=Fraction(1, 3), y=Fraction(-3, 2)).text() == "x**(1/3)/y**(3/2)"
    assert str(mono(x=2)) == "x**2"


def test_monomial_evaluate_allows_negative_values_with_integer_exponents():
    force = Monomial((("m1", Fraction(1)), ("m2", Fraction(1)), ("r", Fraction(-2))))
    values = {"m1": np.array([-2.0, 3.0]), "m2": 4.0, "r": np.array([2.0, -1.0])}
    np.testing.assert_allclose(force.evaluate(values), [-2.0, 12.0])
    assert force.evaluate(values).dtype == np.float64
    root = Monomial((("x", Fraction(1, 2)),))
    assert np.isnan(root.evaluate({"x": -1.0}))
    assert Monomial(()).evaluate({"x": np.zeros(3)}).tolist() == [1.0, 1.0, 1.0]


def test_monomial_dimension_names_a_missing_unit():
    with pytest.raises(UnitError, match="`g` has no unit"):
        Monomial((("g", Fraction(1)),)).dimension({"L": "m"})


EXPONENTS = [Fraction(p, q) for p in range(-3, 4) for q in (1, 2, 3) if p]


@settings(max_examples=60, deadline=None)
@given(
    exponents=st.lists(st.sampled_from(EXPONENTS), min_size=0, max_size=4),
    data=st.data(),
)
def test_monomial_evaluate_matches_its_text(exponents, data):
    names = ["L", "g", "m1", "theta0"][: len(exponents)]
    monomial = Monomial(tuple(zip(names, exponents, strict=True)))
    values = {
        n: data.draw(st.floats(0.01, 100.0, allow_nan=False), label=n) for n in names
    }
    expected = _sympy(monomial.text(), names).subs(
        {sympy.Symbol(n, positive=True): v for n, v in values.items()}
    )
    assert float(monomial.evaluate(values)) == pytest.approx(float(expected), rel=1e-12)
    parse_expression(monomial.text(), names)  # readable by the project's parser


# A reference implementation of the rules, straight from their statement:
# every subset's restricted null space, solved exactly by sympy.


def _oracle(matrix, target, max_exponent):
    n = matrix.cols
    circuits = []
    for size in range(1, n + 1):
        for subset in combinations(range(n), size):
            null = matrix[:, list(subset)].nullspace()
            if len(null) == 1 and all(null[0]):
                vector = [0] * n
                denominators = [sympy.fraction(x)[1] for x in null[0]]
                scale = sympy.ilcm(1, *denominators)
                for j, x in zip(subset, null[0], strict=True):
                    vector[j] = int(x * scale)
                g = gcd(*vector)
                vector = [x // g for x in vector]
                first = next(x for x in vector if x)
                if sum(vector) < 0 or (sum(vector) == 0 and first < 0):
                    vector = [-x for x in vector]
                circuits.append(tuple(vector))

    def key(v):
        support = tuple(i for i, x in enumerate(v) if x)
        return (len(support), sum(map(abs, v)), max(map(abs, v)), support)

    within = sorted((c for c in circuits if max(map(abs, c)) <= max_exponent), key=key)
    over = sorted((c for c in circuits if max(map(abs, c)) > max_exponent), key=key)
    chosen = []
    for c in within + over:
        if sympy.Matrix([*chosen, c]).rank() == len(chosen) + 1:
            chosen.append(c)

    scales = [] if any(target) else [{}]
    for size in range(1, n + 1):
        if scales:
            break
        for subset in combinations(range(n), size):
            block = matrix[:, list(subset)]
            if block.rank() < size:
                continue
            try:
                solution, _ = block.gauss_jordan_solve(target)
            except ValueError:
                continue
            if all(solution):
                scales.append(dict(zip(subset, solution, strict=True)))

    def scale_key(s):
        return (
            len(s),
            max((sympy.fraction(x)[1] for x in s.values()), default=1),
            sum(abs(x) for x in s.values()),
            tuple(sorted(s)),
        )

    return chosen, (min(scales, key=scale_key) if scales else None)


@st.composite
def problems(draw):
    rows = draw(st.integers(1, 4))
    n = draw(st.integers(1, 5))
    entry = st.integers(-2, 2).map(Fraction) | st.sampled_from(
        [Fraction(1, 2), Fraction(-1, 2), Fraction(3, 2)]
    )
    columns = [[draw(entry) for _ in range(rows)] for _ in range(n)]
    target = [draw(entry) for _ in range(rows)]
    return columns, target, draw(st.integers(0, 3))


def _dimension(exponents):
    return Dimension(tuple(exponents) + (Fraction(0),) * (7 - len(exponents)))


@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_groups_and_scale_follow_the_rules(problem):
    columns, target, max_exponent = problem
    names = [f"q{j}" for j in range(len(columns))]
    units = {n: _dimension(c) for n, c in zip(names, columns, strict=True)}
    basis = pi_groups(units, "y", _dimension(target), max_exponent=max_exponent)

    matrix = sympy.Matrix(len(target), len(columns), lambda i, j: columns[j][i])
    rank = matrix.rank()
    vectors = [_vector(g, names) for g in basis.groups]
    assert len(basis.groups) == len(columns) - rank
    if vectors:
        assert sympy.Matrix(vectors).rank() == len(vectors)
    for group, vector in zip(basis.groups, vectors, strict=True):
        assert group.dimension(units).dimensionless
        assert all(e.denominator == 1 for e in vector)
        assert gcd(*(int(e) for e in vector)) == 1
        first = next(e for e in vector if e)
        assert sum(vector) > 0 or (sum(vector) == 0 and first > 0)
        assert group.names == tuple(n for n in names if n in group.names)

    reachable = matrix.row_join(sympy.Matrix(target)).rank() == rank
    assert basis.reachable == reachable
    if reachable:
        assert basis.scale.dimension(units) == _dimension(target)
        assert (
            basis.target_group()
            .dimension({**units, "y": _dimension(target)})
            .dimensionless
        )

    chosen, scale = _oracle(matrix, sympy.Matrix(target), max_exponent)
    assert [tuple(int(e) for e in v) for v in vectors] == chosen
    if scale is not None:
        expected = {
            names[j]: Fraction(int(sympy.fraction(x)[0]), int(sympy.fraction(x)[1]))
            for j, x in scale.items()
        }
        assert dict(basis.scale.exponents) == expected
