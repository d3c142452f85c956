"""The executor: chunks with their own seeds, and every failure a record, never a raise."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from lawloop.experiments import (
    BatchResult,
    Executor,
    ExperimentBackend,
    RunCode,
    Variable,
    chunk_seed,
)


class Noisy(ExperimentBackend):
    """y = x plus seeded noise: chunks with different seeds differ."""

    inputs = (Variable("x", "m", 0.0, 1.0),)
    observables = (Variable("y", "m"),)

    def _simulate(self, inputs, rng):
        return {"y": inputs["x"] + rng.normal(size=inputs["x"].size)}


class Raising(Noisy):
    def _simulate(self, inputs, rng):
        raise RuntimeError("solver exploded at step 17")


class Hanging(Noisy):
    """Blocks until released: a simulation that never returns."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = threading.Event()

    def _simulate(self, inputs, rng):
        self.release.wait(30)
        return {"y": inputs["x"]}


class Garbage(Noisy):
    """Overrides `run_batch` and returns the wrong shape, as a careless plugin might."""

    def run_batch(self, inputs, *, seed):
        return BatchResult({"y": np.zeros(3)})


class Listy(Noisy):
    def run_batch(self, inputs, *, seed):
        return {"y": list(inputs["x"])}


class Small(Noisy):
    max_batch = 3


X = {"x": np.linspace(0.0, 1.0, 10)}


def test_chunks_cover_the_batch_each_with_its_own_seed():
    chunks = Executor(Noisy(), chunk_points=4).run(X, seed=7)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert [c.seed for c in chunks] == [chunk_seed(7, i) for i in range(3)]
    assert chunks[0].seed == 7
    assert len({c.seed for c in chunks}) == 3
    assert all(c.result.status.ok and c.elapsed_s >= 0 for c in chunks)
    # chunk 0 is exactly what a plain run_batch with the batch seed gives
    plain = Noisy().run_batch({"x": X["x"][:4]}, seed=7)
    np.testing.assert_array_equal(chunks[0].result.columns["y"], plain.columns["y"])
    # and the whole run reproduces from the seed
    again = Executor(Noisy(), chunk_points=4).run(X, seed=7)
    for a, b in zip(chunks, again, strict=True):
        np.testing.assert_array_equal(a.result.columns["y"], b.result.columns["y"])


def test_a_backend_max_batch_caps_the_chunk():
    assert Executor(Small(), chunk_points=100).chunk_points == 3
    assert len(Executor(Small()).run(X, seed=0)) == 4


def test_an_exception_becomes_a_backend_error_with_its_traceback():
    (chunk,) = Executor(Raising()).run(X, seed=0)
    assert chunk.result.status.code == RunCode.BACKEND_ERROR
    assert "RuntimeError: solver exploded at step 17" in chunk.result.status.message
    assert "Traceback" in chunk.result.status.message


def test_an_invalid_design_is_recorded_as_such():
    (chunk,) = Executor(Noisy()).run({"x": np.array([0.5, 7.0])}, seed=0)
    assert chunk.result.status.code == RunCode.INVALID_DESIGN
    assert "`x` = 7.0" in chunk.result.status.message


@pytest.mark.parametrize(
    ("backend", "words"),
    [(Garbage(), "shape (10,)"), (Listy(), "not a `BatchResult`")],
)
def test_garbage_fails_the_chunk_and_says_what_was_wrong(backend, words):
    (chunk,) = Executor(backend).run(X, seed=0)
    assert chunk.result.status.code == RunCode.BACKEND_ERROR
    assert "garbage from the backend" in chunk.result.status.message
    assert words in chunk.result.status.message


def test_non_finite_output_is_a_diverged_run_not_an_error():
    class Diverging(Noisy):
        def _simulate(self, inputs, rng):
            return {"y": np.where(inputs["x"] > 0.5, np.inf, inputs["x"])}

    (chunk,) = Executor(Diverging()).run(X, seed=0)
    assert chunk.result.status.code == RunCode.SIMULATION_DIVERGED
    assert "`y` at 5 of 10 points" in chunk.result.status.message


def test_a_hanging_backend_times_out_and_is_not_run_beside_itself():
    backend = Hanging()
    executor = Executor(backend, chunk_points=5, timeout_s=0.3)
    started = time.monotonic()
    first, second = executor.run(X, seed=0)
    assert time.monotonic() - started < 5
    assert first.result.status.code == RunCode.TIMEOUT
    assert "within 0.3 s" in first.result.status.message
    # the hung thread is still inside the backend: the next chunk is refused
    assert second.result.status.code == RunCode.TIMEOUT
    assert "still busy" in second.result.status.message
    backend.release.set()
    executor._hung.join(5)
    backend.release.clear()
    threading.Timer(0.05, backend.release.set).start()
    (third,) = executor.run({"x": X["x"][:2]}, seed=0)
    assert third.result.status.ok


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="chunk_points"):
        Executor(Noisy(), chunk_points=0)
    with pytest.raises(ValueError, match="timeout_s"):
        Executor(Noisy(), timeout_s=0)
