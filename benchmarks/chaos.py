"""Kill campaigns with SIGKILL at random moments, resume them, and compare with an uninterrupted run.

One uninterrupted pendulum campaign is the reference. Each of `--runs`
campaigns with the same seed is killed at a random moment of its run (in a
node, mid-transaction, during a checkpoint write: wherever the moment
falls), resumed with `campaign resume`, and its whole provenance record is
compared with the reference's, ids aside (`Store.dump_campaign`); then
`db check` runs on its database. Prints one row per run and a summary.

    .venv/bin/python benchmarks/chaos.py --runs 20 --seed 7

The test suite runs three such kills (tests/agent/test_resume.py); this
script is the long version.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lawloop.storage import check_database, open_store  # noqa: E402
from tests.conftest import FAST, dump_diff  # noqa: E402


def _campaign_id(path: Path) -> str | None:
    try:
        with sqlite3.connect(path) as con:
            row = con.execute("select id from campaign").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _start(db: Path, config: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "campaign",
            "start",
            "--backend",
            "core/Pendulum-v0",
            "--seed",
            "3",
            "--config",
            str(config),
            "--db",
            f"sqlite:///{db}",
            "--json",
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _reference(tmp: Path, config: Path) -> tuple[Path, str, float]:
    db = tmp / "reference.db"
    proc = _start(db, config, tmp)
    while _campaign_id(db) is None and proc.poll() is None:
        time.sleep(0.05)
    began = time.monotonic()
    out, _ = proc.communicate(timeout=900)
    if proc.returncode != 0:
        msg = "the reference campaign failed"
        raise SystemExit(msg)
    return db, json.loads(out)["campaign_id"], time.monotonic() - began


def one_run(
    i: int, tmp: Path, config: Path, reference: tuple[Path, str, float], seed: int
) -> dict[str, Any]:
    """Kill, resume, compare, check; one row of the table."""
    ref_db, ref_id, ref_seconds = reference
    rng = random.Random(seed)
    fraction = rng.uniform(0.0, 0.95)
    # A run that finished before the kill landed tests nothing: kill the next
    # one earlier (the machine's load makes one run's length vary).
    for attempt in range(4):
        db = tmp / f"killed{i}-{attempt}.db"
        proc = _start(db, config, tmp)
        while _campaign_id(db) is None and proc.poll() is None:
            time.sleep(0.02)
        delay = fraction * ref_seconds
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        cid = _campaign_id(db)
        if cid is None:
            break
        with sqlite3.connect(db) as con:
            status = con.execute("select status from campaign").fetchone()[0]
        finished = status == "finished"
        if not finished:
            break
        fraction /= 2
    row: dict[str, Any] = {"run": i, "seed": seed, "killed_at_s": round(delay, 2)}
    if cid is None:
        row.update(identical=False, db_check=False, note="no campaign row")
        return row
    row["finished_before_kill"] = finished
    if not finished:
        resumed = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "campaign",
                "resume",
                cid[:8],
                "--db",
                f"sqlite:///{db}",
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=900,
        )
        row["resume_exit"] = resumed.returncode
    with open_store(f"sqlite:///{ref_db}") as a, open_store(f"sqlite:///{db}") as b:
        da, dk = a.dump_campaign(ref_id), b.dump_campaign(cid)
        row["identical"] = da == dk
        if da != dk:
            row["note"] = dump_diff(da, dk, limit=3)[:500]
    row["db_check"] = check_database(f"sqlite:///{db}").ok
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the chaos campaigns and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7, help="seed of the kill moments")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "fast.toml"
        config.write_text("\n".join(f"{k} = {v!r}" for k, v in FAST.items()) + "\n")
        reference = _reference(tmp, config)
        master = random.Random(args.seed)
        for i in range(args.runs):
            row = one_run(i, tmp, config, reference, master.randrange(10**6))
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    print(f"reference campaign: {reference[2]:.1f} s\n")
    print(
        "| run | kill seed | killed at (s) | finished before kill | identical record | db check |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['run']} | {r['seed']} | {r['killed_at_s']} | "
            f"{r.get('finished_before_kill')} | {r['identical']} | {r['db_check']} |"
        )
    good = sum(r["identical"] and r["db_check"] for r in rows)
    print(
        f"\n{good}/{len(rows)} killed campaigns resumed to the uninterrupted record with a clean db check"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0 if good == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
