"""The live run's lease: one holder at a time, heartbeats, lapses, stop requests."""

import time
import uuid

import pytest

from lawloop.storage import NotFoundError
from tests.storage.conftest import race_writers

C = "77777777-7777-4777-8777-777777777777"


def campaign(store, cid=C):
    store.add_campaign(
        cid,
        name=f"leased-{cid[:4]}",
        backend_id="core/Pendulum-v0",
        planner="offline",
        seed=1,
        config={},
        code_version="x",
        environment={},
    )
    return cid


def take(store, token, *, ttl_s=60.0, pid=100, replace=None, log_path=None):
    return store.acquire_lease(
        C,
        token,
        host="node-a",
        pid=pid,
        node="boot/ns",
        ttl_s=ttl_s,
        log_path=log_path,
        replace=replace,
    )


def test_a_free_lease_is_taken_and_names_its_holder(store):
    campaign(store)
    before = store.get_lease(C)
    assert (before.held, before.token, before.host, before.heartbeat_at) == (
        False,
        None,
        None,
        None,
    )
    assert take(store, "t1", log_path="/var/log/x.log")
    lease = store.get_lease(C)
    assert lease.held
    assert (lease.token, lease.host, lease.pid, lease.node) == (
        "t1",
        "node-a",
        100,
        "boot/ns",
    )
    assert lease.log_path == "/var/log/x.log"
    assert lease.heartbeat_at <= lease.checked_at < lease.expires_at
    assert lease.status == "created"


def test_a_held_lease_refuses_another_token_but_not_its_own(store):
    campaign(store)
    assert take(store, "t1")
    assert not take(store, "t2", pid=200)
    assert store.get_lease(C).pid == 100  # the refused caller changed nothing
    assert take(store, "t1")  # re-entrant for its own holder


def test_a_lapsed_lease_may_be_taken_over(store):
    campaign(store)
    assert take(store, "t1", ttl_s=0.05)
    time.sleep(0.15)
    lapsed = store.get_lease(C)
    assert lapsed.token == "t1"
    assert not lapsed.held
    assert take(store, "t2", pid=200)
    assert store.get_lease(C).pid == 200
    # The old holder learns it at its next heartbeat, and cannot release it.
    assert store.renew_lease(C, "t1", ttl_s=60) is None
    assert not store.release_lease(C, "t1")
    assert store.get_lease(C).token == "t2"


def test_replace_takes_over_only_the_token_named(store):
    """A caller that found the holder dead swaps exactly that holder out."""
    campaign(store)
    assert take(store, "dead")
    assert not take(store, "t2", replace="someone-else")
    assert take(store, "t2", replace="dead")
    assert not take(store, "t3", replace="dead")  # t2 holds it now
    assert store.get_lease(C).token == "t2"


def test_renew_extends_the_lease_and_stores_progress(store):
    campaign(store)
    assert take(store, "t1", ttl_s=0.2)
    first = store.get_lease(C)
    time.sleep(0.01)
    lease = store.renew_lease(
        C, "t1", ttl_s=60, progress={"iteration": 2, "wall_s": 1.5}
    )
    assert lease is not None
    assert lease.held
    assert lease.expires_at > first.expires_at
    assert lease.heartbeat_at >= first.heartbeat_at
    assert lease.progress_json == {"iteration": 2, "wall_s": 1.5}
    # Without `progress` the snapshot stays.
    assert store.renew_lease(C, "t1", ttl_s=60).progress_json["iteration"] == 2


def test_release_frees_the_lease_and_keeps_the_end_time(store):
    campaign(store)
    assert take(store, "t1")
    assert store.release_lease(C, "t1", progress={"done": True})
    lease = store.get_lease(C)
    assert not lease.held
    assert (lease.token, lease.host, lease.pid, lease.expires_at) == (
        None,
        None,
        None,
        None,
    )
    assert lease.heartbeat_at is not None
    assert lease.progress_json == {"done": True}
    assert take(store, "t2")


def test_a_stop_request_reaches_a_live_holder_and_not_the_next_run(store):
    campaign(store)
    assert not store.request_stop(C)  # nothing runs it
    assert store.get_lease(C).stop_requested_at is None
    assert take(store, "t1")
    assert store.request_stop(C)
    seen = store.renew_lease(C, "t1", ttl_s=60)
    assert seen.stop_requested_at is not None
    assert store.release_lease(C, "t1")
    assert take(store, "t2")
    assert store.get_lease(C).stop_requested_at is None


def test_a_stop_request_to_a_lapsed_lease_is_refused(store):
    campaign(store)
    assert take(store, "t1", ttl_s=0.05)
    time.sleep(0.15)
    assert not store.request_stop(C)


def test_an_unknown_campaign_is_not_found(store):
    with pytest.raises(NotFoundError, match="No campaign with id `nope`"):
        store.get_lease("nope")
    with pytest.raises(NotFoundError):
        store.acquire_lease("nope", "t", host="h", pid=1, ttl_s=1)
    with pytest.raises(NotFoundError):
        store.request_stop("nope")
    assert store.renew_lease("nope", "t", ttl_s=1) is None


def test_the_live_run_is_left_out_of_dumps(store, fill):
    fill(store, C, name="filled")
    before = store.dump_campaign(C, drop=())
    assert take(store, "t1", log_path="/tmp/x.log")
    store.renew_lease(C, "t1", ttl_s=60, progress={"iteration": 1})
    after = store.dump_campaign(C, drop=())
    assert after == before
    assert "lease_token" not in after["campaign"][0]


def test_racing_processes_get_the_lease_exactly_once(store):
    """Threads with their own engines (connections) race on one lease, round after round."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        pytest.skip("a private in-memory database has one connection: nothing races")
    campaign(store)
    racers, rounds = 4, 15
    wins = [[] for _ in range(rounds)]

    def race(i, racer, barrier):
        for r in range(rounds):
            token = str(uuid.uuid4())
            barrier.wait(timeout=30)
            if racer.acquire_lease(C, token, host=f"racer-{i}", pid=i, ttl_s=60):
                wins[r].append(i)
            barrier.wait(timeout=30)  # every racer has tried
            if wins[r] == [i]:
                assert racer.release_lease(C, token)
            barrier.wait(timeout=30)

    errors = race_writers(url, racers, race)
    assert not errors, errors
    assert [len(w) for w in wins] == [1] * rounds, wins
