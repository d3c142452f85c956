"""A backend that raises, hangs or returns garbage fails its chunk on the record, not the campaign."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lawloop.agent import CampaignConfig, start_campaign
from lawloop.experiments import BatchResult, ExperimentBackend, Variable
from lawloop.storage import open_store

_CALLS: dict[str, int] = {}


class Line(ExperimentBackend):
    """y = 3 x + 1; misbehaves on the call numbers in `BAD`."""

    inputs = (Variable("x", "m", 0.5, 2.0),)
    observables = (Variable("y", "m"),)
    BAD: frozenset[int] = frozenset()

    def run_batch(self, inputs, *, seed):
        name = type(self).__name__
        _CALLS[name] = _CALLS.get(name, 0) + 1
        if _CALLS[name] in self.BAD:
            return self.misbehave(inputs, seed)
        return super().run_batch(inputs, seed=seed)

    def misbehave(self, inputs, seed):
        raise NotImplementedError

    def _simulate(self, inputs, rng):
        return {"y": 3.0 * inputs["x"] + 1.0}


class RaisesOnce(Line):
    BAD = frozenset({2})

    def misbehave(self, inputs, seed):
        raise RuntimeError("detector offline")


class GarbageOnce(Line):
    BAD = frozenset({2})

    def misbehave(self, inputs, seed):
        return BatchResult({"y": np.zeros(1)})


class HangsOnce(Line):
    BAD = frozenset({2})

    def misbehave(self, inputs, seed):
        time.sleep(3)  # the executor gives up after 1 s; the thread lives on
        raise RuntimeError("woke up too late")


def _campaign(tmp_path, backend: str, **extra):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    config = CampaignConfig(
        backend=f"{__name__}:{backend}",
        seed=2,
        max_iterations=3,
        initial_points=24,
        batch_points=8,
        replicates=4,
        chunk_points=16,
        sr_max_evaluations=5_000,
        sr_time_limit=30.0,
        **extra,
    )
    summary = start_campaign(config, db)
    runs = open_store(db).runs_for(summary["campaign_id"])
    return summary, runs


@pytest.mark.slow  # a whole campaign each
@pytest.mark.parametrize(
    ("backend", "code", "words", "extra"),
    [
        ("RaisesOnce", 99, "RuntimeError: detector offline", {}),
        ("GarbageOnce", 99, "garbage from the backend", {}),
        ("HangsOnce", 30, "did not answer within 1 s", {"run_timeout_s": 1.0}),
    ],
)
def test_the_campaign_goes_on_past_a_failed_chunk(
    tmp_path, backend, code, words, extra
):
    _CALLS.pop(backend, None)
    summary, runs = _campaign(tmp_path, backend, **extra)
    assert summary["status"] == "finished"
    # 28 points in chunks of 16: two runs in iteration 0, the second one failed
    failed = [r for r in runs if r.status_code != 0]
    # while a timed-out call is still inside the backend, later chunks are refused
    assert all("still busy" in r.status_message for r in failed[1:])
    assert failed[0].status_code == code
    assert words in failed[0].status_message
    assert failed[0].data_sha256 is None
    assert failed[0].n_points == 12
    ok = [r for r in runs if r.status_code == 0]
    assert ok
    assert all(r.data_sha256 for r in ok)
    # each chunk is its own record: seed, inputs and timing
    assert len({r.seed for r in runs}) == len(runs)
    assert all(r.duration_s is not None for r in runs)
    assert "chunk 2 of 2" in failed[0].design_reason
    # the law is still found from the chunks that worked
    assert summary["best"] is not None
