"""RunControl in-process: real signals, a real heartbeat thread, a real lease in SQLite."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lawloop.agent._liveness import holder_alive, process_node, run_status
from lawloop.agent.errors import CampaignInterrupted, LeaseHeldError
from lawloop.agent.loop._control import RunControl
from lawloop.storage import open_store

C = "88888888-8888-4888-8888-888888888888"


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'c.db'}") as opened:
        opened.add_campaign(
            C,
            name="controlled",
            backend_id="core/Pendulum-v0",
            planner="offline",
            seed=0,
            config={},
            code_version="x",
            environment={},
        )
        yield opened


def until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_lease_is_held_while_running_and_released_after(store):
    with RunControl(store, C, heartbeat_s=0.05, log_path="/x/c.log") as control:
        control.snapshot = lambda: {"iteration": 3}
        lease = store.get_lease(C)
        assert (lease.token, lease.pid, lease.node) == (
            control.token,
            os.getpid(),
            process_node(),
        )
        assert holder_alive(lease)
        first = lease.heartbeat_at
        assert until(lambda: store.get_lease(C).heartbeat_at > first)  # it beats
        assert store.get_lease(C).progress_json == {"iteration": 3}
    lease = store.get_lease(C)
    assert not lease.held
    assert lease.log_path == "/x/c.log"
    assert lease.progress_json == {"iteration": 3}


def test_a_second_runner_is_refused_naming_the_holder(store):
    with RunControl(store, C, heartbeat_s=1.0):
        with (
            pytest.raises(LeaseHeldError, match=rf"pid {os.getpid()}") as refused,
            RunControl(store, C, heartbeat_s=1.0),
        ):
            pass
        assert "campaign stop 88888888" in str(refused.value)


def test_a_dead_holder_on_this_machine_is_taken_over_at_once(store):
    """A SIGKILLed runner's lease has not lapsed, but its pid is gone."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = child.pid
    assert store.acquire_lease(
        C, "dead", host="here", pid=dead, node=process_node(), ttl_s=600
    )
    store.set_campaign_status(C, "running")
    lease = store.get_lease(C)
    assert lease.held
    assert not holder_alive(lease)
    assert run_status(lease) == "interrupted"
    with RunControl(store, C, heartbeat_s=1.0) as control:
        assert store.get_lease(C).token == control.token


def test_a_holder_elsewhere_counts_as_alive_until_its_heartbeat_is_stale(store):
    assert store.acquire_lease(
        C, "far", host="elsewhere", pid=1, node="another-machine", ttl_s=0.3
    )
    store.set_campaign_status(C, "running")
    assert run_status(store.get_lease(C)) == "running"
    with (
        pytest.raises(LeaseHeldError, match="host `elsewhere`, pid 1"),
        RunControl(store, C, heartbeat_s=1.0),
    ):
        pass
    time.sleep(0.4)
    assert run_status(store.get_lease(C)) == "interrupted"
    with RunControl(store, C, heartbeat_s=1.0) as control:
        assert store.get_lease(C).token == control.token


def test_a_stop_request_reaches_the_runner_through_its_heartbeat(store):
    with RunControl(store, C, heartbeat_s=0.05) as control:
        control.check()  # not asked yet
        assert store.request_stop(C)
        assert until(lambda: control.stopping)
        with pytest.raises(CampaignInterrupted, match="stop requested") as stop:
            control.check()
        assert stop.value.campaign_id == C
        assert not stop.value.lease_lost


def test_a_stop_asked_for_is_honoured_at_the_next_check_whatever_the_heartbeat(store):
    # A heartbeat that would not beat for a minute (a starved thread, a locked
    # SQLite file): the node boundary reads the request itself.
    with RunControl(store, C, heartbeat_s=60.0) as control:
        control.check()
        assert store.request_stop(C)
        assert not control.stopping  # the heartbeat has not seen it
        with pytest.raises(CampaignInterrupted, match="stop requested"):
            control.check()


def test_first_signal_asks_to_stop_and_the_second_stops_at_once(store):
    lines = []
    before = signal.getsignal(signal.SIGINT)
    with RunControl(
        store, C, heartbeat_s=1.0, handle_signals=True, notify=lines.append
    ) as control:
        os.kill(os.getpid(), signal.SIGTERM)
        assert until(lambda: control.stopping)
        assert lines == ["SIGTERM received: stopping after the current step"]
        # `raise_signal` returns only after the handler ran, in this (main) thread.
        with pytest.raises(CampaignInterrupted, match="SIGINT received twice"):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    assert not store.get_lease(C).held


def test_sigusr1_prints_every_threads_stack_and_the_run_goes_on(store, capfd):
    """What a seemingly stuck campaign waits for, without stopping it."""
    import faulthandler

    with RunControl(store, C, heartbeat_s=1.0, handle_signals=True) as control:
        signal.raise_signal(signal.SIGUSR1)
        err = capfd.readouterr().err
        assert "most recent call first" in err
        assert "in _beat" in err  # the heartbeat thread's stack, not only this one's
        assert not control.stopping
    assert faulthandler.unregister(signal.SIGUSR1) is False  # handler removed on exit


def test_a_runner_whose_lease_was_taken_over_stops_and_leaves_it(store):
    control = RunControl(store, C, heartbeat_s=0.05)
    with control:
        assert store.acquire_lease(
            C, "usurper", host="h", pid=1, ttl_s=60, replace=control.token
        )
        assert until(lambda: control.stopping)
        with pytest.raises(CampaignInterrupted) as stop:
            control.check()
        assert stop.value.lease_lost
    assert store.get_lease(C).token == "usurper"  # not released by the loser
