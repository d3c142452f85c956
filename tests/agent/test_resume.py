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

from storage import open_store

pytestmark = pytest.mark.slow


def _start_cmd(root, db, config):
    return [sys.executable, str(root / "run.py"), "campaign", "start", "--backend", "core/Pendulum-v0",
            "--seed", "3", "--config", str(config), "--db", db, "--json"]


def _campaign_id(path):
    try:
        with sqlite3.connect(path) as con:
            row = con.execute("select id from campaign").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def test_sigkill_then_resume_gives_the_uninterrupted_record(root, tmp_path, fast_config_file):
    ref_db = tmp_path / "ref.db"
    t0 = time.monotonic()
    ref = subprocess.run(_start_cmd(root, f"sqlite:///{ref_db}", fast_config_file),
                         capture_output=True, text=True, cwd=tmp_path, check=True, timeout=600)
    ref_seconds = time.monotonic() - t0
    ref_summary = json.loads(ref.stdout)

    seed = int(os.environ.get("LAWLOOP_CHAOS_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    db = tmp_path / "killed.db"
    proc = subprocess.Popen(_start_cmd(root, f"sqlite:///{db}", fast_config_file), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while _campaign_id(db) is None and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.05, 0.8) * ref_seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    cid = _campaign_id(db)
    assert cid, f"chaos seed {seed}: the campaign row was never written"

    resumed = subprocess.run(
        [sys.executable, str(root / "run.py"), "campaign", "resume", cid[:8], "--db", f"sqlite:///{db}", "--json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    if proc.returncode == 0:  # finished before the kill landed: resume must refuse politely
        assert resumed.returncode == 1 and "finished" in resumed.stderr
    else:
        assert resumed.returncode == 0, f"chaos seed {seed}: {resumed.stderr[-2000:]}"
        assert json.loads(resumed.stdout)["best"]["expression"] == ref_summary["best"]["expression"]

    a, b = open_store(f"sqlite:///{ref_db}"), open_store(f"sqlite:///{db}")
    try:
        assert a.dump_campaign(ref_summary["campaign_id"]) == b.dump_campaign(cid), f"chaos seed {seed}"
        assert b.check_lineage(cid) == []
    finally:
        a.close()
        b.close()
