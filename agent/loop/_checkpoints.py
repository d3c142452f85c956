"""Where LangGraph's checkpoints live, beside the provenance database they belong to.

Kept apart from the provenance tables so that LangGraph's schema and the
Alembic-managed one never share migrations:

* SQLite: a separate file beside the database (`x.db` -> `x.checkpoints.sqlite`);
* PostgreSQL: the schema `lawloop_checkpoints` of the same database, so that a
  campaign started on one machine resumes on any other that reaches the
  server (a file in a working directory would tie it to one place).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lawloop.agent.errors import CampaignStateError, ConfigError

if TYPE_CHECKING:
    import psycopg
    from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["CHECKPOINT_SCHEMA", "checkpoint_path", "open_checkpointer"]

CHECKPOINT_SCHEMA = "lawloop_checkpoints"
"""The PostgreSQL schema that holds LangGraph's checkpoint tables."""

_SETUP_LOCK = (0x6C61_776C, 0x6370)  # ("lawl", "cp"): beside storage's advisory locks
"""Advisory-lock keys held while the checkpoint schema is created or migrated."""
_SETUP_WAIT_S = 300.0
"""How long a campaign waits for another one's checkpoint setup before giving up."""
_SETUP_POLL_S = 0.05


def checkpoint_path(db_url: str) -> Path:
    """The checkpoint file for a SQLite (or in-memory) database.

    For a file database it sits beside it; for an in-memory one it goes in
    the working directory.
    """
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    ):
        db = Path(url.database)
        return db.with_name(db.stem + ".checkpoints.sqlite")
    return Path("lawloop.checkpoints.sqlite")


@contextmanager
def open_checkpointer(db_url: str) -> Iterator[BaseCheckpointSaver[str]]:
    """LangGraph's checkpointer for the campaign database `db_url`, set up and open.

    Raises:
        ConfigError: A PostgreSQL database without the `postgres` extra.
    """
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() != "postgresql":
        from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: PLC0415 - heavy import

        with SqliteSaver.from_conn_string(str(checkpoint_path(db_url))) as saver:
            yield saver
        return
    try:
        import psycopg  # noqa: PLC0415 - only for PostgreSQL databases
        from langgraph.checkpoint.postgres import PostgresSaver  # noqa: PLC0415
    except ImportError as error:
        msg = (
            f"A PostgreSQL database needs the `postgres` extra ({error.name} is "
            "missing): pip install -e '.[postgres]'."
        )
        raise ConfigError(msg) from error
    # libpq reads `postgresql://`, not SQLAlchemy's `postgresql+psycopg://`.
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    scoped = url.set(
        drivername="postgresql",
        query={**url.query, "options": f"-csearch_path={CHECKPOINT_SCHEMA}"},
    ).render_as_string(hide_password=False)
    with PostgresSaver.from_conn_string(scoped) as saver:
        with psycopg.connect(conninfo, autocommit=True) as setup:
            if not _checkpoints_current(setup, len(PostgresSaver.MIGRATIONS)):
                # Two campaigns starting on a new database would both create
                # the schema and tables (a UNIQUE error for one); one waits
                # instead. Closing the connection releases the lock.
                _wait_for_setup_lock(setup)
                setup.execute(f"CREATE SCHEMA IF NOT EXISTS {CHECKPOINT_SCHEMA}")
                saver.setup()
        yield saver


def _checkpoints_current(connection: psycopg.Connection[Any], migrations: int) -> bool:
    """Whether LangGraph's checkpoint tables exist and are migrated to this version's last."""
    row = connection.execute(
        "SELECT to_regclass(%s) IS NOT NULL",
        (f"{CHECKPOINT_SCHEMA}.checkpoint_migrations",),
    ).fetchone()
    if not (row and row[0]):
        return False
    done = connection.execute(
        f"SELECT max(v) FROM {CHECKPOINT_SCHEMA}.checkpoint_migrations"
    ).fetchone()
    return bool(done and done[0] is not None and done[0] >= migrations - 1)


def _wait_for_setup_lock(connection: psycopg.Connection[Any]) -> None:
    """Take the setup lock by polling `pg_try_advisory_lock`, never by a blocking wait.

    The setup creates indexes `CONCURRENTLY`, which waits for every older
    snapshot in the database, and a statement blocked in `pg_advisory_lock`
    holds one: a second campaign waiting so for the first one's setup is a
    deadlock, and the server ends it by failing one of the two campaigns.
    Between tries this connection holds no snapshot.

    Raises:
        CampaignStateError: The lock stayed taken for `_SETUP_WAIT_S` seconds.
    """
    deadline = time.monotonic() + _SETUP_WAIT_S
    while True:
        row = connection.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", _SETUP_LOCK
        ).fetchone()
        if row and row[0]:
            return
        if time.monotonic() > deadline:
            msg = (
                f"The LangGraph checkpoint tables in schema `{CHECKPOINT_SCHEMA}` "
                f"were being set up by another process for over {_SETUP_WAIT_S:.0f} s; "
                "see `pg_stat_activity` for the session holding advisory lock "
                f"{_SETUP_LOCK}, then try again."
            )
            raise CampaignStateError(msg)
        time.sleep(_SETUP_POLL_S)
