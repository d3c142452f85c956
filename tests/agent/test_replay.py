"""`replay`: a recorded campaign re-executed offline matches its record, and planted changes show."""

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.parse
from contextlib import closing

import pytest
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.agent.audit._compare import compare_records
from lawloop.storage import open_store
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TABLES = (
    "iteration",
    "planner_call",
    "experiment_run",
    "hypothesis",
    "model_fit",
    "decision",
    "lineage_edge",
)


def url(path):
    return f"sqlite:///{path}"


def text(result):
    """The CLI's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def copy_with(source, target, *statements):
    """A copy of the recorded database (read through `mode=ro`) with raw SQL applied."""
    ro = sqlite3.connect(f"file:{urllib.parse.quote(str(source))}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        ro.backup(dst)
        for sql, params in statements:
            dst.execute(sql, params)
        dst.commit()
    finally:
        ro.close()
        dst.close()
    return target


def query(path, sql, params=()):
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as c:
        return c.execute(sql, params).fetchall()


def fits(path, cid, index):
    """(id, parameters) of the fits of iteration `index` that have a fitted constant."""
    rows = query(
        path,
        "select f.id, f.parameters_json from model_fit f join iteration i "
        'on i.id = f.iteration_id where f.campaign_id = ? and i."index" = ? '
        "order by f.seq",
        (cid, index),
    )
    return [(i, json.loads(p)) for i, p in rows if json.loads(p)]


def bump(fit_id, params, name):
    """SQL that adds 1 to constant `name` of one fit."""
    planted = dict(params, **{name: params[name] + 1.0})
    return (
        "update model_fit set parameters_json = ? where id = ?",
        (json.dumps(planted), fit_id),
    )


@pytest.fixture(scope="module")
def recorded(recorded_pendulum):
    """The shared FAST pendulum record (never written: that is one of the checks)."""
    db, _, summary = recorded_pendulum
    assert summary["iterations"] >= 2, "the checks below need two iterations"
    return db, summary["campaign_id"]


@pytest.fixture(scope="module")
def partial(recorded, tmp_path_factory):
    """`replay --iteration 0` of a copy with a change planted in iterations 0 and 1.

    Started in the background, as the user runs it, so that it overlaps the
    full replay below (the two share the machine's cores).
    """
    db, cid = recorded
    d = tmp_path_factory.mktemp("partial")
    (f0, p0), (f1, p1) = fits(db, cid, 0)[0], fits(db, cid, 1)[0]
    name0 = next(iter(p0))
    planted = copy_with(
        db, d / "planted.db", bump(f0, p0, name0), bump(f1, p1, next(iter(p1)))
    )
    keep = d / "kept"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "replay",
            cid[:8],
            "--iteration",
            "0",
            "--keep",
            str(keep),
            "--db",
            url(planted),
            "--json",
        ],
        cwd=d,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc, (f0, name0, p0[name0]), keep
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


@pytest.fixture(scope="module")
def replayed(recorded, partial, tmp_path_factory):
    """The full replay through the CLI (in-process), its replay database kept."""
    db, cid = recorded
    keep = tmp_path_factory.mktemp("kept")
    before = fingerprint(db)
    result = CliRunner().invoke(
        run.app, ["replay", cid[:8], "--db", url(db), "--keep", str(keep), "--json"]
    )
    return result, before, fingerprint(db), keep / "replay.sqlite"


def compare(recorded, planted, replay_db, **kwargs):
    _, cid = recorded
    with open_store(url(planted)) as a, open_store(url(replay_db)) as b:
        return compare_records(a, b, cid, **kwargs)


def test_offline_campaign_replays_with_zero_mismatches(recorded, replayed):
    db, cid = recorded
    result, *_ = replayed
    assert result.exit_code == 0, result.output[-3000:]
    doc = json.loads(result.stdout)
    assert doc["mismatches"] == []
    assert doc["ok"]
    assert doc["campaign"] == cid
    indices = [i for (i,) in query(db, 'select "index" from iteration order by 1')]
    assert doc["iterations"] == indices
    rows = 1 + sum(
        query(db, f"select count(*) from {t} where campaign_id = ?", (cid,))[0][0]
        for t in TABLES
    )
    artifacts = query(db, "select count(*) from artifact")[0][0]
    assert doc["compared_rows"] == rows + artifacts  # every row, every artifact
    assert "planner_call.latency_s" in " ".join(doc["ignored"])


def test_replay_never_writes_the_recorded_database(replayed):
    _, before, after, _ = replayed
    assert after == before


def test_changed_fit_parameter_is_named_with_both_values(recorded, replayed, tmp_path):
    db, cid = recorded
    fit_id, params = fits(db, cid, 1)[0]
    name = next(iter(params))
    planted = copy_with(db, tmp_path / "p.db", bump(fit_id, params, name))
    report = compare(recorded, planted, replayed[3])
    assert [m.to_dict() for m in report.mismatches] == [
        {
            "table": "model_fit",
            "row_id": fit_id,
            "iteration": 1,
            "label": report.mismatches[0].label,
            "column": "parameters_json",
            "path": name,
            "recorded": params[name] + 1.0,
            "replayed": params[name],
            "kind": "value",
            "detail": "",
        }
    ]
    assert report.mismatches[0].label.startswith("fit of `")
    assert f"parameters_json.{name}: recorded {params[name] + 1.0!r}" in str(
        report.mismatches[0]
    )


def test_changed_artifact_bytes_are_reported(recorded, replayed, tmp_path):
    db, cid = recorded
    sha, data = query(
        db,
        "select a.sha256, a.data from artifact a join experiment_run r "
        "on r.data_sha256 = a.sha256 where r.campaign_id = ? order by r.seq",
        (cid,),
    )[0]
    bad = bytes([data[0] ^ 1]) + data[1:]
    planted = copy_with(
        db,
        tmp_path / "p.db",
        ("update artifact set data = ? where sha256 = ?", (bad, sha)),
    )
    (m,) = compare(recorded, planted, replayed[3]).mismatches
    assert (m.table, m.row_id, m.kind, m.column) == (
        "artifact",
        sha,
        "artifact",
        "data",
    )
    assert (m.recorded, m.replayed) == (sha, hashlib.sha256(bad).hexdigest())


def test_changed_data_sha_is_reported_with_how_the_data_differ(
    recorded, replayed, tmp_path
):
    db, cid = recorded
    (_run0, data0), (run1, data1) = query(
        db,
        "select id, data_sha256 from experiment_run where campaign_id = ? order by seq",
        (cid,),
    )[:2]
    planted = copy_with(
        db,
        tmp_path / "p.db",
        ("update experiment_run set data_sha256 = ? where id = ?", (data0, run1)),
    )
    (m,) = compare(recorded, planted, replayed[3]).mismatches
    assert (m.table, m.row_id, m.column) == ("experiment_run", run1, "data_sha256")
    assert (m.recorded, m.replayed) == (data0, data1)
    assert "shape" in m.detail or "differ" in m.detail


def test_iteration_compares_only_that_iteration(recorded, replayed, tmp_path):
    db, cid = recorded
    (f0, p0), (f1, p1) = fits(db, cid, 0)[0], fits(db, cid, 1)[0]
    planted = copy_with(
        db,
        tmp_path / "p.db",
        bump(f0, p0, next(iter(p0))),
        bump(f1, p1, next(iter(p1))),
    )
    everything = compare(recorded, planted, replayed[3])
    assert {m.row_id for m in everything.mismatches} == {f0, f1}
    assert everything.first_iteration == 0
    for k, fid in ((0, f0), (1, f1)):
        report = compare(recorded, planted, replayed[3], iteration=k)
        assert report.iterations == (k,)
        assert [m.row_id for m in report.mismatches] == [fid]
        assert report.compared_rows < everything.compared_rows


def test_iteration_replay_stops_there_and_exits_1_on_a_mismatch(partial):
    proc, (fit_id, name, value), keep = partial
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err[-3000:]
    assert "1 mismatch(es), first in iteration 0" in err
    doc = json.loads(out)
    assert doc["iterations"] == [0]
    assert [
        (m["row_id"], m["path"], m["recorded"], m["replayed"])
        for m in doc["mismatches"]
    ] == [(fit_id, name, value + 1.0, value)]
    assert query(keep / "replay.sqlite", 'select "index" from iteration') == [(0,)]


def test_unknown_campaign_exits_1_with_a_clear_message(tmp_path):
    db = tmp_path / "empty.db"
    open_store(url(db)).close()
    result = CliRunner().invoke(run.app, ["replay", "nosuch", "--db", url(db)])
    assert result.exit_code == 1
    assert "No campaign has an id starting with `nosuch`" in text(result)


def test_iteration_not_on_the_record_and_a_used_keep_dir_exit_1(recorded, replayed):
    db, cid = recorded
    kept = replayed[3].parent
    runner = CliRunner()
    result = runner.invoke(
        run.app, ["replay", cid, "--db", url(db), "--iteration", "9"]
    )
    assert result.exit_code == 1
    assert "no finished iteration 9; its finished iterations are 0, 1" in text(result)
    result = runner.invoke(
        run.app, ["replay", cid, "--db", url(db), "--keep", str(kept)]
    )
    assert result.exit_code == 1
    assert "holds a replay already" in text(result)
