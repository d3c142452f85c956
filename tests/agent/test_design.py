"""Designs honour each variable's sampling, sign and integer rules, and aim at disagreement."""

import numpy as np

from agent._design import disagreement_design, space_filling
from experiments import Variable

VARS = (
    Variable("a", "m", 0.01, 100.0, sampling="log-uniform"),
    Variable("b", "s", 1.0, 2.0, sign="both"),
    Variable("n", "", 1.0, 9.0, integer=True),
)


def test_space_filling_respects_ranges_signs_integers_and_adds_replicates():
    d = space_filling(VARS, 64, np.random.default_rng(0), replicates=8)
    assert all(len(v) == 72 for v in d.inputs.values())
    a, b, n = d.inputs["a"], d.inputs["b"], d.inputs["n"]
    assert a.min() >= 0.01
    assert a.max() <= 100.0
    assert (np.log10(a) < 0).mean() > 0.3  # log-uniform: half the points below 1
    assert (b < 0).any()
    assert (b > 0).any()
    assert np.all((np.abs(b) >= 1) & (np.abs(b) <= 2))
    assert np.all(n == np.round(n))
    assert set(np.unique(n)) <= set(range(1, 10))
    assert np.array_equal(a[64:], a[:8])  # replicates repeat the first points exactly
    assert "measured twice" in d.reason


def test_space_filling_is_reproducible_from_its_seed():
    d1 = space_filling(VARS, 32, np.random.default_rng(5))
    d2 = space_filling(VARS, 32, np.random.default_rng(5))
    assert all(np.array_equal(d1.inputs[k], d2.inputs[k]) for k in d1.inputs)


def test_disagreement_design_puts_half_the_points_where_rivals_differ():
    vars_ = (Variable("x", "m", 0.0, 1.0),)
    rivals = [
        ("flat", lambda d: np.ones_like(d["x"])),
        ("step", lambda d: np.where(d["x"] > 0.8, 2.0, 1.0)),
    ]
    d = disagreement_design(
        vars_, rivals, 20, np.random.default_rng(1), noise_sd=0.01, tolerance=1e-3
    )
    x = d.inputs["x"]
    assert np.all(x[:10] > 0.8)  # the disagreement half
    assert "disagree" in d.reason
