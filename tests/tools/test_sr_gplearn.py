import numpy as np
import pytest
import sympy as sp

from lawloop.tools.sr import GplearnEngine, SRError
from lawloop.tools.sr._gplearn import program_text

pytest.importorskip("gplearn")


def test_program_text_makes_protection_explicit() -> None:
    from gplearn.functions import _function_map

    program = [_function_map["div"], _function_map["sqrt"], 0, _function_map["log"], 1]
    text = program_text(program, ["L", "g"])
    assert text == "(sqrt(abs(L))/log(abs(g)))"
    sp.sympify(text, locals={"abs": sp.Abs})


def test_unsupported_function_rejected() -> None:
    with pytest.raises(SRError, match="max"):
        GplearnEngine(function_set=("add", "max"))


def test_baseline_finds_product() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(1.0, 5.0, (200, 2))
    result = GplearnEngine(population_size=500, generations=10).search(
        X, X[:, 0] * X[:, 1], variable_names=["a", "b"], seed=0
    )
    assert result.best.mse < 1e-6
    a, b = sp.symbols("a b")
    assert (
        sp.simplify(sp.sympify(result.best.expression, locals={"abs": sp.Abs}) - a * b)
        == 0
    )
