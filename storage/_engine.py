"""Engines (SQLite pragmas), checks before opening, and schema upgrades with Alembic."""

from __future__ import annotations

import functools
import sqlite3
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool, StaticPool

from lawloop.storage import _postgres
from lawloop.storage._preflight import (
    check_file,
    explained,
    is_memory,
    parse_url,
    refuse_schema,
    sqlite_file,
    where,
)
from lawloop.storage.errors import StoreUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config

    from lawloop.storage._store import Store

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_openable",
    "head_revision",
    "inspect_target",
    "make_engine",
    "open_store",
    "read_only_engine",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The Alembic script directory shipped inside the package."""

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for a lock before failing (`PRAGMA busy_timeout`)."""

OPEN_BUSY_TIMEOUT_MS = 5_000
"""How long opening waits for another process's lock before refusing the database.

Shorter than `BUSY_TIMEOUT_MS`: a schema upgrade by another process takes
well under a second, so a longer wait means a lock held on purpose, and the
person waiting is better told so than kept waiting half a minute.
"""

CONNECT_TIMEOUT_S = 10
"""How long a PostgreSQL connection attempt waits for an unreachable server."""


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on foreign keys (off by default in SQLite), WAL and a busy timeout."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """Create an engine; for SQLite, with foreign keys on, WAL and a busy timeout.

    An in-memory SQLite URL (`sqlite://`) gets one connection shared by all
    sessions (`StaticPool`), so the schema and rows live as long as the engine.
    A PostgreSQL engine gets JSON (de)serialisers that keep non-finite floats
    (see `storage._postgres`); it needs the `postgres` extra (psycopg).

    Args:
        url: A SQLAlchemy URL, e.g. `sqlite:///lawloop.db` (relative to the
            working directory), `sqlite:////abs/lawloop.db`, `sqlite://` or
            `postgresql+psycopg://...`.
        **kwargs: Passed on to `sqlalchemy.create_engine`.

    Returns:
        The engine.

    Raises:
        StoreUnavailableError: `url` is not a URL, names an unknown dialect, or
            its driver is not installed.
    """
    parsed = parse_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and is_memory(parsed):
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    if parsed.get_backend_name() == "postgresql":
        # PostgreSQL's `json` refuses `Infinity` and `NaN`; these carry them.
        kwargs.setdefault("json_serializer", _postgres.json_dumps)
        kwargs.setdefault("json_deserializer", _postgres.json_loads)
        if "connect_timeout" not in parsed.query:
            # libpq waits for an unreachable host as long as TCP does (minutes).
            kwargs["connect_args"] = {
                "connect_timeout": CONNECT_TIMEOUT_S,
                **kwargs.get("connect_args", {}),
            }
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except ImportError as error:
        msg = (
            f"The database `{where(parsed)}` needs the driver `{error.name}`, which "
            "is not installed; for PostgreSQL: pip install -e '.[postgres]'."
        )
        raise StoreUnavailableError(msg) from None
    if is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(url: str | sa.URL | None = None) -> Config:
    """Return an Alembic `Config` for the packaged migrations.

    Args:
        url: Database URL to record as `sqlalchemy.url`, for commands run
            without a connection.

    Returns:
        The configuration; `script_location` points into the installed package.
    """
    from alembic.config import Config  # noqa: PLC0415 - loaded only when used (heavy or optional)

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = (
            url.render_as_string(hide_password=False)
            if isinstance(url, sa.URL)
            else url
        )
        # `%` is ConfigParser interpolation syntax.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run `alembic upgrade` on `engine` in one transaction.

    Args:
        engine: The database to create or upgrade.
        revision: Target revision.
    """
    from alembic import command  # noqa: PLC0415 - loaded only when used (heavy or optional)

    config = alembic_config()
    with engine.begin() as connection:
        # Two processes opening one new database: one migrates, one waits.
        if connection.dialect.name == "postgresql":
            _postgres.lock_schema(connection)
        elif connection.dialect.name == "sqlite":
            # pysqlite opens no transaction before DDL, so two processes would
            # both find no tables and both create them ("table already
            # exists"). The write lock from the start makes the upgrade one
            # real transaction: the second waits (`busy_timeout`), then finds
            # the schema at head; a crash mid-upgrade leaves no half schema.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={OPEN_BUSY_TIMEOUT_MS}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_store(url: str | sa.URL) -> Store:
    """Open the provenance store at `url`, creating or upgrading its schema.

    What cannot be a lawloop database is refused before anything is written
    (see `check_openable`), and so is a database locked by another process
    for longer than `OPEN_BUSY_TIMEOUT_MS`.

    Args:
        url: A SQLAlchemy URL; see `make_engine`.

    Returns:
        A `Store`; close it with `Store.close()` or use it as a context manager.

    Raises:
        StoreUnavailableError: The database cannot be opened for writing; the
            message says why (subclasses: `NotALawloopDatabaseError`,
            `SchemaTooNewError`).

    Example:
        >>> with open_store("sqlite://") as store:  # a new database, in memory
        ...     store.list_campaigns()
        []
    """
    from lawloop.storage._store import Store  # noqa: PLC0415 - loaded only when used (heavy or optional)

    parsed, _ = inspect_target(url, write=True, any_revision=False)
    engine = make_engine(parsed)
    try:
        with explained(parsed, busy_s=OPEN_BUSY_TIMEOUT_MS / 1000, connecting=False):
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


def check_openable(url: str | sa.URL, *, write: bool = False) -> None:
    """Refuse, by reading only, a database that lawloop cannot open.

    Refused: text that is not a URL, an unknown dialect; for SQLite a
    directory, a file that is not SQLite or is truncated, and with `write` a
    missing or read-only folder or a read-only file; a server that refuses
    the connection; another program's tables (no `alembic_version`); with
    `write`, a schema revision newer than this code (reading tools such as
    `check_database` may look at any revision).

    Args:
        url: A SQLAlchemy URL; see `make_engine`.
        write: Whether the caller will write to the database.

    Raises:
        NotFoundError: Without `write`, a SQLite file that does not exist.
        StoreUnavailableError: The message says what was wrong and how to fix
            it (subclasses: `NotALawloopDatabaseError`, `SchemaTooNewError`).
    """
    inspect_target(url, write=write, any_revision=not write)


def require_existing(url: str | sa.URL) -> None:
    """Refuse a SQLite file that does not exist, or one that is not SQLite, without opening it.

    For commands that must not create a database: a missing file is a
    misspelled path. Reads at most the file's header (no SQLite connection,
    so no `-wal` or `-shm` file appears); a server URL is only parsed.

    Raises:
        NotFoundError: No file at the path.
        StoreUnavailableError: A bad URL, a directory, a missing folder, a
            file that is not SQLite (`NotALawloopDatabaseError`).
    """
    parsed = parse_url(url)
    if is_memory(parsed):
        return
    path = sqlite_file(parsed)
    if path is not None:
        check_file(path, write=False)


def inspect_target(
    url: str | sa.URL, *, write: bool, any_revision: bool
) -> tuple[sa.URL, str | None]:
    """Check `url` as `check_openable` does; return it parsed, with its schema revision.

    `any_revision` lets a revision newer than this code's pass.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (
        None,
        "",
        ":memory:",
    ):
        return parsed, None  # a private in-memory database: new, nothing to look at
    path = sqlite_file(parsed)
    if path is not None:
        check_file(path, write=write)
        if not path.exists():
            return parsed, None  # a new database: nothing to look at
    # Writers wait briefly for a lock; readers as long as they would later.
    busy_ms = OPEN_BUSY_TIMEOUT_MS if write else BUSY_TIMEOUT_MS
    probe = _probe_engine(parsed, path, write=write, busy_ms=busy_ms)
    try:
        with (
            explained(parsed, busy_s=busy_ms / 1000, connecting=True),
            probe.connect() as connection,
        ):
            tables = set(sa.inspect(connection).get_table_names())
            revision = _revision(connection) if "alembic_version" in tables else None
    finally:
        probe.dispose()
    known, head = _revisions()
    if any_revision and revision is not None:
        known = known | {revision}
    refuse_schema(parsed, tables, revision, known=known, head=head)
    return parsed, revision


def _revision(connection: sa.Connection) -> str | None:
    """The Alembic revision recorded in the database."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - heavy

    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def _revisions() -> tuple[frozenset[str], str]:
    """The revisions of the packaged migrations, and the newest (head)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - heavy

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    known = frozenset(s.revision for s in script.walk_revisions())
    return known, str(script.get_current_head())


def head_revision() -> str:
    """The schema revision this version of lawloop writes."""
    return _revisions()[1]


def _probe_engine(
    parsed: sa.URL, path: Path | None, *, write: bool, busy_ms: int
) -> sa.Engine:
    """An engine to look at the database without changing it.

    Not `make_engine`: its connect hook switches the journal to WAL, a write.
    A writer's look at a SQLite file uses a plain connection, which removes
    the `-wal` and `-shm` files it made when it closes (a `mode=ro` one leaves
    them); where a log exists already, a `mode=ro` one, so that closing does
    not copy another process's log into the file.
    """
    if path is None or not write or path.with_name(path.name + "-wal").exists():
        return read_only_engine(parsed, busy_ms=busy_ms)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=busy_ms / 1000, check_same_thread=False)

    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)


def read_only_engine(parsed: sa.URL, *, busy_ms: int = BUSY_TIMEOUT_MS) -> sa.Engine:
    """An engine that reads `parsed` and cannot write to it.

    A SQLite file is opened with `file:...?mode=ro` and `PRAGMA query_only=ON`
    (unpooled: a connection per session, so threads of a web server share
    nothing); a PostgreSQL session with `default_transaction_read_only`.
    In-memory and `file:` URI databases are opened as given.

    Args:
        parsed: The database URL.
        busy_ms: How long a SQLite reader waits for a lock.

    Returns:
        The engine; the caller checks that the file exists first.
    """
    if parsed.get_backend_name() == "postgresql":
        return make_engine(
            parsed, connect_args={"options": "-c default_transaction_read_only=on"}
        )
    path = sqlite_file(parsed)
    if path is None:
        # An in-memory or `file:` URI database: nothing on disk to protect.
        return make_engine(parsed)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            uri, uri=True, timeout=busy_ms / 1000, check_same_thread=False
        )
        connection.execute("PRAGMA query_only=ON")
        return connection

    # Not `make_engine`: its connect hook switches the journal mode, a write.
    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)
