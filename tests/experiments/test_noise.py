"""Noise models: Gaussian, heteroscedastic, Poisson counts, a systematic offset; declared or hidden."""

from __future__ import annotations

import numpy as np
import pytest

from lawloop.experiments import (
    ExperimentBackend,
    ExperimentError,
    NoiseModel,
    Noisy,
    Variable,
    make,
)


class Counter(ExperimentBackend):
    """Expected counts rate*t; declares that its readings are Poisson counts."""

    inputs = (Variable("rate", "1/s", 10.0, 1000.0), Variable("t", "s", 1.0, 10.0))
    observables = (Variable("n", ""),)
    declared_noise = NoiseModel("poisson")

    def _simulate(self, inputs, rng):
        return {"n": inputs["rate"] * inputs["t"]}


SQUARE = "lawloop_test_backends:Square"
N = 20_000


def _sample(lab, seed=0):
    x = lab.sample_inputs(np.random.default_rng(seed), N)
    clean = make(SQUARE, blind=False).run_batch(x, seed=seed).columns["y"]
    return x, clean, lab.run_batch(x, seed=seed)


def test_heteroscedastic_noise_scales_with_the_value():
    _, clean, result = _sample(make(SQUARE, noise=0.05, noise_model="heteroscedastic"))
    rel = (result.columns["y"] - clean) / clean
    assert rel.std() == pytest.approx(0.05, rel=0.03)
    small, large = clean < np.median(clean), clean >= np.median(clean)
    # relative spread the same for small and large values: absolute spread is not
    assert rel[small].std() == pytest.approx(rel[large].std(), rel=0.06)
    assert (
        np.abs(result.columns["y"] - clean)[large].std()
        > 1.5 * np.abs(result.columns["y"] - clean)[small].std()
    )
    assert result.info["noise_model"]["kind"] == "heteroscedastic"


def test_poisson_counts_are_integers_with_variance_equal_to_mean():
    lab = make(f"{__name__}:Counter", noise_model="poisson", blind=False)
    x = {"rate": np.full(N, 50.0), "t": np.full(N, 2.0)}
    counts = lab.run_batch(x, seed=3).columns["n"]
    assert np.array_equal(counts, np.rint(counts))
    assert counts.mean() == pytest.approx(100.0, rel=0.01)
    assert counts.var() == pytest.approx(100.0, rel=0.05)
    again = lab.run_batch(x, seed=3).columns["n"]
    assert np.array_equal(counts, again)


def test_a_negative_poisson_mean_is_a_failed_run_not_a_crash():
    class Signed(Counter):
        def _simulate(self, inputs, rng):
            return {"n": inputs["rate"] - 500.0}

    lab = Noisy(Signed(), NoiseModel("poisson"))
    result = lab.run_batch({"rate": [100.0, 900.0], "t": [1.0, 1.0]}, seed=0)
    assert not result.status.ok
    assert "Poisson mean is negative at 1 of 2 points" in result.status.message


def test_a_systematic_offset_shifts_every_point_alike():
    lab = make(SQUARE, noise=0.0, noise_offset=0.25)
    _, clean, result = _sample(lab)
    shift = result.columns["y"] - clean
    rms = make(SQUARE, blind=False).reference_rms()["y"]
    np.testing.assert_allclose(shift, 0.25 * rms, rtol=1e-12)


def test_gaussian_noise_is_unchanged_by_the_model_machinery():
    lab = make(SQUARE, noise=0.1)
    _, clean, result = _sample(lab)
    rms = make(SQUARE, blind=False).reference_rms()["y"]
    assert (result.columns["y"] - clean).std() == pytest.approx(0.1 * rms, rel=0.03)
    assert result.info["noise_std"]["y"] == pytest.approx(0.1 * rms)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"noise_model": "lognormal"}, "noise model must be one of"),
        ({"noise": 0.1, "noise_offset": float("nan")}, "`offset` must be a finite"),
    ],
)
def test_bad_noise_settings_name_what_is_wrong(kwargs, words):
    with pytest.raises(ExperimentError, match=words):
        make(SQUARE, **kwargs)


def test_the_agent_sees_only_a_declared_noise_model():
    hidden = make(SQUARE, noise=0.1, noise_model="heteroscedastic")
    with pytest.raises(AttributeError, match="hidden on a blinded backend"):
        hidden.noise_model  # noqa: B018
    assert hidden.declared_noise is None
    told = make(f"{__name__}:Counter")
    assert told.declared_noise == NoiseModel("poisson")


def test_declared_poisson_noise_weights_the_fit_by_root_counts():
    from lawloop.agent.science._judge import point_sigma

    y = np.array([0.0, 4.0, 100.0])
    sigma = point_sigma(
        y, noise_sd=50.0, tolerance=1e-9, declared=NoiseModel("poisson")
    )
    np.testing.assert_allclose(sigma, [1.0, 2.0, 10.0], rtol=1e-6)
    rel = point_sigma(y, 0.0, 1e-9, NoiseModel("heteroscedastic", 0.1))
    np.testing.assert_allclose(rel[1:], [0.4, 10.0], rtol=1e-6)
    # undeclared: the estimate from repeats
    np.testing.assert_allclose(point_sigma(y, 50.0, 1e-9), 50.0, rtol=1e-6)
