import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage import Base, alembic_config, make_engine, open_store, upgrade


def test_upgrade_head_on_an_empty_database_matches_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert context.get_current_revision() == head
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'cycle.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(url), "base")
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
