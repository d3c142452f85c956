"""Read-only integrity check of a whole provenance database (`check_database`).

The store checks references when it writes; this re-checks a database that
may have been changed by other means (raw SQL, a restored backup, a disk
error). It trusts no constraint of the database itself: SQLite does not
enforce foreign keys unless asked to, so every reference is checked with an
explicit query. Checks, in this order:

* `schema`: every table and column of the models is present (otherwise the
  other checks cannot run and are skipped);
* `foreign-key`: every reference column names an existing row, and a row's
  iteration or hypothesis belongs to the row's own campaign;
* `artifact`: every sha256 a row names (`experiment_run.inputs_sha256` and
  `data_sha256`, the `model_fit` train and test lists) is in the artifact
  store, and every stored artifact's bytes hash to its sha256 again;
* `lineage`: both ends of every edge exist in the table of their declared
  kind (as `Store.check_lineage`), and the edge id is the one `Store.link`
  derives from its ends and relation; its (source kind, relation, target
  kind) is one `storage.ALLOWED_EDGES` lists (an older database may hold
  others, written before the table);
* `value`: enum columns hold declared values and JSON columns parse;
* `chain`: each campaign's hash chain (`storage._chain`) recomputes: the
  first row whose content, order or presence no longer matches what was
  chained is named, and so is every row on no chain and every hypothesis
  whose status is not that of its last recorded status change.

Nothing is written. A SQLite file named by URL is opened with
`file:...?mode=ro` and `PRAGMA query_only=ON`; a given engine or store gets
`query_only` for the duration of the check. (In WAL mode SQLite may leave the
empty `-wal`/`-shm` side files of a read-only reader beside the database; the
database file itself is never written.)
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from lawloop.storage._engine import BUSY_TIMEOUT_MS
from lawloop.storage._integrity_checks import Checker
from lawloop.storage._integrity_report import IntegrityProblem, IntegrityReport
from lawloop.storage._store import Store
from lawloop.storage.errors import NotFoundError

__all__ = ["IntegrityProblem", "IntegrityReport", "check_database"]


def check_database(target: Store | sa.Engine | str | sa.URL) -> IntegrityReport:
    """Check every campaign of a database without writing to it.

    Args:
        target: A `Store`, an engine, or a database URL. A URL is opened
            read-only (SQLite: `mode=ro`) and never upgraded, so it can check
            a database at any revision; a store or engine is used as is with
            writes refused for the duration.

    Returns:
        The report; `report.ok` when nothing is wrong.

    Raises:
        NotFoundError: A SQLite URL names a file that does not exist.
    """
    if isinstance(target, Store | sa.Engine):
        engine = target.engine if isinstance(target, Store) else target
        name = engine.url.render_as_string(hide_password=True)
        with _read_only(engine) as connection:
            return Checker(connection, name).run()
    url = sa.make_url(target)
    engine = _read_only_engine(url)
    try:
        with _read_only(engine) as connection:
            return Checker(connection, url.render_as_string(hide_password=True)).run()
    finally:
        engine.dispose()


def _read_only_engine(parsed: sa.URL) -> sa.Engine:
    """An engine opening a SQLite file with `mode=ro`; other URLs plainly, unpooled."""
    database = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or "uri" in parsed.query  # already a `file:` URI: taken as given
    ):
        # Not `make_engine`: its connect hook would switch the journal to WAL.
        return sa.create_engine(parsed, poolclass=NullPool)
    path = Path(database).resolve()  # relative to the working directory, as sqlite3
    if not path.is_file():
        msg = f"No database file at `{path}`; check `--db` (a URL such as `sqlite:///lawloop.db`)."
        raise NotFoundError(msg)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        # Bytes that are not UTF-8 in a text column are damage to report, not
        # a reason for the check to stop: they decode, and fail their digest.
        connection.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
        return connection

    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)


@contextmanager
def _read_only(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in one read-only transaction, rolled back at the end."""
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # One read transaction: a snapshot, even while a campaign writes.
            connection.exec_driver_sql("BEGIN")
        elif dialect == "postgresql":
            connection.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
        try:
            yield connection
        finally:
            connection.rollback()
            if dialect == "sqlite":
                # The connection may go back to a store's pool: writable again.
                connection.exec_driver_sql("PRAGMA query_only=OFF")
                connection.rollback()
