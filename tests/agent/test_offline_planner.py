"""The offline planner proposes the right power law from data alone."""

import numpy as np

from lawloop.agent.planners._offline import Leader, OfflinePlanner
from lawloop.agent.science._dataset import Dataset
from lawloop.experiments import Variable


def _data(fn, variables, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = {}
    for v in variables:
        mag = rng.uniform(v.low, v.high, n)
        x[v.name] = (
            -mag
            if v.sign == "negative"
            else mag * (np.where(rng.random(n) < 0.5, -1, 1) if v.sign == "both" else 1)
        )
    return Dataset(x, fn(**x), np.zeros(n, dtype=int))


def test_power_law_rounded_to_halves_is_proposed_for_the_pendulum():
    variables = (
        Variable("L", "m", 0.1, 2.0),
        Variable("g", "m/s**2", 1.0, 20.0),
        Variable("m", "kg", 0.1, 10.0),
    )
    data = _data(lambda L, g, m: 2 * np.pi * np.sqrt(L / g), variables)
    props = OfflinePlanner(variables, target="T").propose(data, [])
    texts = [p.expression.replace(" ", "") for p in props]
    assert "c0*L**(1/2)*g**(-1/2)" in texts


def test_signed_variables_get_integer_exponents_and_angles_get_sines():
    variables = (
        Variable("q", "A*s", 0.1, 10.0, sign="both"),
        Variable("v", "m/s", 0.1, 10.0),
        Variable("theta", "", 0.1, 3.0),
    )
    data = _data(lambda q, v, theta: q * v * np.sin(theta), variables)
    texts = [
        p.expression.replace(" ", "")
        for p in OfflinePlanner(variables, target="F").propose(data, [])
    ]
    assert "c0*q*v*sin(theta)" in texts


def test_mutations_drop_variables_and_round_free_exponents_of_a_leader():
    variables = (Variable("L", "m", 0.1, 2.0), Variable("g", "m/s**2", 1.0, 20.0))
    leader = Leader(
        "h1", "c0*L**c1*g**c2", ("c0", "c1", "c2"), {"c0": 6.3, "c1": 0.49, "c2": -0.51}
    )
    data = _data(lambda L, g: np.sqrt(L / g), variables)
    props = [
        p
        for p in OfflinePlanner(variables, target="T").propose(data, [leader])
        if p.parent_id == "h1"
    ]
    texts = {p.expression.replace(" ", "") for p in props}
    assert any("sqrt(L)" in t or "L**(1/2)" in t for t in texts)
    assert all(p.source == "mutation" for p in props)


def fixed_constants(variables, fn, expression, values, stderr):
    """The planner's proposals that fix a constant of the leader `expression`, by text."""
    leader = Leader("h1", expression, tuple(values), values, stderr)
    proposals = OfflinePlanner(variables, target="z").propose(
        _data(fn, variables), [leader]
    )
    return {
        p.expression.replace(" ", ""): p
        for p in proposals
        if p.parent_id == "h1" and "set `" in p.rationale
    }


def test_a_constant_the_fit_cannot_tell_from_zero_or_one_is_fixed_there():
    """The leader's offset is 0.003 ± 0.01 (noise fitted) and its factor 1.002 ± 0.003."""
    variables = (Variable("x", "m", 0.1, 2.0), Variable("y", "", 0.1, 2.0))
    props = fixed_constants(
        variables,
        lambda x, y: x * (1 + y),
        "x*(c0 + y) + c1",
        {"c0": 1.002, "c1": 0.003},
        {"c0": 0.003, "c1": 0.01},
    )
    assert set(props) == {"c1+x*(y+1)", "x*(c0+y)"}, set(props)
    assert props["x*(c0+y)"].parameters == ("c0",)
    assert props["x*(c0+y)"].initial == {"c0": 1.002}
    assert "0.003 ± 0.01 to 0" in props["x*(c0+y)"].rationale


def test_a_significant_constant_is_kept_free():
    """2.0 ± 0.01 and 0.5 ± 0.01 are far from 0, 1 and -1 in standard errors."""
    variables = (Variable("x", "m", 0.1, 2.0),)
    props = fixed_constants(
        variables,
        lambda x: 2 * x + 0.5,
        "c0*x + c1",
        {"c0": 2.0, "c1": 0.5},
        {"c0": 0.01, "c1": 0.01},
    )
    assert props == {}


def test_an_undetermined_scale_is_set_to_one_and_the_nearest_simple_value_wins():
    """c0 and c1 only matter as c0/c1 (infinite standard errors); c2 = 0.7 ± 0.5 is nearer 1 than 0."""
    variables = (Variable("x", "m", 0.1, 2.0), Variable("y", "m", 0.1, 2.0))
    props = fixed_constants(
        variables,
        lambda x, y: x / y + 1,
        "c0*x/(c1*y) + c2",
        {"c0": 3.1, "c1": 3.0, "c2": 0.7},
        {"c0": float("inf"), "c1": float("inf"), "c2": 0.5},
    )
    assert set(props) == {"c2+x/(c1*y)", "c0*x/y+c2", "c0*x/(c1*y)+1"}, set(props)
