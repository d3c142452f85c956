import itertools
import time

import numpy as np
import pytest
import sympy as sp

from lawloop.tools.sr import (
    OperonEngine,
    SRError,
    SRResult,
    SymbolicRegressor,
    make_engine,
)

FUNCTIONS = {
    name: getattr(sp, name) for name in ("sqrt", "exp", "log", "sin", "cos", "tan")
}
FUNCTIONS["abs"] = sp.Abs
# Small budget: enough for these laws, about 2-5 s each on 2 cores.
FAST = {"population_size": 300, "generations": 100, "max_evaluations": 300_000}


def parse(text: str, names: list[str]) -> sp.Expr:
    return sp.sympify(
        text, locals={**FUNCTIONS, **{n: sp.Symbol(n, positive=True) for n in names}}
    )


def snapped(expr: sp.Expr, rel: float = 1e-4) -> sp.Expr:
    """Drop additive constants and round multiplicative ones, for comparison."""
    expr = sp.expand(sp.simplify(expr))
    scale = max((abs(float(c)) for c in expr.atoms(sp.Float)), default=1.0)
    return sp.nsimplify(
        expr.xreplace(
            {c: 0 for c in expr.atoms(sp.Float) if abs(float(c)) < rel * scale}
        ),
        tolerance=rel,
        rational=True,
    )


@pytest.fixture(scope="module")
def quadratic() -> SRResult:
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 3.0, 300)
    return OperonEngine(**FAST).search(
        x[:, None], 3 * x**2, variable_names=["x"], seed=1
    )


def test_engine_satisfies_protocol() -> None:
    assert isinstance(make_engine("operon"), SymbolicRegressor)
    assert isinstance(make_engine(), OperonEngine)


def test_recovers_quadratic(quadratic: SRResult) -> None:
    x = sp.Symbol("x", positive=True)
    expr = sp.expand(parse(quadratic.best.expression, ["x"]))
    coeff = float(expr.coeff(x, 2))
    assert coeff == pytest.approx(3.0, abs=1e-3)
    assert abs(float((expr - coeff * x**2).subs(x, 2.0))) < 1e-3


def test_result_is_well_formed(quadratic: SRResult) -> None:
    front = quadratic.candidates
    assert [c.complexity for c in front] == sorted(c.complexity for c in front)
    assert all(a.mse > b.mse for a, b in itertools.pairwise(front))
    assert quadratic.engine == "operon"
    assert quadratic.engine_version
    assert quadratic.params["random_state"] == 1
    assert quadratic.params["optimizer_iterations"] >= 10
    for c in front:
        assert "^" not in c.expression
        assert parse(c.expression, ["x"]).free_symbols <= {
            sp.Symbol("x", positive=True)
        }


@pytest.mark.slow  # an SR search: 4-12 s
def test_pendulum_on_front() -> None:
    rng = np.random.default_rng(0)
    L, g = rng.uniform(0.1, 2.0, 300), rng.uniform(1.0, 20.0, 300)
    result = OperonEngine(**FAST).search(
        np.c_[L, g], 2 * np.pi * np.sqrt(L / g), variable_names=["L", "g"], seed=0
    )
    Ls, gs = sp.symbols("L g", positive=True)
    truth = 2 * sp.pi * sp.sqrt(Ls / gs)
    ratios = [
        sp.simplify(snapped(parse(c.expression, ["L", "g"])) / truth)
        for c in result.candidates
    ]
    assert any(r.is_number and abs(float(r) - 1) < 1e-3 for r in ratios), (
        result.candidates
    )


@pytest.mark.slow  # a second SR search
def test_same_seed_same_front(quadratic: SRResult) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 3.0, 300)
    again = OperonEngine(**FAST).search(
        x[:, None], 3 * x**2, variable_names=["x"], seed=1
    )
    assert again.candidates == quadratic.candidates


def test_scaling_tiny_values_in_original_units() -> None:
    rng = np.random.default_rng(0)
    E = rng.uniform(0.1, 10.0, 300)
    X = (E * 1e-22)[:, None]  # a field in odd units: inputs near 1e-22
    y = 8.854e-12 * E**2 / 2  # outputs near 1e-10
    result = OperonEngine(**FAST).search(X, y, variable_names=["E"], seed=0)
    assert result.params["x_scales"] == [1e-21]
    assert result.params["y_scale"] == 1e-10
    best = result.best
    expr = parse(best.expression, ["E"])
    pred = sp.lambdify(sorted(expr.free_symbols, key=str), expr)(X[:, 0])
    np.testing.assert_allclose(pred, y, rtol=1e-4, atol=1e-6 * np.abs(y).max())
    assert best.mse < 1e-8 * np.mean(y**2)
    Es = sp.Symbol("E", positive=True)
    assert float(sp.expand(expr).coeff(Es, 2)) == pytest.approx(
        8.854e-12 / 2 * 1e44, rel=1e-4
    )


def test_time_limit_is_only_a_cap() -> None:
    x = np.linspace(1.0, 2.0, 50)
    start = time.perf_counter()
    result = OperonEngine(population_size=100, generations=5).search(
        x[:, None], x, variable_names=["x"], seed=0, time_limit=30
    )
    assert time.perf_counter() - start < 30
    assert result.params["max_time"] == 30


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        ({}, {"variable_names": ["x", "y"]}),
        ({}, {"variable_names": ["exp"]}),
        ({}, {"variable_names": ["x"], "time_limit": 0}),
    ],
)
def test_bad_search_arguments(
    kwargs: dict[str, object], args: dict[str, object]
) -> None:
    x = np.linspace(1.0, 2.0, 10)
    with pytest.raises(SRError):
        OperonEngine(**kwargs).search(x[:, None], x, seed=0, **args)


def test_bad_settings() -> None:
    with pytest.raises(SRError, match="tanh"):
        OperonEngine(allowed_symbols="add,tanh,constant,variable")
    with pytest.raises(SRError, match="Did you mean `operon`"):
        make_engine("opron")
