"""Engines (SQLite pragmas) and schema upgrades with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from storage import _postgres

if TYPE_CHECKING:
    from alembic.config import Config

    from storage._store import Store

__all__ = ["MIGRATIONS_DIR", "alembic_config", "make_engine", "open_store", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The Alembic script directory shipped inside the package."""

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for a lock before failing (`PRAGMA busy_timeout`)."""


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on foreign keys (off by default in SQLite), WAL and a busy timeout."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _is_memory(url: sa.URL) -> bool:
    """Whether a SQLite URL names a private in-memory database."""
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url)


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
    """
    parsed = sa.make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and _is_memory(parsed):
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    if parsed.get_backend_name() == "postgresql":
        # PostgreSQL's `json` refuses `Infinity` and `NaN`; these carry them.
        kwargs.setdefault("json_serializer", _postgres.json_dumps)
        kwargs.setdefault("json_deserializer", _postgres.json_loads)
    engine = sa.create_engine(parsed, **kwargs)
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
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_store(url: str | sa.URL) -> Store:
    """Open the provenance store at `url`, creating or upgrading its schema.

    Args:
        url: A SQLAlchemy URL; see `make_engine`.

    Returns:
        A `Store`; close it with `Store.close()` or use it as a context manager.

    Example:
        >>> with open_store("sqlite:///lawloop.db") as store:
        ...     store.list_campaigns()
        []
    """
    from storage._store import Store  # noqa: PLC0415 - loaded only when used (heavy or optional)

    engine = make_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
