"""Refuse a database that cannot be lawloop's before anything writes to it.

`open_store` writes as soon as it connects (the WAL switch, the schema
upgrade), so a wrong `--db` used to change the file before failing with a
driver traceback: a file of random bytes, a directory, a read-only or locked
file, another program's database, one written by a newer lawloop. These
checks look first, by reading only, and raise a `StoreUnavailableError`
that says what was wrong, what was received and how to fix it:

* `parse_url`: the text is a SQLAlchemy URL of a dialect SQLAlchemy knows;
* `check_file`: a SQLite path is a file (or a new one in a writable folder),
  starts with SQLite's header and is as long as the header says;
* `refuse_schema`: the tables found are lawloop's (an `alembic_version` this
  code knows) or none at all;
* `explained`: a driver error met while opening (locked, not a database, a
  server refusing the connection) becomes one line.
"""

from __future__ import annotations

import difflib
import os
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from lawloop.storage.errors import (
    NotALawloopDatabaseError,
    NotFoundError,
    SchemaTooNewError,
    StoreUnavailableError,
)

__all__ = [
    "check_file",
    "explained",
    "is_memory",
    "parse_url",
    "refuse_schema",
    "sqlite_file",
    "where",
]

_EXAMPLE = "`sqlite:///lawloop.db` or `postgresql+psycopg://USER@HOST/DB`"
"""The URLs a message suggests."""

_DIALECTS = ("sqlite", "postgresql", "postgresql+psycopg")
"""Names a mistyped dialect is compared with for a "Did you mean"."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

_HEADER_SIZE = 100
"""Length of the SQLite file header."""

_PAYLOAD_FRACTIONS = b"\x40\x20\x20"
"""Header bytes 21-23, fixed by the file format: anything else is not SQLite."""


def where(parsed: sa.URL) -> str:
    """`parsed` as a message shows it: the password hidden."""
    return parsed.render_as_string(hide_password=True)


def parse_url(url: str | sa.URL) -> sa.URL:
    """`url` parsed, its dialect known to SQLAlchemy.

    Raises:
        StoreUnavailableError: Not a URL (a bare path), or an unknown dialect.
    """
    if isinstance(url, sa.URL):
        parsed = url
    else:
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):  # ValueError: a port not a number
            bare = url and "://" not in url
            hint = f" For a file, write `sqlite:///{url}`." if bare else ""
            msg = (
                f"`--db` takes a database URL such as {_EXAMPLE}; received "
                f"`{_redact_text(url)}`.{hint}"
            )
            raise StoreUnavailableError(msg) from None
    try:
        parsed.get_dialect()
    except sa.exc.NoSuchModuleError:
        close = difflib.get_close_matches(parsed.drivername, _DIALECTS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        msg = (
            f"`--db` names the database kind `{parsed.drivername}`, which lawloop "
            f"cannot open; received `{where(parsed)}`.{hint} Use {_EXAMPLE}."
        )
        raise StoreUnavailableError(msg) from None
    return parsed


def _redact_text(text: str) -> str:
    """`text` with the password of a `scheme://user:password@host` hidden."""
    scheme, sep, rest = text.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at and ":" in credentials):
        return text
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def is_memory(url: sa.URL) -> bool:
    """Whether a SQLite URL names an in-memory database."""
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url)


def sqlite_file(parsed: sa.URL) -> Path | None:
    """The file a SQLite URL names; `None` for another dialect, memory or a `file:` URI."""
    if (
        parsed.get_backend_name() != "sqlite"
        or is_memory(parsed)
        or "uri" in parsed.query  # a `file:` URI: taken as given
    ):
        return None
    # Relative to the working directory, as sqlite3 takes it.
    return Path(str(parsed.database)).resolve()


def check_file(path: Path, *, write: bool) -> None:
    """Refuse a SQLite path that cannot hold a lawloop database, reading only.

    Args:
        path: The resolved database path.
        write: The caller will write: the file (or, for a new one, its
            folder) must be writable, and so must the folder, where SQLite
            keeps its `-wal` and `-shm` files.

    Raises:
        NotFoundError: `write` is false and there is no file.
        StoreUnavailableError: A directory, a missing or read-only folder, a
            read-only or unreadable file.
        NotALawloopDatabaseError: Not an SQLite file, or a truncated one.
    """
    if path.is_dir():
        msg = (
            f"`--db` names a directory, not a database file: `{path}`. "
            f"Name a file in it, e.g. `sqlite:///{path / 'lawloop.db'}`."
        )
        raise StoreUnavailableError(msg)
    folder = path.parent
    if not path.exists():
        if not write and not folder.is_dir():
            msg = f"No database file at `{path}`: its folder `{folder}` does not exist; check `--db`."
            raise NotFoundError(msg)
        if not write:
            msg = (
                f"No database file at `{path}`{_did_you_mean(path)}; check `--db` "
                "(a URL such as `sqlite:///lawloop.db`). Only `campaign start` "
                "creates a new database."
            )
            raise NotFoundError(msg)
        if not folder.is_dir():
            msg = f"The folder `{folder}` of the database `{path}` does not exist; create it or check `--db`."
            raise StoreUnavailableError(msg)
    else:
        _check_header(path)
        if write and not _writable(path):
            msg = (
                f"The database file `{path}` is read-only, and this command opens it for writing. "
                f"Make it writable (`chmod u+w {path}`), or use a command that only "
                "reads it (`report`, `serve`, `db check`)."
            )
            raise StoreUnavailableError(msg)
    if write and not _writable(folder):
        msg = (
            f"The folder `{folder}` of the database `{path.name}` is read-only; SQLite "
            "writes its `-wal` and `-shm` files beside the database. Make it writable "
            f"(`chmod u+w {folder}`) or move the database to a writable folder."
        )
        raise StoreUnavailableError(msg)


def _writable(path: Path) -> bool:
    """Whether we may write `path`: permitted, and some write bit set.

    The bits count even for root, whom `os.access` lets write anything: a
    file made read-only on purpose is not written.
    """
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def _check_header(path: Path) -> None:
    """Raise unless `path` is empty or starts with a whole, consistent SQLite header."""
    try:
        with path.open("rb") as file:
            head = file.read(_HEADER_SIZE)
        size = path.stat().st_size
    except OSError as error:
        msg = f"Cannot read the database file `{path}`: {error.strerror}. Check its permissions and `--db`."
        raise StoreUnavailableError(msg) from None
    if size == 0:
        return  # SQLite's empty database: a new store
    # A file shorter than the magic string but agreeing with it is a truncated one.
    if not head.startswith(_SQLITE_MAGIC[: len(head)]):
        msg = (
            f"`{path}` is not a lawloop database: it is not an SQLite file (it does not "
            f"start with `SQLite format 3`). Check `--db`, or move the file away to "
            "start a new database there."
        )
        raise NotALawloopDatabaseError(msg)
    page_size = int.from_bytes(head[16:18], "big") if len(head) >= 18 else 0
    page_size = 65536 if page_size == 1 else page_size  # how the format writes 64 KiB
    if len(head) == _HEADER_SIZE and (
        page_size < 512
        or page_size & (page_size - 1)
        or head[21:24] != _PAYLOAD_FRACTIONS
    ):
        msg = (
            f"`{path}` is not a usable lawloop database: its SQLite header is damaged. "
            "Restore it from a backup, or check `--db`."
        )
        raise NotALawloopDatabaseError(msg)
    expected = _expected_size(head, page_size)
    wal = path.with_name(path.name + "-wal")
    # Pages not yet copied from a write-ahead log may be missing from the
    # file: only SQLite, reading the log, can tell then.
    if wal.exists() and wal.stat().st_size > 0 and len(head) == _HEADER_SIZE:
        return
    if len(head) < _HEADER_SIZE or size % page_size or size < expected:
        want = f" of the {expected} its header declares" if expected > size else ""
        msg = (
            f"`{path}` is not a usable lawloop database: the SQLite file is truncated "
            f"({size} bytes{want}). Restore it from a backup, or check `--db`."
        )
        raise NotALawloopDatabaseError(msg)


def _expected_size(head: bytes, page_size: int) -> int:
    """The file size the header declares, or 0 where it declares none it vouches for."""
    if len(head) < _HEADER_SIZE:
        return 0
    pages = int.from_bytes(head[28:32], "big")
    # The page count is valid only while "version-valid-for" equals the change counter.
    return pages * page_size if head[92:96] == head[24:28] else 0


def refuse_schema(
    parsed: sa.URL,
    tables: Collection[str],
    revision: str | None,
    *,
    known: Collection[str],
    head: str,
) -> None:
    """Raise unless the tables found are lawloop's at a known revision, or none.

    Args:
        parsed: The database, for the message.
        tables: The table names of its default schema.
        revision: Its Alembic revision (`None` without `alembic_version`).
        known: The revisions this code's migrations know.
        head: The newest of them, for the message.

    Raises:
        NotALawloopDatabaseError: Tables of another program and no `alembic_version`.
        SchemaTooNewError: A revision this code does not know.
    """
    if revision is None:
        others = sorted(t for t in tables if not t.startswith("sqlite_"))
        if not others:
            return  # a new, empty database
        shown = ", ".join(f"`{t}`" for t in others[:5]) + (
            ", ..." if len(others) > 5 else ""
        )
        msg = (
            f"`{where(parsed)}` is another program's database, not a lawloop one: it "
            f"has tables ({shown}) and no `alembic_version`. lawloop does not add its "
            "tables to it; name a new file with `--db`."
        )
        raise NotALawloopDatabaseError(msg)
    if revision not in known:
        msg = (
            f"The database `{where(parsed)}` is at schema revision `{revision}`, which "
            f"this lawloop does not know (its newest is `{head}`): a newer lawloop wrote "
            "it. Use that version, or upgrade lawloop; the database was left as it is."
        )
        raise SchemaTooNewError(msg)


@contextmanager
def explained(parsed: sa.URL, *, busy_s: float, connecting: bool) -> Iterator[None]:
    """Turn a driver error met while opening `parsed` into a one-line `StoreUnavailableError`.

    SQLite's locked, read-only and not-a-database errors are translated
    anywhere; a server's `OperationalError` only while `connecting`, where it
    means the server cannot be used (refused, unknown host, bad password),
    not a failed statement. Other errors pass unchanged.

    Args:
        parsed: The database, for the message.
        busy_s: How long SQLite waited for a lock, for the message.
        connecting: Whether the block only connects and reads.
    """
    try:
        yield
    except (sa.exc.DBAPIError, sqlite3.Error) as exc:
        error = _translate(parsed, exc, busy_s=busy_s, connecting=connecting)
        if error is None:
            raise
        raise error from exc


def _translate(
    parsed: sa.URL, exc: Exception, *, busy_s: float, connecting: bool
) -> StoreUnavailableError | None:
    """The project error standing for a driver error, or `None` to let it pass."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    said = " ".join(str(orig).split())  # one line: server messages span several
    if parsed.password:
        said = said.replace(str(parsed.password), "***")
    shown = where(parsed)
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            msg = (
                f"`{shown}` is not a usable lawloop database: SQLite says "
                f'"{said}". Restore it from a backup, or check `--db`.'
            )
            return NotALawloopDatabaseError(msg)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            msg = (
                f"The database `{shown}` is locked by another process (waited "
                f"{busy_s:g} s for it). Let that process finish, or stop it, and retry."
            )
            return StoreUnavailableError(msg)
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
            msg = (
                f'Cannot write the database `{shown}`: SQLite says "{said}". Check the '
                "permissions of the file and its folder, and `--db`."
            )
            return StoreUnavailableError(msg)
        return None
    if connecting and isinstance(exc, sa.exc.OperationalError):
        msg = (
            f"Cannot connect to the database `{shown}`: {said}"
            f"{'' if said.endswith(('.', '?', '!')) else '.'} Check that the server "
            "runs and the URL's host, port, database, user and password."
        )
        return StoreUnavailableError(msg)
    return None


def _did_you_mean(path: Path) -> str:
    """` (did you mean `lawloop.db`?)` for a database file of a close name in the same folder."""
    import difflib  # noqa: PLC0415 - only on this error path

    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return f" (did you mean `{path.parent / close[0]}`?)" if close else ""
