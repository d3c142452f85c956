"""LangGraph's checkpoint tables on PostgreSQL: set up once, also by campaigns starting together."""

import threading
import time

import psycopg
import pytest
import sqlalchemy as sa

from lawloop.agent import CHECKPOINT_SCHEMA
from lawloop.agent.loop._checkpoints import _SETUP_LOCK, open_checkpointer


def libpq(url: str) -> str:
    """The URL as libpq reads it (no `+psycopg`)."""
    return (
        sa.make_url(url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def checkpoint_tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names(schema=CHECKPOINT_SCHEMA))
    finally:
        engine.dispose()


def test_waiting_for_another_setup_is_no_deadlock_with_its_concurrent_index(
    postgres_url,
):
    """Another process holds the setup lock and builds an index CONCURRENTLY meanwhile.

    Such an index waits for every older snapshot in the database; a blocking
    `pg_advisory_lock` holds one while it waits, so the server would find a
    deadlock and fail one side. Both must succeed, and the tables be made.
    """
    errors: list[BaseException] = []
    holder = psycopg.connect(libpq(postgres_url), autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s, %s)", _SETUP_LOCK)
    holder.execute("CREATE TABLE other_setup (x int)")

    def other_setup() -> None:
        try:
            time.sleep(0.5)  # the campaign below is waiting for the lock by now
            holder.execute("CREATE INDEX CONCURRENTLY other_setup_x ON other_setup (x)")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s, %s)", _SETUP_LOCK)

    thread = threading.Thread(target=other_setup)
    try:
        thread.start()
        with open_checkpointer(postgres_url) as saver:
            assert saver.get_tuple({"configurable": {"thread_id": "none"}}) is None
        thread.join(timeout=60)
    finally:
        holder.close()
    assert not errors, errors
    assert {"checkpoints", "checkpoint_migrations"} <= checkpoint_tables(postgres_url)


def test_a_set_up_database_is_not_set_up_again(postgres_url):
    """Once the tables are at this version, opening needs no lock: a held one does not block it."""
    with open_checkpointer(postgres_url):
        pass
    with psycopg.connect(libpq(postgres_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", _SETUP_LOCK)
        opened = threading.Event()

        def open_it() -> None:
            with open_checkpointer(postgres_url):
                opened.set()

        thread = threading.Thread(target=open_it, daemon=True)
        thread.start()
        assert opened.wait(timeout=30), "waited for a lock it does not need"
        thread.join(timeout=30)


def test_a_setup_lock_held_too_long_is_named(postgres_url, monkeypatch):
    """A setup that never ends (a stuck process) gives a clear error, not an endless wait."""
    from lawloop.agent.errors import CampaignStateError
    from lawloop.agent.loop import _checkpoints

    monkeypatch.setattr(_checkpoints, "_SETUP_WAIT_S", 0.3)
    with psycopg.connect(libpq(postgres_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", _SETUP_LOCK)
        with (
            pytest.raises(CampaignStateError, match="set up by another process"),
            open_checkpointer(postgres_url),
        ):
            pass
