"""Designs honour each variable's sampling, sign and integer rules, and aim at disagreement."""

import numpy as np

from lawloop.agent.science._design import disagreement_design, space_filling
from lawloop.experiments import Variable

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


def test_a_core_design_covers_the_central_span_in_the_sampling_scale():
    from lawloop.agent.science._design import to_unit_cube

    d = space_filling(VARS, 64, np.random.default_rng(1), span=0.5)
    u = to_unit_cube(d.inputs, VARS)
    assert u.min() >= 0.25 - 1e-12
    assert u.max() <= 0.75 + 1e-12
    # log-uniform `a`: the core is 10**-1 .. 10**1, the middle of its decades
    assert d.inputs["a"].min() > 0.099
    assert d.inputs["a"].max() < 10.01
    assert "central 50%" in d.reason


def test_to_unit_cube_inverts_from_unit_cube():
    from lawloop.agent.science._design import from_unit_cube, to_unit_cube

    smooth = (VARS[0], VARS[1])
    u = np.random.default_rng(2).uniform(size=(50, 3))
    back = to_unit_cube(from_unit_cube(u, smooth), smooth)
    np.testing.assert_allclose(back, u[:, :2], atol=1e-12)


def test_probes_go_beyond_the_seen_range_and_say_which_way():
    from lawloop.agent.science._design import probe_design, seen_box, to_unit_cube

    core = space_filling(VARS[:2], 64, np.random.default_rng(3), span=0.5)
    seen = seen_box(core.inputs, VARS[:2])
    probe = probe_design(VARS[:2], seen, 8, np.random.default_rng(4), law="c0*a")
    assert probe is not None
    u = to_unit_cube(probe.inputs, VARS[:2])
    outside = (u < seen[0] - 1e-12) | (u > seen[1] + 1e-12)
    assert outside.any(axis=1).all()  # every probe leaves the seen box
    assert len(u) == 8
    assert "beyond the range measured so far" in probe.reason
    assert "a up/down" in probe.reason
    assert "c0*a" in probe.reason
    full = (np.zeros(2), np.ones(2))
    assert probe_design(VARS[:2], full, 8, np.random.default_rng(4), law="x") is None


def test_repeats_go_where_noise_hides_the_rivals_difference():
    smooth = (VARS[0],)
    # rivals 1 sigma apart everywhere: one measurement cannot tell them apart
    rivals = [("a", lambda x: x["a"]), ("a + 1", lambda x: x["a"] + 1.0)]
    d = disagreement_design(
        smooth,
        rivals,
        8,
        np.random.default_rng(5),
        noise_sd=1.0,
        tolerance=1e-9,
        replicates=20,
    )
    assert len(d.inputs["a"]) == 8 + 20
    _, counts = np.unique(d.inputs["a"], return_counts=True)
    assert counts.max() >= 9  # (3 sigma / 1 sigma)**2 measurements of a point
    assert "noise hides the difference" in d.reason
    # far apart rivals: plain repeats for the noise estimate
    apart = [("a", lambda x: x["a"]), ("a + 100", lambda x: x["a"] + 100.0)]
    d2 = disagreement_design(
        smooth,
        apart,
        8,
        np.random.default_rng(5),
        noise_sd=1.0,
        tolerance=1e-9,
        replicates=4,
    )
    assert len(d2.inputs["a"]) == 12
    assert "measured twice" in d2.reason


def test_random_design_is_uniform_over_the_full_ranges_and_says_so():
    from lawloop.agent.science._design import random_design, to_unit_cube

    d = random_design(VARS[:2], 400, np.random.default_rng(6), replicates=4)
    u = to_unit_cube(d.inputs, VARS[:2])
    assert len(u) == 404
    assert d.reason.startswith("random: 400 independent")
    assert u.min() < 0.05  # not confined to a core
    assert u.max() > 0.95
    assert abs(u[:400].mean() - 0.5) < 0.05
