"""The attack before acceptance: its design, its verdicts, and a campaign it holds back."""

import numpy as np
import pytest

from lawloop.agent import CampaignConfig, start_campaign
from lawloop.agent.science._attack import attack_design, attack_law, holds_to_text
from lawloop.agent.science._dataset import Dataset
from lawloop.experiments import Variable
from lawloop.storage import open_store
from tests.conftest import FAST

SPEED = Variable("v", "m/s", 0.0, 0.6)
MASS = Variable("m", "kg", 1.0, 10.0, sampling="log-uniform")
INPUTS = (SPEED, MASS)


def _classical(values):
    c = values["c"]
    return lambda x: c * x["m"] * x["v"] ** 2


def _relativistic(x):
    """Kinetic energy in units where the speed of light is 1."""
    return x["m"] * (1 / np.sqrt(1 - x["v"] ** 2) - 1)


def _data(n, noise, rng):
    x = {"v": rng.uniform(0.05, 0.6, n), "m": np.exp(rng.uniform(0, np.log(10), n))}
    y0 = _relativistic(x)
    y = y0 + noise * np.sqrt(np.mean(y0**2)) * rng.normal(size=n)
    return Dataset(x, y, np.zeros(n, dtype=int)), noise * np.sqrt(np.mean(y0**2))


def _fitted_classical(data, sigma):
    g = data.inputs["m"] * data.inputs["v"] ** 2
    w = 1 / sigma**2
    return {"c": float(np.sum(g * data.y * w) / np.sum(g * g * w))}


def test_the_classical_limit_is_refuted_where_it_fails():
    rng = np.random.default_rng(0)
    data, sd = _data(400, 0.01, rng)
    sigma = np.full(len(data), sd)
    result = attack_law(
        INPUTS,
        data,
        _classical,
        _fitted_classical(data, sigma),
        sigma,
        goal=1e-3,
        material=1e-9,
    )
    assert result.verdict == "refuted"
    assert result.test.largest > 0.01  # gamma - 1 is 25 % above m v**2 / 2 at 0.6 c
    assert set(result.worst) == {"v", "m"}
    assert result.test.p_value < 1e-6
    ev = result.evidence()
    assert ev.verdict == "refuted"
    assert ev.n == 400
    assert holds_to_text(ev).startswith(f"holds to {result.test.precision:.1e}")
    assert "v in [0.05" in holds_to_text(ev)


def test_a_correction_below_the_tolerance_refutes_nothing():
    rng = np.random.default_rng(1)
    data, sd = _data(400, 0.01, rng)
    sigma = np.full(len(data), sd)
    result = attack_law(
        INPUTS,
        data,
        _classical,
        _fitted_classical(data, sigma),
        sigma,
        goal=1.0,
        material=0.5,  # corrections under 50 % are within the stated precision
    )
    assert result.verdict == "holds"


def test_under_noise_of_fixed_size_the_claim_is_a_fraction_of_the_outputs_rms():
    # Noise of 1 % of the RMS is 10 % of the output at v = 0.05, m = 1: no
    # budget pins a relative correction there, so a relative claim stays
    # loose however true the law; in units of the RMS it is what the data hold.
    rng = np.random.default_rng(3)
    data, sd = _data(2000, 0.01, rng)
    sigma = np.full(len(data), sd)
    g = _relativistic(data.inputs)
    c = float(np.sum(g * data.y) / np.sum(g * g))

    def true_law(values):
        return lambda x: values["c"] * _relativistic(x)

    rms = float(np.sqrt(np.mean(data.y**2)))
    relative, scaled = (
        attack_law(
            INPUTS,
            data,
            true_law,
            {"c": c},
            sigma,
            goal=1e-2,
            material=1e-9,
            reference=ref,
        )
        for ref in (None, rms)
    )
    assert relative.verdict == "undecided"
    assert scaled.verdict == "holds"
    assert scaled.test.precision < 0.7 * relative.test.precision
    assert relative.test.p_value == pytest.approx(scaled.test.p_value)
    text = holds_to_text(scaled.evidence())
    assert f"of the output's RMS {rms:.3g}, 95 %" in text
    assert "(relative, 95 %)" in holds_to_text(relative.evidence())


def test_the_attack_design_goes_where_the_bound_is_weakest():
    rng = np.random.default_rng(2)
    data, sd = _data(50, 0.01, rng)

    def sigma_of(y):
        return np.full(y.shape, sd)

    design = attack_design(
        INPUTS,
        data,
        _classical({"c": 0.5}),
        sigma_of,
        64,
        rng,
    )
    assert design is not None
    assert design.reason.startswith("attack: 64 measurements")
    v, m = design.inputs["v"], design.inputs["m"]
    assert len(v) == 64
    assert (v >= 0).all()
    assert (v <= 0.6).all()
    assert (m >= 1).all()
    assert (m <= 10).all()
    # The edges of the declared ranges (the data stopped short of them), and
    # repeats: where a correction shows most per unit of noise.
    assert v.max() == 0.6
    points = np.unique(np.column_stack([v, m]), axis=0)
    assert len(points) < len(v)
    # At v = 0 the law predicts 0: no relative noise to speak of, never chosen.
    assert (v > 0).all()


@pytest.mark.slow
def test_a_budget_that_cannot_reach_the_claimed_precision_ends_consistent(tmp_path):
    """5 % noise, a few hundred measurements: the law fits, but 1e-3 cannot be shown."""
    db = f"sqlite:///{tmp_path / 'p.db'}"
    summary = start_campaign(
        CampaignConfig(
            backend="core/Pendulum-v0",
            backend_options={"max_amplitude": "0.05"},
            seed=5,
            noise=0.05,
            **dict(FAST, max_iterations=3),
        ),
        db,
    )
    assert summary["stop_reason"] == "consistent"
    attack = summary["best"]["attack"]
    assert attack["verdict"] == "undecided"
    assert attack["precision"] > attack["goal"] == 1e-3
    assert summary["best"]["holds_to"].startswith("holds to ")
    with open_store(db) as store:
        (stop,) = [
            d for d in store.decisions_for(summary["campaign_id"]) if d.kind == "stop"
        ]
    assert "not accepted yet: the attack bounds a correction to" in stop.reason
    assert "the goal is 0.001" in stop.reason
    assert not [
        h
        for h in store.list_hypotheses(summary["campaign_id"])
        if h.status == "accepted"
    ]
