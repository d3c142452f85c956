"""Dimensional reduction of data: the right groups and constants are found, and laws map back."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from lawloop.agent.planners._reduced import reduced_proposals
from lawloop.agent.planners._templates import screen_forms
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._reduction import find_reductions
from lawloop.experiments import Variable
from lawloop.tools import fit_parameters, parse_expression

C = 299792458.0


def _data(inputs: dict[str, np.ndarray], y: np.ndarray) -> Dataset:
    return Dataset(inputs, y, np.zeros(len(y), dtype=int))


def _sample(
    rng: np.random.Generator, variables: list[Variable], n: int
) -> dict[str, np.ndarray]:
    return {v.name: v.sample(rng, n) for v in variables}


def test_pendulum_reduces_to_theta0_times_sqrt_l_over_g() -> None:
    variables = [
        Variable("L", "m", 0.1, 2.0),
        Variable("g", "m/s**2", 1.0, 20.0),
        Variable("m", "kg", 0.1, 5.0),
        Variable("theta0", "rad", 0.05, 1.0),
    ]
    rng = np.random.default_rng(0)
    x = _sample(rng, variables, 400)
    y = 2 * np.pi * np.sqrt(x["L"] / x["g"]) * (1 + x["theta0"] ** 2 / 16)
    best = find_reductions(variables, Variable("T", "s"), _data(x, y))[0]
    names = ["L", "g", "m", "theta0"]
    scale = parse_expression(best.scale.text(), names)
    assert sympy.simplify(scale**2 - parse_expression("L/g", names)) == 0
    assert [g.text() for g in best.groups] == ["theta0"]
    assert best.constants == ()


def test_relativistic_momentum_needs_the_speed_of_light() -> None:
    variables = [Variable("m0", "kg", 1.0, 5.0), Variable("v", "m/s", 1e7, 2.5e8)]
    rng = np.random.default_rng(1)
    x = _sample(rng, variables, 300)
    y = x["m0"] * x["v"] / np.sqrt(1 - x["v"] ** 2 / C**2)
    found = find_reductions(variables, Variable("p", "kg*m/s"), _data(x, y))
    assert found, "no plausible reduction"
    best = found[0]
    assert [c.name for c in best.constants] == ["c"]
    assert len(best.groups) == 1
    # Without c, p/(m0*v) would be a constant; the data say it is not.
    assert all(r.constants for r in found)


def test_reduced_proposals_map_the_law_back_to_the_inputs() -> None:
    variables = [Variable("m0", "kg", 1.0, 5.0), Variable("v", "m/s", 1e7, 2.5e8)]
    rng = np.random.default_rng(2)
    x = _sample(rng, variables, 300)
    y = x["m0"] * x["v"] / np.sqrt(1 - x["v"] ** 2 / C**2)
    data = _data(x, y)
    best = find_reductions(variables, Variable("p", "kg*m/s"), data)[0]
    proposals = reduced_proposals(best, data, seed=0)
    good = []
    for p in proposals:
        expr = parse_expression(p.expression, ["m0", "v"], p.parameters)
        fit = fit_parameters(expr, p.parameters, x, y, initial=p.initial, n_starts=2)
        if fit.success and np.sqrt(fit.rss / len(y)) < 1e-9 * np.sqrt(np.mean(y**2)):
            good.append(p.expression)
    assert good, [p.expression for p in proposals]
    # The speed of light enters as an exact number (here squared), not as a parameter.
    assert any("89875517873681764" in text for text in good), good


def test_unreadable_units_give_no_reduction() -> None:
    variables = [Variable("x", "m", 1.0, 2.0), Variable("t", "s", 1.0, 2.0)]
    rng = np.random.default_rng(3)
    x = _sample(rng, variables, 100)
    assert find_reductions(variables, Variable("y", "furlong"), _data(x, x["x"])) == []


@pytest.mark.parametrize(
    ("law", "form"),
    [
        (lambda z: z**3 / (np.exp(z) - 1), "z**3*a/(exp(b*z) - 1)"),
        (lambda z: 3 * np.exp(-z / 2), "a*exp(b*z)"),
        (lambda z: 1 / np.sqrt(1 - (z / 4) ** 2), "a/sqrt(1 + b*z**2)"),
    ],
)
def test_screening_finds_the_form_and_its_constants(law, form) -> None:  # type: ignore[no-untyped-def]
    z = np.random.default_rng(4).uniform(0.1, 3.0, 500)
    best = screen_forms(z, law(z))[0]
    assert best.form == form
    assert best.relative_rmse < 1e-8
