"""The offline planner proposes the right power law from data alone."""

import numpy as np

from agent._data import Dataset
from agent._offline import Leader, OfflinePlanner
from experiments import Variable


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
