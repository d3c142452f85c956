"""`check_database` and `run.py db check`: a clean database passes, each planted fault is named.

Faults are planted with raw `sqlite3` (foreign keys off, as any other tool
would have them), never through the store.
"""

import hashlib
import json
import shutil
import sqlite3
import uuid

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.storage import (
    IntegrityProblem,
    NotFoundError,
    alembic_config,
    check_database,
    make_engine,
    open_store,
    upgrade,
)
from lawloop.storage._store import EDGE_NAMESPACE
from tests.storage.conftest import fill_campaign, node_id

FIRST = "11111111-1111-4111-8111-111111111111"
SECOND = "22222222-2222-4222-8222-222222222222"
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def url(path):
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A file database with two small campaigns, closed (WAL checkpointed)."""
    path = tmp_path_factory.mktemp("pristine") / "lawloop.db"
    with open_store(url(path)) as store:
        fill_campaign(store, FIRST, name="first")
        fill_campaign(store, SECOND, name="second", score=0.5)
    return path


@pytest.fixture
def db(pristine, tmp_path):
    """A fresh copy of `pristine` for one test to corrupt."""
    path = tmp_path / "lawloop.db"
    shutil.copyfile(pristine, path)
    return path


def plant(path, *statements):
    """Run raw SQL on the file, as a tool other than lawloop would."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA ignore_check_constraints=ON")  # plant bad enum values too
        for sql, *params in statements:
            conn.execute(sql, *params)
        conn.commit()
    finally:
        conn.close()


def scalar(path, sql, *params):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def where(report, *, chain=False):
    """Where each problem is; the hash chain's findings only when asked (`test_chain.py`)."""
    return [
        (p.check, p.table, p.row_id, p.column)
        for p in report.problems
        if chain or p.check != "chain"
    ]


def fingerprint(path):
    """Bytes and mtime of the database file and of its WAL, if any."""
    wal = path.with_name(path.name + "-wal")
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_mtime_ns,
        wal.read_bytes() if wal.exists() else None,
    )


def edge_id(source, target, relation):
    return str(uuid.uuid5(EDGE_NAMESPACE, f"{source}|{target}|{relation}"))


# -- clean databases ------------------------------------------------------------


def test_a_clean_database_passes_with_every_table_counted(db):
    report = check_database(url(db))
    assert report.ok, [str(p) for p in report.problems]
    assert report.problems == ()
    assert report.revision == HEAD
    assert report.rows == {
        "artifact": 4,
        "campaign": 2,
        "iteration": 4,
        "lineage_edge": 18,
        "experiment_run": 4,
        "hypothesis": 4,
        "planner_call": 4,
        "decision": 4,
        "model_fit": 4,
        "status_change": 4,  # each campaign accepts one hypothesis and supersedes one
        "chain_entry": 48,  # every row above but the artifacts
    }
    assert report.to_dict()["ok"] is True


def test_an_open_store_is_checked_and_stays_writable(store):
    fill_campaign(store, FIRST, name="first")
    assert check_database(store).ok
    assert check_database(store.engine).ok
    # `query_only` was for the check only: the pooled connection writes again.
    fill_campaign(store, SECOND, name="second")
    assert check_database(store).rows["campaign"] == 2


@pytest.fixture(scope="module")
def agent_db(tmp_path_factory):
    from lawloop.agent import CampaignConfig, start_campaign
    from tests.conftest import TINY

    path = tmp_path_factory.mktemp("agent") / "lawloop.agent.db"
    start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=1, **TINY), url(path)
    )
    return path


@pytest.mark.slow
def test_a_database_written_by_a_real_campaign_passes(agent_db):
    report = check_database(url(agent_db))
    assert report.ok, [str(p) for p in report.problems]
    assert report.rows["lineage_edge"] > 0
    assert report.rows["model_fit"] > 0


# -- planted faults ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [
        ("model_fit", "hypothesis_id", "0/fit/0"),
        ("decision", "hypothesis_id", "1/decide/0"),
        ("experiment_run", "iteration_id", "0/run_experiments/0"),
        ("planner_call", "iteration_id", "1/propose/0"),
    ],
    ids=[
        "model_fit.hypothesis_id",
        "decision.hypothesis_id",
        "experiment_run.iteration_id",
        "planner_call.iteration_id",
    ],
)
def test_a_dangling_reference_is_named(db, table, column, row):
    rid = node_id(SECOND, row)
    plant(db, (f"UPDATE {table} SET {column} = 'ghost' WHERE id = ?", (rid,)))
    report = check_database(url(db))
    assert where(report) == [("foreign-key", table, rid, column)]
    target = column.removesuffix("_id")
    assert report.problems[0].message == f"`ghost` names no row of `{target}`."
    assert str(report.problems[0]) == (
        f"{table} `{rid}` {column}: `ghost` names no row of `{target}`."
    )


def test_a_reference_into_another_campaign_is_named(db):
    fid = node_id(FIRST, "0/fit/0")
    foreign = node_id(SECOND, "0/propose/1")
    plant(db, ("UPDATE model_fit SET hypothesis_id = ? WHERE id = ?", (foreign, fid)))
    report = check_database(url(db))
    assert where(report) == [("foreign-key", "model_fit", fid, "hypothesis_id")]
    assert report.problems[0].message == (
        f"`{foreign}` is a hypothesis of campaign `{SECOND}`, "
        f"not of this row's campaign `{FIRST}`."
    )


def test_altered_artifact_bytes_are_named_with_their_real_hash(db):
    sha = scalar(
        db,
        "SELECT inputs_sha256 FROM experiment_run WHERE id = ?",
        node_id(FIRST, "1/run_experiments/0"),
    )
    data = bytearray(scalar(db, "SELECT data FROM artifact WHERE sha256 = ?", sha))
    data[-40] ^= 0xFF  # same length, one byte off
    plant(db, ("UPDATE artifact SET data = ? WHERE sha256 = ?", (bytes(data), sha)))
    report = check_database(url(db))
    assert where(report) == [("artifact", "artifact", sha, "data")]
    actual = hashlib.sha256(bytes(data)).hexdigest()
    assert f"`{actual}`" in report.problems[0].message


def test_a_wrong_artifact_size_is_named(db):
    sha = scalar(db, "SELECT sha256 FROM artifact ORDER BY sha256")
    plant(
        db, ("UPDATE artifact SET size_bytes = size_bytes + 1 WHERE sha256 = ?", (sha,))
    )
    assert where(check_database(url(db))) == [
        ("artifact", "artifact", sha, "size_bytes")
    ]


def test_a_deleted_artifact_is_named_by_every_row_that_needs_it(db):
    # Both campaigns measured the same arrays in iteration 0: one artifact, two users.
    sha = scalar(
        db,
        "SELECT data_sha256 FROM experiment_run WHERE id = ?",
        node_id(FIRST, "0/run_experiments/0"),
    )
    plant(db, ("DELETE FROM artifact WHERE sha256 = ?", (sha,)))
    report = check_database(url(db))
    expected = []
    for cid in (FIRST, SECOND):
        run_id, fit = node_id(cid, "0/run_experiments/0"), node_id(cid, "0/fit/0")
        expected += [
            ("artifact", "experiment_run", run_id, "data_sha256"),
            ("artifact", "model_fit", fit, "train_data_json"),
            ("lineage", "lineage_edge", edge_id(fit, sha, "fitted-on"), "target_id"),
            (
                "lineage",
                "lineage_edge",
                edge_id(sha, run_id, "produced-by"),
                "source_id",
            ),
        ]
    assert sorted(where(report)) == sorted(expected)
    assert len(report.problems) == len(expected)
    fit_problem = next(p for p in report.problems if p.column == "train_data_json")
    assert fit_problem.message == f"item 1, `{sha}`, is not in the artifact store."


def test_an_artifact_list_that_is_not_a_list_is_named(db):
    fid = node_id(FIRST, "1/fit/0")
    plant(db, ("UPDATE model_fit SET test_data_json = '\"abc\"' WHERE id = ?", (fid,)))
    report = check_database(url(db))
    assert where(report) == [("artifact", "model_fit", fid, "test_data_json")]
    assert "not a JSON list" in report.problems[0].message


def _insert_edge(db, source, source_kind, target, target_kind, relation, *, eid=None):
    plant(
        db,
        (
            "INSERT INTO lineage_edge (id, seq, campaign_id, source_id, source_kind, "
            "target_id, target_kind, relation, created_at) "
            "VALUES (?, 1000, ?, ?, ?, ?, ?, ?, '2026-01-01 00:00:00.000000')",
            (
                eid or edge_id(source, target, relation),
                FIRST,
                source,
                source_kind,
                target,
                target_kind,
                relation,
            ),
        ),
    )
    return eid or edge_id(source, target, relation)


@pytest.mark.parametrize(
    ("target", "target_kind", "relation", "message"),
    [
        (
            "ghost",
            "hypothesis",
            "replaced-by",
            "target hypothesis `ghost` does not exist.",
        ),
        # The row exists, but not in the table its declared kind names.
        ("HID", "decision", "refuted-by", "target decision `HID` does not exist."),
    ],
    ids=["missing-row", "wrong-kind"],
)
def test_a_dangling_lineage_edge_is_named_as_store_check_lineage_does(
    db, target, target_kind, relation, message
):
    hid = node_id(FIRST, "1/propose/1")
    target = target.replace("HID", node_id(FIRST, "0/propose/1"))
    eid = _insert_edge(db, hid, "hypothesis", target, target_kind, relation)
    report = check_database(url(db))
    assert where(report) == [("lineage", "lineage_edge", eid, "target_id")]
    assert report.problems[0].message == message.replace(
        "HID", node_id(FIRST, "0/propose/1")
    )
    with open_store(url(db)) as store:  # the store's own check agrees
        assert [eid in m for m in store.check_lineage()] == [True]


def test_an_edited_lineage_edge_is_named_by_its_id(db):
    hid = node_id(FIRST, "1/propose/1")
    old = edge_id(hid, node_id(FIRST, "1/decide/0"), "supported-by")
    plant(
        db,
        (
            "UPDATE lineage_edge SET target_id = ? WHERE id = ?",
            (node_id(FIRST, "0/decide/0"), old),
        ),
    )
    report = check_database(url(db))
    assert where(report) == [("lineage", "lineage_edge", old, "id")]
    assert "was edited" in report.problems[0].message


@pytest.mark.parametrize(
    ("table", "column", "row", "value"),
    [
        ("hypothesis", "status", "0/propose/1", "maybe"),
        ("campaign", "status", None, "paused"),
        ("lineage_edge", "relation", "EDGE", "inspired-by"),
        ("lineage_edge", "source_kind", "EDGE", "node"),
    ],
    ids=["hypothesis-status", "campaign-status", "edge-relation", "edge-kind"],
)
def test_an_undeclared_enum_value_is_named(db, table, column, row, value):
    hid = node_id(FIRST, "0/propose/1")
    rid = {
        None: FIRST,
        "EDGE": edge_id(hid, node_id(FIRST, "0/decide/0"), "supported-by"),
    }.get(row) or node_id(FIRST, row)
    plant(db, (f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, rid)))
    report = check_database(url(db))
    assert where(report) == [("value", table, rid, column)]
    assert report.problems[0].message.startswith(f"`{value}` is not one of `")


def test_invalid_json_is_named(db):
    did = node_id(SECOND, "0/decide/0")
    plant(db, ("UPDATE decision SET evidence_json = '{not json' WHERE id = ?", (did,)))
    report = check_database(url(db))
    assert where(report) == [("value", "decision", did, "evidence_json")]
    assert report.problems[0].message.startswith("is not valid JSON")


def test_problems_are_listed_by_check_then_table_then_row(db):
    fit = node_id(FIRST, "0/fit/0")
    plant(
        db,
        (
            "UPDATE hypothesis SET status = 'maybe' WHERE id = ?",
            (node_id(FIRST, "0/propose/1"),),
        ),
        ("UPDATE model_fit SET hypothesis_id = 'ghost' WHERE id = ?", (fit,)),
        (
            "UPDATE decision SET hypothesis_id = 'ghost' WHERE id = ?",
            (node_id(FIRST, "0/decide/0"),),
        ),
    )
    assert [(p.check, p.table) for p in check_database(url(db)).problems] == [
        ("foreign-key", "decision"),
        ("foreign-key", "model_fit"),
        ("value", "hypothesis"),
        # the chain names the two rows edited (in chain order) and the status
        ("chain", "model_fit"),
        ("chain", "decision"),
        ("chain", "hypothesis"),
    ]


# -- what the check does not do ------------------------------------------------


def test_the_check_never_writes_the_file(db):
    plant(
        db,
        (
            "UPDATE model_fit SET hypothesis_id = 'ghost' WHERE id = ?",
            (node_id(FIRST, "0/fit/0"),),
        ),
    )
    before = fingerprint(db)
    assert not check_database(url(db)).ok
    assert CliRunner().invoke(run.app, ["db", "check", "--db", url(db)]).exit_code == 1
    after = fingerprint(db)
    assert after[:2] == before[:2]
    assert after[2] in (None, b"")  # at most the empty WAL a read-only reader leaves
    with open_store(url(db)) as store:  # and the database is as usable as before
        fill_campaign(store, "33333333-3333-4333-8333-333333333333", name="third")


def test_the_check_does_not_upgrade_an_older_database(tmp_path):
    path = tmp_path / "old.db"
    engine = make_engine(url(path))
    try:
        upgrade(engine, "0001")
    finally:
        engine.dispose()
    before = fingerprint(path)
    report = check_database(url(path))
    assert report.ok
    assert report.revision == "0001"
    assert fingerprint(path)[:2] == before[:2]


def test_a_file_that_is_not_a_lawloop_database_has_schema_problems(tmp_path):
    path = tmp_path / "other.db"
    plant(path, ("CREATE TABLE campaign (id TEXT PRIMARY KEY)",))
    report = check_database(url(path))
    assert not report.ok
    assert {p.check for p in report.problems} == {"schema"}
    assert ("schema", "artifact", "", "") in where(report)
    assert ("schema", "campaign", "", "name") in where(report)
    assert report.rows == {}


def test_a_missing_file_is_not_created(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(NotFoundError, match="No database file at"):
        check_database(url(path))
    assert not path.exists()


# -- the command line -------------------------------------------------------------


def test_cli_db_check_exits_0_on_a_clean_database(db):
    out = CliRunner().invoke(run.app, ["db", "check", "--db", url(db)])
    assert out.exit_code == 0, out.output
    assert "ok" in out.stdout


def test_cli_db_check_exits_1_and_lists_every_problem(db):
    fit = node_id(FIRST, "0/fit/0")
    plant(db, ("UPDATE model_fit SET hypothesis_id = 'ghost' WHERE id = ?", (fit,)))
    out = CliRunner().invoke(run.app, ["db", "check", "--db", url(db)])
    assert out.exit_code == 1
    assert (
        f"model_fit `{fit}` hypothesis_id: `ghost` names no row of `hypothesis`."
        in out.stdout
    )
    assert f"model_fit `{fit}`: its content no longer matches" in out.stdout
    assert "2 integrity problem" in out.stderr

    out = CliRunner().invoke(run.app, ["db", "check", "--db", url(db), "--json"])
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert doc["ok"] is False
    assert doc["revision"] == HEAD
    assert doc["problems"][0] == (
        IntegrityProblem(
            "foreign-key",
            "model_fit",
            fit,
            "hypothesis_id",
            "`ghost` names no row of `hypothesis`.",
        ).to_dict()
    )
    assert [(p["check"], p["row_id"]) for p in doc["problems"][1:]] == [("chain", fit)]


def test_cli_db_check_on_a_missing_file_is_a_user_error(tmp_path):
    out = CliRunner().invoke(run.app, ["db", "check", "--db", url(tmp_path / "no.db")])
    assert out.exit_code == 1
    assert "No database file at" in out.stderr
