"""End to end: a pendulum campaign finds its period law, attacks it, and records why."""

import numpy as np
import pytest
import sympy

from lawloop.agent import CampaignConfig, campaign_summary, start_campaign
from lawloop.storage import open_store
from lawloop.tools import is_equivalent, parse_expression
from tests.conftest import FAST, dump_diff

PENDULUM_VARS = ["L", "theta0", "m", "g"]


def _truth_check(expression: str) -> bool:
    found = parse_expression(expression, PENDULUM_VARS)
    truth = parse_expression("2*pi*sqrt(L/g)", PENDULUM_VARS)
    rng = np.random.default_rng(0)

    def sample(n):
        return {
            "L": rng.uniform(0.1, 2, n),
            "theta0": rng.uniform(0.01, 0.2, n),
            "m": rng.uniform(0.1, 10, n),
            "g": rng.uniform(1, 20, n),
        }

    return is_equivalent(found, truth, sample).recovered


@pytest.fixture(scope="module")
def pendulum_run(recorded_pendulum):
    _, db, summary = recorded_pendulum
    return db, summary


def _exact_period(inputs):
    """The full pendulum's period: 4 K(sin^2(theta0/2)) sqrt(L/g)."""
    from scipy.special import ellipk

    m = np.sin(inputs["theta0"] / 2) ** 2
    return 4 * ellipk(m) * np.sqrt(inputs["L"] / inputs["g"])


def test_pendulum_campaign_refutes_the_small_angle_law_and_accepts_the_correction(
    pendulum_run,
):
    """At amplitudes up to 0.2 rad the period is 2.5e-3 longer: the attack must see it."""
    db, summary = pendulum_run
    assert summary["status"] == "finished"
    assert summary["stop_reason"] == "accepted"
    expr = summary["best"]["expression"]
    names = {s.name for s in sympy.sympify(expr).free_symbols}
    assert names == {"L", "g", "theta0"}  # mass left out, amplitude kept
    law = sympy.lambdify(sympy.symbols("L theta0 g"), sympy.sympify(expr))
    rng = np.random.default_rng(0)
    points = {
        "L": rng.uniform(0.1, 2, 500),
        "theta0": rng.uniform(0.01, 0.2, 500),
        "g": rng.uniform(1, 20, 500),
    }
    small = dict(points, theta0=np.zeros(500))
    # It reduces to the small-angle law, and is the period to the precision it states.
    assert np.allclose(
        law(**small), 2 * np.pi * np.sqrt(small["L"] / small["g"]), rtol=1e-4
    )
    store = open_store(db)
    decisions = store.decisions_for(summary["campaign_id"])
    (accept,) = [d for d in decisions if d.kind == "accept"]
    attack = accept.evidence_json["attack"]
    assert attack["verdict"] == "holds"
    assert attack["precision"] <= 1e-3
    assert "holds to" in accept.reason
    error = np.abs(law(**points) / _exact_period(points) - 1)
    assert error.max() <= attack["precision"]
    # The small-angle law c*sqrt(L/g) was refuted by the attack, within 200 measurements.
    refuted = [
        d
        for d in decisions
        if d.kind == "reject" and d.reason.startswith("refuted by the attack")
    ]
    small_angle = [
        d
        for d in refuted
        if {
            s.name
            for s in sympy.sympify(
                store.get_hypothesis(d.hypothesis_id).expression
            ).free_symbols
        }
        & {"theta0", "m"}
        == set()
    ]
    assert small_angle
    assert small_angle[0].evidence_json["attack"]["n"] <= 200


def test_the_record_explains_the_acceptance(pendulum_run):
    db, summary = pendulum_run
    store = open_store(db)
    cid = summary["campaign_id"]
    # The public summary helper reads back what `start_campaign` returned.
    assert campaign_summary(store, cid) == summary
    accepted = store.list_hypotheses(cid, status="accepted")
    assert [h.id for h in accepted] == [summary["best"]["hypothesis_id"]]
    decisions = store.decisions_for(cid)
    accept = [d for d in decisions if d.kind == "accept"]
    assert len(accept) == 1
    assert "fresh" in accept[0].reason
    assert accept[0].hypothesis_id == accepted[0].id
    runs = store.runs_for(cid)
    assert runs
    assert all(r.status_code == 0 and r.data_sha256 for r in runs)
    assert any("space-filling" in r.design_reason for r in runs)
    calls = store.planner_calls_for(cid)
    assert {c.planner for c in calls} >= {"offline", "sr:operon"}
    edges = {(e.source_id, e.relation, e.target_id) for e in store.edges_for(cid)}
    assert (accepted[0].id, "supported-by", accept[0].id) in edges
    superseded = store.list_hypotheses(cid, status="superseded")
    assert (
        superseded
    )  # rivals that also fit, with more structure, give way to the accepted law
    assert all((h.id, "replaced-by", accepted[0].id) in edges for h in superseded)
    assert store.check_lineage(cid) == []
    ids = [
        r.id
        for rows in (
            store.iterations_for(cid),
            store.runs_for(cid),
            calls,
            store.list_hypotheses(cid),
            decisions,
            [f for h in store.list_hypotheses(cid) for f in store.fits_for(h.id)],
        )
        for r in rows
    ]
    assert len(ids) == len(set(ids)), "a row id is used twice across tables"
    campaign = store.get_campaign(cid)
    assert campaign.code_version
    assert campaign.environment_json["packages"]["torch"]
    import platform

    assert campaign.environment_json["hostname"] == platform.node()
    assert "user" in campaign.environment_json  # None where the login is unknown
    assert campaign.config_json["seed"] == 1
    store.close()


@pytest.mark.slow  # a second whole campaign
def test_same_seed_gives_identical_provenance(pendulum_run, tmp_path):
    db, summary = pendulum_run
    db2 = f"sqlite:///{tmp_path / 'again.db'}"
    again = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=1, **FAST), db2
    )
    s1, s2 = open_store(db), open_store(db2)
    try:
        d1, d2 = (
            s1.dump_campaign(summary["campaign_id"]),
            s2.dump_campaign(again["campaign_id"]),
        )
        assert d1 == d2, dump_diff(d1, d2)
        # The public summary helper reads back, from the record alone, what
        # `start_campaign` returned.
        assert campaign_summary(s2, again["campaign_id"]) == again
    finally:
        s1.close()
        s2.close()


@pytest.mark.slow  # a whole noisy campaign
def test_noisy_pendulum_campaign_recovers_the_law(tmp_path):
    db = f"sqlite:///{tmp_path / 'noisy.db'}"
    summary = start_campaign(
        # At amplitudes to 0.05 rad the small-angle law holds to 1.6e-4, which
        # 1 % noise cannot see on this budget: it is the law to recover.
        CampaignConfig(
            backend="core/Pendulum-v0",
            backend_options={"max_amplitude": "0.05"},
            seed=2,
            noise=0.01,
            **FAST,
        ),
        db,
    )
    assert summary["best"] is not None
    assert _truth_check(summary["best"]["expression"]), summary["best"]["expression"]


@pytest.mark.slow  # a whole noisy campaign
def test_under_noise_later_designs_grow_and_repeat_every_point(tmp_path):
    """Noise seen in the repeats: each design doubles and measures each point twice."""
    db = f"sqlite:///{tmp_path / 'grow.db'}"
    config = dict(FAST, max_iterations=3, confirmations=5)  # no early acceptance
    summary = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=4, noise=0.05, **config), db
    )
    with open_store(db) as store:
        index = {it.id: it.index for it in store.iterations_for(summary["campaign_id"])}
        runs = sorted(
            store.runs_for(summary["campaign_id"]),
            key=lambda r: index[r.iteration_id],
        )
        inputs = [store.get_arrays(r.inputs_sha256) for r in runs]
    assert [index[r.iteration_id] for r in runs] == [0, 1, 2]
    sizes = [r.n_points for r in runs]
    batch = FAST["batch_points"]
    assert sizes[0] == FAST["initial_points"] + FAST["replicates"]
    for k, (run, x) in enumerate(zip(runs[1:], inputs[1:], strict=True), start=1):
        rows = np.column_stack([x[v] for v in sorted(x)])
        distinct = np.unique(rows, axis=0)
        if run.design_reason.startswith("attack"):
            # An adequate leader is attacked: the design grows by the same
            # factor at most, and repeats where noise hides a correction.
            assert batch <= run.n_points <= batch * 2**k
            assert len(distinct) < len(rows)
        else:
            assert "growing x2 per iteration" in run.design_reason
            assert run.n_points == batch * 2**k
            assert 2 * len(distinct) <= len(rows)  # as many repeats as distinct points


def test_without_noise_later_designs_keep_their_size(pendulum_run):
    db, summary = pendulum_run
    with open_store(db) as store:
        runs = store.runs_for(summary["campaign_id"])
    later = runs[1:]
    assert later
    for run in later:
        assert "growing" not in run.design_reason
        assert run.n_points <= FAST["batch_points"] + FAST["replicates"] // 2
