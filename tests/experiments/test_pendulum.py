import math

import numpy as np
import pytest
from scipy.special import ellipk

from lawloop.experiments import RunCode, make


def _inputs(L, theta0, m, g):
    n = max(np.size(v) for v in (L, theta0, m, g))
    return {
        k: np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        for k, v in {"L": L, "theta0": theta0, "m": m, "g": g}.items()
    }


@pytest.fixture(scope="module")
def pendulum():
    return make(
        "core/Pendulum-v0", device="cpu", options={"max_amplitude": "3.0"}, blind=False
    )


def test_small_amplitude_period_matches_the_series(pendulum):
    rng = np.random.default_rng(0)
    x = _inputs(
        rng.uniform(0.1, 2.0, 200),
        rng.uniform(0.01, 0.2, 200),
        1.0,
        rng.uniform(1, 20, 200),
    )
    T = pendulum.run_batch(x, seed=0).columns["T"]
    T0 = 2 * np.pi * np.sqrt(x["L"] / x["g"])
    th = x["theta0"]
    series = T0 * (1 + th**2 / 16 + 11 * th**4 / 3072)
    np.testing.assert_allclose(T, series, rtol=1e-5)
    tiny = th <= 0.1  # where the next series term is below 4e-7
    np.testing.assert_allclose(T[tiny], (T0 * (1 + th**2 / 16))[tiny], rtol=1e-6)


@pytest.mark.parametrize("theta0", [0.5, 1.5, 2.5, 3.0], ids=str)
def test_large_amplitude_period_matches_the_elliptic_integral(pendulum, theta0):
    x = _inputs([0.3, 1.0, 2.0], theta0, 2.0, [9.81, 3.7, 15.0])
    T = pendulum.run_batch(x, seed=0).columns["T"]
    exact = 4 * ellipk(math.sin(theta0 / 2) ** 2) * np.sqrt(x["L"] / x["g"])
    np.testing.assert_allclose(T, exact, rtol=1e-6)


def test_mass_does_not_change_the_period(pendulum):
    x = _inputs(1.0, 0.8, [0.1, 1.0, 10.0], 9.81)
    T = pendulum.run_batch(x, seed=0).columns["T"]
    assert T[0] == T[1] == T[2]


def test_damping_lengthens_the_period_slightly_and_is_recorded():
    undamped = make("core/Pendulum-v0", device="cpu")
    damped = make("core/Pendulum-v0", device="cpu", options={"damping": "0.5"})
    x = _inputs(1.0, 0.01, 1.0, 9.81)
    T0 = undamped.run_batch(x, seed=0).columns["T"][0]
    result = damped.run_batch(x, seed=0)
    beta = 0.5 * math.sqrt(1.0 / 9.81)
    assert result.columns["T"][0] == pytest.approx(
        T0 / math.sqrt(1 - (beta / 2) ** 2), rel=1e-5
    )
    assert result.columns["T"][0] > T0 * 1.003
    assert result.info["options"]["damping"] == 0.5


def test_overdamped_pendulum_reports_a_diverged_status():
    lab = make("core/Pendulum-v0", device="cpu", options={"damping": "50"})
    result = lab.run_batch(_inputs([0.1, 2.0], 0.1, 1.0, 1.0), seed=0)
    assert result.status.code == RunCode.SIMULATION_DIVERGED
    assert "`T`" in result.status.message


def test_amplitude_range_follows_the_option():
    narrow = make("core/Pendulum-v0", device="cpu")
    wide = make("core/Pendulum-v0", device="cpu", options={"max_amplitude": "2.5"})
    assert narrow.inputs[1].high == 0.2
    assert wide.inputs[1].high == 2.5
    assert [v.unit for v in narrow.inputs] == ["m", "", "kg", "m/s**2"]
    assert narrow.observables[0].unit == "s"


def test_batches_are_chunked_and_match_single_points():
    pendulum = make("core/Pendulum-v0", device="cpu")
    rng = np.random.default_rng(5)
    x = pendulum.sample_inputs(rng, 1100)  # more than one CPU chunk
    T = pendulum.run_batch(x, seed=0).columns["T"]
    for i in (0, 1099):
        single = pendulum.run_batch(
            {k: v[i : i + 1] for k, v in x.items()}, seed=0
        ).columns["T"][0]
        assert single == pytest.approx(T[i], rel=1e-12)
