"""Backend wrappers: generic forwarding, `Noisy` reproducing the old noise, `Blinded` hiding the truth."""

from __future__ import annotations

import numpy as np
import pytest
from lawloop_test_backends import Square

from lawloop.experiments import (
    BackendWrapper,
    Blinded,
    ExperimentBackend,
    NoiseModel,
    Noisy,
    check_backend,
    make,
)

SQUARE = "lawloop_test_backends:Square"
POINTS = {"x": [0.5, 1.0, 2.0], "a": [1.0, 2.0, 3.0]}


class Labelled(Square):
    """A `Square` with an attribute of its own, which the base class does not declare."""

    label = "lab A"
    max_batch = 7


class Upper(BackendWrapper):
    """Overrides one base-class attribute (`id`) and nothing else."""

    @property
    def id(self) -> str | None:
        return (self.backend.id or "").upper()


def test_a_wrapper_reads_through_what_it_does_not_override():
    inner = Labelled(device="cpu")
    inner.id = "testlab/Labelled-v0"
    lab = Noisy(inner)
    assert lab.inputs is inner.inputs
    assert lab.observables is inner.observables
    assert lab.id == "testlab/Labelled-v0"
    assert lab.max_batch == 7  # a class attribute the base class declares
    assert lab.label == "lab A"  # one it does not: through `__getattr__`
    assert lab.device == "cpu"  # an instance attribute
    assert lab.rng is inner.rng  # a property
    lab.reset(seed=4)  # a method, bound to the wrapped backend
    assert inner.rng is lab.rng
    assert lab.ground_truth() == {"y": "a*x**2"}
    inner.id = "testlab/Labelled-v1"  # read at access time, not copied
    assert lab.id == "testlab/Labelled-v1"
    assert isinstance(lab, ExperimentBackend)


def test_an_override_wins_and_unwrapped_is_the_innermost_backend():
    inner = Square()
    inner.id = "testlab/Square-v0"
    lab = Upper(Noisy(inner, NoiseModel("gaussian", 0.1)))
    assert lab.id == "TESTLAB/SQUARE-V0"
    assert lab.backend.id == "testlab/Square-v0"
    assert lab.noise == 0.1  # `Noisy`'s own property, through `Upper`
    assert lab.unwrapped is inner
    assert inner.unwrapped is inner
    lab.max_batch = 3  # set on the wrapper: shadows the wrapped value
    assert (lab.max_batch, inner.max_batch) == (3, None)


def test_private_attributes_are_not_forwarded():
    lab = Noisy(Square())
    with pytest.raises(AttributeError, match="private attribute `_rng`"):
        lab._rng  # noqa: B018


def test_repr_shows_the_chain_of_wrappers():
    assert repr(make(SQUARE)) == (
        "<Blinded<Noisy<Square id='lawloop_test_backends:Square' device='cpu'>>>"
    )
    assert repr(Upper(Square())).startswith("<Upper<Square id=None")


# Measured on the code before noise moved out of `ExperimentBackend.run_batch`
# (commit of issue 16): a fixed seed must give these exact floats.
PINNED = [
    (
        {"noise": 0.1},
        ["0x1.9a903004829afp-1", "0x1.2b00c2c7c08e7p+1", "0x1.a680406d5f480p+3"],
    ),
    (
        {"noise": 0.05, "noise_model": "heteroscedastic"},
        ["0x1.11f1c77200935p-2", "0x1.0aec7cdc590e7p+1", "0x1.baae5669240d7p+3"],
    ),
    (
        {"noise": 0.1, "noise_offset": 0.25},
        ["0x1.c939f9f84a8c0p+0", "0x1.a8f9b3c2c52dbp+1", "0x1.c5fe7cac206fdp+3"],
    ),
    ({"noise_model": "poisson"}, [(0.0).hex(), (0.0).hex(), (9.0).hex()]),
]


@pytest.mark.parametrize(("kwargs", "expected"), PINNED, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("blind", [True, False], ids=["blind", "open"])
def test_noisy_gives_the_values_the_base_class_gave_for_a_fixed_seed(
    kwargs, expected, blind
):
    result = make(SQUARE, blind=blind, **kwargs).run_batch(POINTS, seed=7)
    assert result.status.ok
    assert [float(v).hex() for v in result.columns["y"]] == expected


def test_noisy_draws_from_the_second_child_of_the_seed():
    model = NoiseModel("gaussian", 0.1)
    lab = Noisy(Square(), model)
    clean = Square().run_batch(POINTS, seed=7).columns["y"]
    rms = Square().reference_rms()["y"]
    rng = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[1])
    expected = clean + rng.normal(0.0, 0.1 * rms, size=3)
    np.testing.assert_array_equal(lab.run_batch(POINTS, seed=7).columns["y"], expected)


def test_noisy_provenance_keeps_its_keys_and_their_order():
    info = make(SQUARE, noise=0.1).run_batch(POINTS, seed=0).info
    assert list(info) == [
        "backend_id",
        "seed",
        "n",
        "device",
        "noise",
        "options",
        "noise_model",
        "noise_std",
        "elapsed_s",
    ]
    quiet = make(SQUARE).run_batch(POINTS, seed=0).info
    assert quiet["noise"] == 0.0
    assert "noise_model" not in quiet
    # the bare backend knows nothing of noise
    assert "noise" not in Square().run_batch(POINTS, seed=0).info


def test_blinded_still_hides_the_truth_and_the_way_round_it():
    lab = make(SQUARE, noise=0.1, noise_model="heteroscedastic")
    assert isinstance(lab, Blinded)
    for name in ("ground_truth", "noise_model", "backend", "unwrapped"):
        assert not hasattr(lab, name), name
    with pytest.raises(AttributeError, match="blind=False"):
        lab.unwrapped  # noqa: B018
    assert lab.noise == 0.1  # the level is no secret: the model's kind is
    assert lab.run_batch(POINTS, seed=0).status.ok
    assert make(SQUARE, blind=False).unwrapped.ground_truth() == {"y": "a*x**2"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"noise": 0.1},
        {"noise": 0.05, "noise_model": "heteroscedastic", "noise_offset": 0.1},
        {"blind": False, "noise": 0.1},
    ],
    ids=str,
)
def test_the_checker_passes_on_wrapped_backends(kwargs):
    check_backend(make("core/Pendulum-v0", device="cpu", **kwargs), large_batch=500)
    check_backend(make(SQUARE, **kwargs), large_batch=500)
    check_backend(Upper(Noisy(Square(), NoiseModel("poisson"))), large_batch=500)
