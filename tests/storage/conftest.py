"""Fixtures for the storage tests: stores on a file and in memory, a filled campaign."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from lawloop.storage import Store, open_store


@pytest.fixture(
    params=["file", "memory", "postgresql"],
    ids=["sqlite-file", "sqlite-memory", "postgresql"],
)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "postgresql":  # skips without LAWLOOP_TEST_POSTGRES_URL
        url = request.getfixturevalue("postgres_url")
    elif request.param == "file":
        url = f"sqlite:///{tmp_path / 'lawloop.db'}"
    else:
        url = "sqlite://"
    with open_store(url) as opened:
        yield opened


@pytest.fixture
def file_store(tmp_path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'lawloop.db'}") as opened:
        yield opened


def race_writers(
    url, writers: int, work: Callable[[int, Store, threading.Barrier], None]
) -> list[BaseException]:
    """Run `work(i, store, barrier)` in `writers` threads at once, each with its own store (engine).

    Separate engines mean separate connections, as separate processes have.
    A barrier starts them together; a failing writer aborts it, so that the
    others stop waiting. Returns the errors raised, for the test to report.
    """
    stores = [open_store(url) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i, stores[i], barrier)
        except BaseException as exc:  # reported by the caller, on the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for s in stores:
            s.close()
    return errors


def node_id(campaign_id: str, name: str) -> str:
    """Ids as the agent makes them: uuid5(campaign, "iteration/node/index")."""
    return str(uuid.uuid5(uuid.UUID(campaign_id), name))


def fill_campaign(
    store: Store, campaign_id: str, *, name: str, score: float = 0.93
) -> None:
    """Write a small two-iteration campaign, every id derived from `campaign_id`."""
    cid = campaign_id
    store.add_campaign(
        cid,
        name=name,
        backend_id="core/DampedOscillator-v0",
        planner="offline",
        seed=7,
        config={"seed": 7, "iterations": 2},
        code_version="3f2a9c1+dirty",
        environment={"python": "3.11", "device": "cpu"},
    )
    store.set_campaign_status(cid, "running")
    parent = None
    for it in range(2):
        parent = _fill_iteration(store, cid, it, parent=parent, score=score)
    store.set_campaign_status(cid, "finished", result={"best": parent}, finished=True)


def _fill_iteration(
    store: Store, cid: str, it: int, *, parent: str | None, score: float
) -> str:
    """Write iteration `it` of `fill_campaign`; return its accepted hypothesis."""
    iid = node_id(cid, f"{it}/iteration/0")
    store.add_iteration(iid, campaign_id=cid, index=it, seeds={"design": 10 + it})
    call = node_id(cid, f"{it}/propose/0")
    hid = node_id(cid, f"{it}/propose/1")
    store.add_planner_call(
        call,
        campaign_id=cid,
        iteration_id=iid,
        planner="offline",
        template_name="propose",
        template_sha256="ab" * 32,
        prompt=f"Improve on hypothesis {parent}" if parent else "Propose a law.",
        reply="a*x**2",
        parsed={"expression": "a*x**2", "parent": parent},
        latency_s=0.01 * (it + 1),
    )
    inputs, data, rid = _fill_run(store, cid, iid, it)
    store.add_hypothesis(
        hid,
        campaign_id=cid,
        iteration_id=iid,
        expression="a*x**2",
        parameters=["a"],
        source="mutation" if parent else "offline",
        source_detail=parent or "",
        canonical_key="c0*x**2",
        units_consistent=True,
    )
    fid = node_id(cid, f"{it}/fit/0")
    store.add_fit(
        fid,
        campaign_id=cid,
        iteration_id=iid,
        hypothesis_id=hid,
        method="least_squares",
        parameters={"a": 2.0},
        stderr={"a": 0.01},
        covariance=[[1e-4]],
        scores={"r2": score},
        train_data=[inputs, data],
        success=True,
    )
    store.set_hypothesis_status(hid, "accepted", score=score)
    did = node_id(cid, f"{it}/decide/0")
    store.add_decision(
        did,
        campaign_id=cid,
        iteration_id=iid,
        kind="accept",
        reason="r2 above threshold",
        hypothesis_id=hid,
        evidence={"fit": fid, "r2": score},
    )
    store.link(hid, "hypothesis", call, "planner_call", "proposed-by")
    store.link(hid, "hypothesis", did, "decision", "supported-by")
    store.link(fid, "model_fit", data, "artifact", "fitted-on")
    store.link(data, "artifact", rid, "experiment_run", "produced-by")
    if parent:
        store.link(hid, "hypothesis", parent, "hypothesis", "derived-from")
    store.finish_iteration(iid, {"accepted": [hid]})
    return hid


def _fill_run(store: Store, cid: str, iid: str, it: int) -> tuple[str, str, str]:
    """Write iteration `it`'s run and its arrays; return inputs sha, data sha and run id."""
    x = np.linspace(0.0, 1.0, 5 + it)
    inputs = store.put_arrays({"x": x})
    data = store.put_arrays({"y": 2.0 * x**2})
    rid = node_id(cid, f"{it}/run_experiments/0")
    store.add_run(
        rid,
        campaign_id=cid,
        iteration_id=iid,
        backend_id="core/DampedOscillator-v0",
        design_reason="uniform",
        inputs_sha256=inputs,
        data_sha256=data,
        seed=100 + it,
        n_points=x.size,
        device="cpu",
        status_code=0,
        duration_s=0.5,
    )
    return inputs, data, rid


@pytest.fixture(name="fill")
def fill_fixture():
    """`fill(store, campaign_id, *, name, score=...)` writes a small campaign."""
    return fill_campaign


@pytest.fixture(name="node_id")
def node_id_fixture():
    """`node_id(campaign_id, "iteration/node/index")` as the agent makes ids."""
    return node_id
