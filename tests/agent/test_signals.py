"""A running campaign subprocess: SIGTERM, SIGINT, `campaign stop`, SIGKILL; the lease.

Each campaign runs `run.py campaign start` on a tiny pendulum config that
never accepts (twenty confirmations), so it is still running when the test
acts on it. A short heartbeat (`LAWLOOP_HEARTBEAT_S`) lets stop requests and
stale heartbeats show within a second or three.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from lawloop.storage import check_database, open_store
from tests.conftest import ROOT, TINY, finished, write_config

pytestmark = pytest.mark.slow

HEARTBEAT_S = 0.3  # the lease lapses after ten missed beats: 3 s
ENV = {**os.environ, "LAWLOOP_HEARTBEAT_S": str(HEARTBEAT_S)}


def config(tmp_path, iterations):
    values = dict(TINY, max_iterations=iterations, confirmations=20)
    return write_config(tmp_path / f"tiny{iterations}.toml", values)


RUNNING = []  # every background process, killed at teardown if a test fails half-way


@pytest.fixture(autouse=True)
def _no_leftover_processes():
    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def flat(text):
    """Text with rich's line wrapping (80 columns when not a terminal) undone."""
    return " ".join(text.split())


def start(tmp_path, name, iterations):
    """`campaign start --json` in the background; returns (process, db path, url)."""
    db = tmp_path / f"{name}.db"
    url = f"sqlite:///{db}"
    command = [
        sys.executable,
        str(ROOT / "run.py"),
        "campaign",
        "start",
        "--backend",
        "core/Pendulum-v0",
        "--seed",
        "3",
        "--config",
        str(config(tmp_path, iterations)),
        "--db",
        url,
        "--json",
    ]
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    RUNNING.append(proc)
    return proc, db, url


def row(db):
    """(id, status, lease token) of the one campaign, or None before it exists."""
    try:
        with sqlite3.connect(db) as con:
            return con.execute(
                "select id, status, lease_token from campaign"
            ).fetchone()
    except sqlite3.Error:
        return None


def wait_running(proc, db):
    """The campaign id, once its runner holds the lease and has marked it running."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        r = row(db)
        if r and r[1] == "running" and r[2]:
            return r[0]
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    pytest.fail("the campaign never started running")


def cli(*args, background=False):
    command = [sys.executable, str(ROOT / "run.py"), *args]
    if background:
        proc = subprocess.Popen(
            command,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        RUNNING.append(proc)
        return proc
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)


def resumed_to_the_end(cid, url):
    out = cli("campaign", "resume", cid[:8], "--db", url, "--json")
    assert finished(out.returncode), out.stderr[-3000:]
    summary = json.loads(out.stdout)  # progress went to stderr, not into the JSON
    assert summary["status"] == "finished"
    # One iteration: its law fits but is unconfirmed ("consistent"), or none fits.
    assert summary["stop_reason"] == "consistent" or (
        "iteration budget" in summary["stop_reason"]
    )
    report = check_database(url)
    assert report.ok, [str(p) for p in report.problems]
    return summary


def test_sigterm_stops_after_the_node_and_a_second_runner_is_refused(tmp_path):
    proc, db, url = start(tmp_path, "term", iterations=2)
    cid = wait_running(proc, db)

    second = cli("campaign", "resume", cid[:8], "--db", url)
    assert second.returncode == 1
    assert "is being run by another process" in flat(second.stderr)
    assert f"pid {proc.pid}" in flat(second.stderr)
    assert proc.poll() is None  # the refused runner changed nothing

    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=180)
    err = flat(err)
    assert proc.returncode == 130, err[-3000:]
    assert out == ""  # `--json` prints a summary only for a finished run
    assert "SIGTERM received: stopping after the current step" in err
    assert f"campaign resume {cid[:8]}" in err
    assert row(db)[1:] == ("interrupted", None)  # and the lease is given back

    resumed_to_the_end(cid, url)


def test_sigint_marks_the_campaign_interrupted_and_resume_completes_it(tmp_path):
    proc, db, url = start(tmp_path, "int", iterations=1)
    cid = wait_running(proc, db)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=180)
    last = err.strip().splitlines()[-1]
    err = flat(err)
    assert proc.returncode == 130, err[-3000:]
    assert "SIGINT received (press Ctrl-C again to stop at once)" in err
    # The run has stopped: not an error, and no second Ctrl-C to offer.
    assert last.startswith("stopped: "), last
    assert "SIGINT received" in last
    assert "Ctrl-C again" not in last

    from lawloop.agent import campaign_summary

    with open_store(url) as store:
        summary = campaign_summary(store, cid)
    assert summary["status"] == "interrupted"
    log_file = summary["log_file"]
    assert log_file == str(tmp_path / "logs" / f"{cid}.log")

    resumed_to_the_end(cid, url)
    with open(log_file, encoding="utf-8") as f:
        log = f.read()
    for event in ("started campaign", "SIGINT received", "interrupted:", "resumed"):
        assert event in log
    assert "finished: consistent" in log or "finished: iteration budget (1) used" in log


def test_campaign_stop_from_another_process_and_a_killed_runner_goes_stale(
    tmp_path,
):
    # Far more iterations than the test lasts: it must still run when stopped
    # (two iterations once finished during the wait for the stale lease).
    stopped, stop_db, stop_url = start(tmp_path, "stopped", iterations=1000)
    killed, kill_db, kill_url = start(tmp_path, "killed", iterations=1)
    stop_id = wait_running(stopped, stop_db)
    kill_id = wait_running(killed, kill_db)

    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert row(kill_db)[1] == "running"  # the record cannot know
    from lawloop.agent import campaign_summary

    with open_store(kill_url) as store:
        # On this machine the dead pid gives it away at once.
        assert campaign_summary(store, kill_id)["status"] == "interrupted"
        # Seen from another machine only the heartbeat tells: running until stale.
        with sqlite3.connect(kill_db) as con:
            con.execute("update campaign set lease_node = 'another-machine'")
        assert campaign_summary(store, kill_id)["status"] == "running"
        deadline = time.monotonic() + 10 * HEARTBEAT_S + 5
        while store.get_lease(kill_id).held:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        summary = campaign_summary(store, kill_id)
        assert summary["status"] == "interrupted"
        assert summary["process"]["heartbeat_at"] is not None

    resume = cli("campaign", "resume", kill_id[:8], "--db", kill_url, background=True)
    stop = cli("campaign", "stop", stop_id[:8], "--db", stop_url, "--json")
    assert stop.returncode == 0, stop.stderr[-3000:]
    assert json.loads(stop.stdout) == {
        "campaign_id": stop_id,
        "holder": {"host": os.uname().nodename, "pid": stopped.pid},
        "stopped": True,
        "status": "interrupted",
    }
    _, err = stopped.communicate(timeout=60)
    err = flat(err)
    assert stopped.returncode == 130
    assert "stop requested (`campaign stop`)" in err
    assert row(stop_db)[1:] == ("interrupted", None)
    again = cli("campaign", "stop", stop_id[:8], "--db", stop_url)
    assert again.returncode == 1
    assert "is not running (status `interrupted`)" in flat(again.stderr)

    _, err = resume.communicate(timeout=180)
    assert finished(resume.returncode), err[-3000:]  # took the stale lease over
    assert row(kill_db)[1:] == ("finished", None)
