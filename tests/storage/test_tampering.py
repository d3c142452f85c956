"""The hash chain: each edit made behind the store's back is named by `db check` (exit 1).

The record is the shared recorded pendulum campaign (a real one: rejected,
accepted and superseded hypotheses, fits, decisions), copied for each test
and edited with raw `sqlite3`, as any tool other than lawloop would.
"""

import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.storage import check_database, open_store
from lawloop.storage._chain import GENESIS, chain_digest


@pytest.fixture
def db(recorded_pendulum, tmp_path):
    path = tmp_path / "lawloop.db"
    shutil.copyfile(recorded_pendulum[0], path)
    return path


def sql(path, statement, *params):
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def db_check(path):
    """Run `run.py db check --json`; return (exit code, problems)."""
    import json

    out = CliRunner().invoke(
        run.app, ["db", "check", "--db", f"sqlite:///{path}", "--json"]
    )
    return out.exit_code, json.loads(out.stdout)["problems"]


def chain_findings(problems):
    return [
        (p["table"], p["row_id"], p["column"])
        for p in problems
        if p["check"] == "chain"
    ]


def test_the_recorded_campaign_is_chained_and_passes(db):
    code, problems = db_check(db)
    assert (code, problems) == (0, [])
    kinds = dict(
        sql(db, "SELECT table_name, count(*) FROM chain_entry GROUP BY table_name")
    )
    for table in (
        "campaign",
        "iteration",
        "experiment_run",
        "planner_call",
        "hypothesis",
        "model_fit",
        "decision",
        "lineage_edge",
        "status_change",
    ):
        assert kinds[table] == sql(db, f"SELECT count(*) FROM {table}")[0][0], table
    # every rejection and acceptance is on the record with its decision
    changes = sql(db, "SELECT status, decision_id FROM status_change")
    assert {"rejected", "accepted"} <= {s for s, _ in changes}
    assert all(d is not None for s, d in changes if s in ("accepted", "superseded"))


def test_a_status_changed_from_rejected_to_accepted_is_named(db):
    (hid,) = sql(
        db, "SELECT id FROM hypothesis WHERE status = 'rejected' ORDER BY seq LIMIT 1"
    )[0]
    sql(db, "UPDATE hypothesis SET status = 'accepted' WHERE id = ?", hid)
    code, problems = db_check(db)
    assert code == 1
    assert chain_findings(problems) == [("hypothesis", hid, "status")]
    assert (
        "is `accepted` but its recorded status changes end at `rejected`"
        in problems[0]["message"]
    )


def test_edited_fit_constants_are_named(db):
    fid, params = sql(
        db,
        "SELECT id, parameters_json FROM model_fit WHERE success ORDER BY seq LIMIT 1",
    )[0]
    edited = params.replace("1", "2", 1)
    assert edited != params
    sql(db, "UPDATE model_fit SET parameters_json = ? WHERE id = ?", edited, fid)
    code, problems = db_check(db)
    assert code == 1
    assert chain_findings(problems) == [("model_fit", fid, "")]
    assert "no longer matches the digest" in problems[0]["message"]


def test_a_deleted_unreferenced_decision_is_named(db):
    (did,) = sql(
        db,
        "SELECT id FROM decision WHERE kind = 'continue' AND id NOT IN "
        "(SELECT target_id FROM lineage_edge UNION SELECT source_id FROM lineage_edge) "
        "AND id NOT IN (SELECT decision_id FROM status_change WHERE decision_id IS NOT NULL) "
        "ORDER BY seq LIMIT 1",
    )[0]
    sql(db, "DELETE FROM decision WHERE id = ?", did)
    code, problems = db_check(db)
    assert code == 1
    assert chain_findings(problems) == [("decision", did, "")]
    assert "is gone: the row was deleted" in problems[0]["message"]


def test_reordered_rows_are_named(db):
    (a, sa), (b, sb) = sql(db, "SELECT id, seq FROM decision ORDER BY seq LIMIT 2")
    sql(db, "UPDATE decision SET seq = -1 WHERE id = ?", a)
    sql(db, "UPDATE decision SET seq = ? WHERE id = ?", sa, b)
    sql(db, "UPDATE decision SET seq = ? WHERE id = ?", sb, a)
    code, problems = db_check(db)
    assert code == 1
    found = chain_findings(problems)
    assert ("decision", a, "") in found
    assert ("decision", b, "") in found
    assert (
        "decision",
        b,
        "seq",
    ) in found  # b now sorts before a, which was chained first


def test_a_blob_rewritten_as_text_is_a_problem_not_a_crash(db):
    (sha,) = sql(db, "SELECT sha256 FROM artifact ORDER BY sha256 LIMIT 1")[0]
    sql(db, "UPDATE artifact SET data = CAST(data AS TEXT) WHERE sha256 = ?", sha)
    code, problems = db_check(db)
    assert code == 1
    assert [(p["check"], p["row_id"], p["column"]) for p in problems] == [
        ("artifact", sha, "data")
    ]
    assert "holds text, not bytes" in problems[0]["message"]


def test_a_row_written_behind_the_store_is_named(db):
    columns = [r[1] for r in sql(db, "PRAGMA table_info(decision)")]
    listed = ", ".join(columns)
    picked = ", ".join(
        "'planted'" if c == "id" else "seq + 100000" if c == "seq" else c
        for c in columns
    )
    sql(
        db,
        f"INSERT INTO decision ({listed}) SELECT {picked} FROM decision ORDER BY seq LIMIT 1",
    )
    code, problems = db_check(db)
    assert code == 1
    assert chain_findings(problems) == [("decision", "planted", "")]
    assert "is on no chain" in problems[0]["message"]


def test_a_deleted_chain_entry_breaks_the_chain_where_it_was(db):
    (cid,) = sql(db, "SELECT id FROM campaign")[0]
    sql(db, "DELETE FROM chain_entry WHERE campaign_id = ? AND position = 5", cid)
    code, problems = db_check(db)
    assert code == 1
    found = chain_findings(problems)
    assert found[0] == ("chain_entry", f"{cid}#5", "position")
    assert found[1][2] == ""  # and the row it vouched for is now on no chain
    assert "is on no chain" in problems[-1]["message"]


def test_a_rewritten_first_link_is_named(db):
    (cid,) = sql(db, "SELECT id FROM campaign")[0]
    sql(
        db,
        "UPDATE chain_entry SET chain_sha256 = ? WHERE campaign_id = ? AND position = 1",
        chain_digest(GENESIS, 1, "campaign", cid, "0" * 64),
        cid,
    )
    code, problems = db_check(db)
    assert code == 1
    assert chain_findings(problems) == [("chain_entry", f"{cid}#1", "chain_sha256")]


def test_status_changes_through_the_store_are_recorded_and_pass(tmp_path):
    from tests.storage.conftest import fill_campaign, node_id

    cid = "11111111-1111-4111-8111-111111111111"
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with open_store(url) as store:
        fill_campaign(store, cid, name="c")
        hid = node_id(cid, "0/propose/1")
        did = node_id(cid, "0/decide/0")
        store.set_hypothesis_status(hid, "superseded", decision_id=did)
        store.set_hypothesis_status(
            hid, "superseded", decision_id=did
        )  # a re-run: nothing new
        store.set_hypothesis_score(hid, -3.5)
        assert store.get_hypothesis(hid).score == -3.5
        report = check_database(store)
    assert report.ok, [str(p) for p in report.problems]
    rows = sql(
        tmp_path / "x.db",
        "SELECT status, decision_id FROM status_change WHERE hypothesis_id = ? ORDER BY seq",
        hid,
    )
    assert rows == [("accepted", None), ("superseded", did)]


def test_an_upgraded_database_is_chained_and_later_edits_are_named(tmp_path):
    """A database from before 0004 gets its chain on upgrade; from then on edits show."""
    from tests.storage.conftest import fill_campaign, node_id

    cid = "22222222-2222-4222-8222-222222222222"
    path = tmp_path / "old.db"
    with open_store(f"sqlite:///{path}") as store:
        fill_campaign(store, cid, name="old")
    # What a 0003 database held: no chain, no recorded status changes.
    sql(path, "DROP TABLE chain_entry")
    sql(path, "DROP TABLE status_change")
    sql(path, "UPDATE alembic_version SET version_num = '0003'")
    assert check_database(f"sqlite:///{path}").ok  # unchecked, not broken
    with open_store(f"sqlite:///{path}") as store:
        assert check_database(store).ok
    assert sql(path, "SELECT count(*) FROM status_change")[0][0] == 2
    fid = node_id(cid, "1/fit/0")
    sql(path, "UPDATE model_fit SET stderr_json = '{\"a\": 1e-9}' WHERE id = ?", fid)
    code, problems = db_check(path)
    assert code == 1
    assert chain_findings(problems) == [("model_fit", fid, "")]
