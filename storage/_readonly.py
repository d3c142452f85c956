"""`open_read_only`: a `Store` that can read a database and never write to it.

For viewers (the report, the dashboard) that must not change what they show,
not even by upgrading the schema: a SQLite file is opened with
`file:...?mode=ro` and `PRAGMA query_only=ON`, a PostgreSQL session with
`default_transaction_read_only`. Any `add_*` call on such a store fails in
the database. In WAL mode SQLite may leave empty `-wal`/`-shm` side files of
the reader beside the database; the database file itself is never written.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from storage._engine import BUSY_TIMEOUT_MS, MIGRATIONS_DIR, make_engine
from storage._store import Store
from storage.errors import NotFoundError, StorageError

__all__ = ["open_read_only"]


def open_read_only(url: str | sa.URL) -> Store:
    """Open the provenance store at `url` for reading only.

    Unlike `open_store`, nothing is created or upgraded: the database must
    exist and its schema must be at the revision this version of lawloop
    writes.

    Args:
        url: A SQLAlchemy URL, e.g. `sqlite:///lawloop.db` or `postgresql+psycopg://...`.

    Returns:
        A `Store` whose writes the database refuses; close it when done.

    Raises:
        NotFoundError: A SQLite URL names a file that does not exist.
        StorageError: The schema is missing or at another revision.

    Example:
        >>> with open_read_only("sqlite:///lawloop.db") as store:
        ...     [c.name for c in store.list_campaigns()]
        ['core-Pendulum-v0-s1']
    """
    parsed = sa.make_url(url)
    engine = _engine(parsed)
    try:
        _check_revision(engine, parsed)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


def _engine(parsed: sa.URL) -> sa.Engine:
    """A read-only engine for `parsed`."""
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return make_engine(
            parsed, connect_args={"options": "-c default_transaction_read_only=on"}
        )
    database = parsed.database or ""
    if backend != "sqlite" or database in ("", ":memory:") or "uri" in parsed.query:
        # An in-memory or `file:` URI database: nothing on disk to protect.
        return make_engine(parsed)
    path = Path(database).resolve()  # relative to the working directory, as sqlite3
    if not path.is_file():
        msg = f"No database file at `{path}`; check `--db` (a URL such as `sqlite:///lawloop.db`)."
        raise NotFoundError(msg)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        connection.execute("PRAGMA query_only=ON")
        return connection

    # Not `make_engine`: its connect hook switches the journal mode, a write.
    # NullPool: a connection per session, so threads of a web server share nothing.
    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _check_revision(engine: sa.Engine, parsed: sa.URL) -> None:
    """Raise unless the database's schema is at the packaged head revision."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - heavy
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return
    where = parsed.render_as_string(hide_password=True)
    if current is None:
        msg = f"`{where}` holds no lawloop database (no schema revision); check `--db`."
    else:
        msg = (
            f"The database `{where}` is at schema revision `{current}`, this lawloop "
            f"reads `{head}`. Upgrade it with any command that opens it for writing, "
            "e.g. `python run.py campaign list --db URL`."
        )
    raise StorageError(msg)
