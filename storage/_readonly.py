"""`open_read_only`: a `Store` that can read a database and never write to it.

For viewers (the report, the dashboard) that must not change what they show,
not even by upgrading the schema: a SQLite file is opened with
`file:...?mode=ro` and `PRAGMA query_only=ON`, a PostgreSQL session with
`default_transaction_read_only`. Any `add_*` call on such a store fails in
the database. In WAL mode SQLite may leave empty `-wal`/`-shm` side files of
the reader beside the database; the database file itself is never written.
"""

from __future__ import annotations

import sqlalchemy as sa

from lawloop.storage._engine import head_revision, inspect_target, read_only_engine
from lawloop.storage._preflight import where
from lawloop.storage._store import Store
from lawloop.storage.errors import StorageError

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
        StoreUnavailableError: The database cannot be read as a lawloop one
            (see `storage.check_openable`; subclasses `NotALawloopDatabaseError`
            and `SchemaTooNewError`).
        StorageError: The schema is missing or at an older revision.

    Example:
        >>> with open_read_only("sqlite:///lawloop.db") as store:  # doctest: +SKIP
        ...     [c.name for c in store.list_campaigns()]
        ['core-Pendulum-v0-s1']
    """
    parsed, current = inspect_target(url, write=False, any_revision=False)
    head = head_revision()
    if current != head:
        if current is None:
            msg = f"`{where(parsed)}` holds no lawloop database (no schema revision); check `--db`."
        else:
            msg = (
                f"The database `{where(parsed)}` is at schema revision `{current}`, this "
                f"lawloop reads `{head}`. Upgrade it with any command that opens it for "
                "writing, e.g. `python run.py campaign list --db URL`."
            )
        raise StorageError(msg)
    return Store(read_only_engine(parsed))
