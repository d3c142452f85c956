import hashlib
import sqlite3
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from lawloop.storage import (
    Base,
    alembic_config,
    check_database,
    encode_arrays,
    make_engine,
    open_store,
    upgrade,
)
from lawloop.storage._store import EDGE_NAMESPACE


def test_upgrade_head_on_an_empty_database_matches_the_models(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert context.get_current_revision() == head
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(db_url), "base")
        assert sa.inspect(engine).get_table_names() == ["alembic_version"]
        upgrade(engine)
        assert "lineage_edge" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_open_store_twice_and_with_a_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        with open_store("sqlite:///rel.db") as store:
            store.add_campaign(
                "c",
                name="n",
                backend_id="b/B-v0",
                planner="offline",
                seed=0,
                config={},
                code_version="x",
                environment={},
            )
    assert (tmp_path / "rel.db").exists()
    with open_store(f"sqlite:///{tmp_path / 'rel.db'}") as store:
        assert [c.id for c in store.list_campaigns()] == ["c"]


def test_sqlite_pragmas_are_set_on_every_connection(file_store):
    with file_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() > 0


def test_memory_store_keeps_its_schema_across_sessions():
    with open_store("sqlite://") as store:
        store.add_campaign(
            "c",
            name="n",
            backend_id="b/B-v0",
            planner="offline",
            seed=0,
            config={},
            code_version="x",
            environment={},
        )
        assert store.get_campaign("c").name == "n"


# -- the migrated schema is the models' schema, object by object -----------------

SCRIPT = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPT.get_current_head()
EARLIER = [r.revision for r in SCRIPT.walk_revisions() if r.revision != HEAD]


def schema_of(engine):
    """Every table's columns, keys, indexes and constraints, as plain data."""
    inspector = sa.inspect(engine)
    out = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"])
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (
                    f["name"],
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    tuple(f["referred_columns"]),
                )
                for f in inspector.get_foreign_keys(table)
            ),
            "checks": sorted(
                (c["name"], c["sqltext"])
                for c in inspector.get_check_constraints(table)
            ),
        }
    return out


def test_alembic_upgrade_head_gives_exactly_the_schema_of_create_all(
    db_url, request, tmp_path
):
    """`alembic upgrade head` (its own engine, as run by hand) versus `create_all`."""
    command.upgrade(alembic_config(db_url), "head")
    other = (
        request.getfixturevalue("postgres_server")(migrated=False)
        if db_url.startswith("postgresql")
        else f"sqlite:///{tmp_path / 'created.db'}"
    )
    migrated, created = make_engine(db_url), make_engine(other)
    try:
        Base.metadata.create_all(created)
        want = schema_of(created)
        assert sorted(want) == sorted(t.name for t in Base.metadata.sorted_tables)
        got = schema_of(migrated)
        for table in want:
            assert got[table] == want[table], table
        assert sorted(got) == sorted(want)
    finally:
        migrated.dispose()
        created.dispose()


def test_the_hypothesis_query_of_every_iteration_uses_the_0002_index(file_store):
    """`list_hypotheses(campaign, status)`: one index search, no sort, no other campaign."""
    statement = (
        "EXPLAIN QUERY PLAN SELECT * FROM hypothesis "
        "WHERE campaign_id = 'c' AND status = 'open' ORDER BY seq"
    )
    with file_store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(statement)]
    assert plan == [
        "SEARCH hypothesis USING INDEX ix_hypothesis__campaign_id_status_seq "
        "(campaign_id=? AND status=?)"
    ]


# -- a database made at an earlier revision upgrades with its data intact ----------

C = "0b5e3f52-7d1e-4c4e-9a53-1b0e4c2d9f10"
I = str(uuid.uuid5(uuid.UUID(C), "0/iteration/0"))  # noqa: E741 - an id, as in the agent
R = str(uuid.uuid5(uuid.UUID(C), "0/run_experiments/0"))
P = str(uuid.uuid5(uuid.UUID(C), "0/propose/0"))
H1 = str(uuid.uuid5(uuid.UUID(C), "0/propose/1"))
H2 = str(uuid.uuid5(uuid.UUID(C), "0/propose/2"))
F = str(uuid.uuid5(uuid.UUID(C), "0/fit/0"))
D = str(uuid.uuid5(uuid.UUID(C), "0/decide/0"))
NPZ = encode_arrays({"x": np.array([0.5, -1.0, 2.0**-40])})
BLOB = bytes(range(256)) * 3
A1, A2 = hashlib.sha256(NPZ).hexdigest(), hashlib.sha256(BLOB).hexdigest()
E = str(uuid.uuid5(EDGE_NAMESPACE, f"{H2}|{F}|tested-by"))
T0 = "2026-01-02 03:04:05.678901"

# Written with raw SQL, in the columns every revision so far has; values chosen to
# stress the storage: 64-bit extremes, NULLs, unicode, bytes, tiny floats, JSON null.
ROWS = {
    "artifact": [
        {
            "sha256": A1,
            "media_type": "application/x-npz",
            "size_bytes": len(NPZ),
            "data": NPZ,
            "created_at": T0,
        },
        {
            "sha256": A2,
            "media_type": "application/octet-stream",
            "size_bytes": len(BLOB),
            "data": BLOB,
            "created_at": T0,
        },
    ],
    "campaign": [
        {
            "id": C,
            "seq": 1,
            "name": "pendule été ✓ 摆",
            "backend_id": "core/Pendulum-v0",
            "planner": "llm:openai/gpt-4o",
            "seed": 2**63 - 1,
            "status": "finished",
            "config_json": '{"seed": 1, "noise": 0.01, "names": ["L", "g"]}',
            "code_version": "3f2a9c1+dirty",
            "environment_json": '{"python": "3.11"}',
            "created_at": T0,
            "finished_at": "2026-01-02 04:00:00.000000",
            "result_json": '{"best": null}',
        }
    ],
    "iteration": [
        {
            "id": I,
            "seq": 1,
            "campaign_id": C,
            "index": 0,
            "seeds_json": '{"design": 5}',
            "started_at": T0,
            "summary_json": None,
            "finished_at": None,
        }
    ],
    "experiment_run": [
        {
            "id": R,
            "seq": 1,
            "campaign_id": C,
            "iteration_id": I,
            "backend_id": "core/Pendulum-v0",
            "design_reason": "sobol, central half",
            "inputs_sha256": A1,
            "data_sha256": None,
            "seed": -(2**63),
            "n_points": 3,
            "device": "cuda:0",
            "status_code": 2,
            "status_message": "timeout after 5 s",
            "cost": 1.5,
            "duration_s": 0.25,
            "created_at": T0,
        }
    ],
    "planner_call": [
        {
            "id": P,
            "seq": 1,
            "campaign_id": C,
            "iteration_id": None,
            "planner": "llm:openai/gpt-4o",
            "template_name": "propose",
            "template_sha256": "ab" * 32,
            "prompt": "Propose a law.\n\tT = ?",
            "reply": None,
            "parsed_json": None,
            "input_tokens": 1234,
            "output_tokens": None,
            "latency_s": 0.5,
            "error": "HTTP 429",
            "created_at": T0,
        }
    ],
    "hypothesis": [
        {
            "id": H1,
            "seq": 1,
            "campaign_id": C,
            "iteration_id": I,
            "expression": "a*x**2",
            "parameters_json": '["a"]',
            "source": "offline",
            "source_detail": "",
            "canonical_key": "c0*x**2",
            "units_consistent": None,
            "units_message": "",
            "status": "open",
            "score": None,
            "statement": "T grows as x squared",
            "created_at": T0,
        },
        {
            "id": H2,
            "seq": 2,
            "campaign_id": C,
            "iteration_id": I,
            "expression": "2*pi*sqrt(L/g)",
            "parameters_json": "[]",
            "source": "mutation",
            "source_detail": '{"parent": "' + H1 + '"}',
            "canonical_key": "2*pi*sqrt(L/g)",
            "units_consistent": 1,
            "units_message": "",
            "status": "accepted",
            "score": -1.25e-300,
            "statement": "T ∝ √(L/g)",
            "created_at": T0,
        },
    ],
    "model_fit": [
        {
            "id": F,
            "seq": 1,
            "campaign_id": C,
            "iteration_id": I,
            "hypothesis_id": H2,
            "method": "least_squares",
            "parameters_json": "{}",
            "stderr_json": '{"a": null}',
            "covariance_json": "null",
            "scores_json": '{"r2": 0.9999999999999999}',
            "train_data_json": f'["{A1}", "{A2}"]',
            "test_data_json": "[]",
            "success": 0,
            "message": "did not converge",
            "created_at": T0,
        }
    ],
    "decision": [
        {
            "id": D,
            "seq": 1,
            "campaign_id": C,
            "iteration_id": None,
            "kind": "accept",
            "hypothesis_id": H2,
            "reason": "predicted a fresh batch",
            "evidence_json": '{"fit": "' + F + '"}',
            "created_at": T0,
        }
    ],
    "lineage_edge": [
        {
            "id": E,
            "seq": 1,
            "campaign_id": C,
            "source_id": H2,
            "source_kind": "hypothesis",
            "target_id": F,
            "target_kind": "model_fit",
            "relation": "tested-by",
            "created_at": T0,
        }
    ],
}


def read_all(path):
    """Every row of every table in `ROWS`, as dicts, by table, in rowid order."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return {
            table: [
                {k: row[k] for k in ROWS[table][0]}
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
            ]
            for table in ROWS
        }
    finally:
        conn.close()


@pytest.mark.parametrize("revision", EARLIER, ids=str)
def test_a_database_from_an_earlier_revision_upgrades_with_its_data_intact(
    tmp_path, revision
):
    path = tmp_path / f"at-{revision}.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    conn = sqlite3.connect(path)
    try:
        for table, rows in ROWS.items():
            columns = list(rows[0])
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(f'[{c}]' for c in columns)}) "
                f"VALUES ({', '.join(f':{c}' for c in columns)})",
                rows,
            )
        conn.commit()
    finally:
        conn.close()
    assert read_all(path) == ROWS

    # The path every command takes: `open_store` upgrades to head.
    with open_store(f"sqlite:///{path}") as store:
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == HEAD
        campaign = store.get_campaign(C)
        assert (campaign.name, campaign.seed) == ("pendule été ✓ 摆", 2**63 - 1)
        assert campaign.created_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        assert [h.id for h in store.list_hypotheses(C, "open")] == [H1]
        assert [h.score for h in store.list_hypotheses(C, "accepted")] == [-1.25e-300]
        assert [r.data_sha256 for r in store.runs_for(C)] == [None]
        # 0003's run state reads as "nothing runs it" on an upgraded row.
        lease = store.get_lease(C)
        assert not lease.held
        assert (lease.token, lease.heartbeat_at, lease.log_path) == (None, None, None)
        np.testing.assert_array_equal(
            store.get_arrays(A1)["x"], np.array([0.5, -1.0, 2.0**-40])
        )
        report = check_database(store)
        assert report.ok, [str(p) for p in report.problems]
    assert read_all(path) == ROWS


def test_processes_opening_one_new_database_at_once_all_get_the_schema(db_url):
    """All ran the migrations at once; some failed creating a table that another had made.

    PostgreSQL: "duplicate key" on `alembic_version`, until the schema lock.
    SQLite: "table already exists", until the upgrade took the write lock
    first (pysqlite opens no transaction before DDL). Processes, not
    threads: Alembic keeps its migration context in module globals.
    """
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys; from storage import open_store\n"
        "with open_store(sys.argv[1]) as store: print(len(store.list_campaigns()))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, db_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        assert out.strip() == "0"
    assert check_database(db_url).ok
