"""A campaign killed with SIGKILL at a random moment resumes to the same record."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from lawloop.storage import check_database, open_store
from tests.conftest import dump_diff, finished

pytestmark = pytest.mark.slow


def _start_cmd(root, db, config):
    return [
        sys.executable,
        str(root / "run.py"),
        "campaign",
        "start",
        "--backend",
        "core/Pendulum-v0",
        "--seed",
        "3",
        "--config",
        str(config),
        "--db",
        db,
        "--json",
    ]


def _status(path):
    with sqlite3.connect(path) as con:
        return con.execute("select status from campaign").fetchone()[0]


def _campaign_id(path):
    try:
        with sqlite3.connect(path) as con:
            row = con.execute("select id from campaign").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its record is what every killed-and-resumed run must equal."""
    from tests.conftest import FAST, ROOT, write_config

    d = tmp_path_factory.mktemp("ref")
    config = write_config(d / "fast.toml", FAST)
    proc = subprocess.Popen(
        _start_cmd(ROOT, f"sqlite:///{d / 'ref.db'}", config),
        cwd=d,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    while _campaign_id(d / "ref.db") is None and proc.poll() is None:
        time.sleep(0.05)
    t0 = time.monotonic()  # the campaign's own time, from its row to the end
    out, _ = proc.communicate(timeout=600)
    summary = json.loads(out)
    assert finished(proc.returncode, summary)
    return d / "ref.db", summary, time.monotonic() - t0


@pytest.mark.parametrize(
    "window", [(0.02, 0.3), (0.3, 0.6), (0.6, 0.9)], ids=["early", "middle", "late"]
)
def test_sigkill_then_resume_gives_the_uninterrupted_record(
    root, tmp_path, fast_config_file, reference, window
):
    ref_db, ref_summary, ref_seconds = reference
    seed = int(os.environ.get("LAWLOOP_CHAOS_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    db = tmp_path / "killed.db"
    proc = subprocess.Popen(
        _start_cmd(root, f"sqlite:///{db}", fast_config_file),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while _campaign_id(db) is None and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(rng.uniform(*window) * ref_seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    cid = _campaign_id(db)
    assert cid, f"chaos seed {seed}: the campaign row was never written"
    finished_before_kill = _status(db) == "finished"

    resumed = subprocess.run(
        [
            sys.executable,
            str(root / "run.py"),
            "campaign",
            "resume",
            cid[:8],
            "--db",
            f"sqlite:///{db}",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    if (
        finished_before_kill
    ):  # finished before the kill landed: resume must refuse politely
        assert resumed.returncode == 1
        assert "finished" in resumed.stderr
    else:
        assert finished(resumed.returncode), (
            f"chaos seed {seed}: {resumed.stderr[-2000:]}"
        )
        assert (
            json.loads(resumed.stdout)["best"]["expression"]
            == ref_summary["best"]["expression"]
        )

    a, b = open_store(f"sqlite:///{ref_db}"), open_store(f"sqlite:///{db}")
    try:
        da, db_ = a.dump_campaign(ref_summary["campaign_id"]), b.dump_campaign(cid)
        assert da == db_, f"chaos seed {seed}:\n{dump_diff(da, db_)}"
        assert b.check_lineage(cid) == []
        report = check_database(f"sqlite:///{db}")
        assert report.ok, f"chaos seed {seed}: {report.problems}"
    finally:
        a.close()
        b.close()
