"""A `--db` that cannot be lawloop's: one line on stderr, exit 1, and the target untouched.

Each case builds a bad target in `tmp_path/store` (the working directory of
the command, so that a stray log or checkpoint file would be seen there too)
and runs the command line on it: in this process, through `main()` (a new
interpreter per case would take seconds), and two cases again as `python
run.py` (slow set). Every file under that folder must keep its bytes and its
modification time, and no file may appear: no `-wal`, `-shm` or `-journal`,
no `*.checkpoints.sqlite`, no `logs/`.
"""

import hashlib
import os
import random
import sqlite3
import stat
import subprocess
import sys
from contextlib import contextmanager

import pytest

from lawloop.storage import (
    NotALawloopDatabaseError,
    NotFoundError,
    SchemaTooNewError,
    StoreUnavailableError,
    check_openable,
    open_read_only,
    open_store,
)
from tests.conftest import TINY, run_cli, run_cli_process, write_config


def _lawloop_db(folder):
    """A new, empty lawloop database in `folder`; its path."""
    path = folder / "lawloop.db"
    open_store(f"sqlite:///{path}").close()
    return path


def _file_url(path):
    return f"sqlite:///{path}"


@contextmanager
def random_bytes(folder):
    path = folder / "lawloop.db"
    path.write_bytes(random.Random(13).randbytes(8192))
    yield _file_url(path)


@contextmanager
def truncated(folder):
    path = _lawloop_db(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    yield _file_url(path)


@contextmanager
def truncated_header(folder):
    path = _lawloop_db(folder)
    path.write_bytes(path.read_bytes()[:40])
    yield _file_url(path)


@contextmanager
def directory(folder):
    (folder / "lawloop.db").mkdir()
    yield _file_url(folder / "lawloop.db")


@contextmanager
def missing_folder(folder):
    yield _file_url(folder / "no-such-folder" / "lawloop.db")


@contextmanager
def read_only_file(folder):
    path = _lawloop_db(folder)
    path.chmod(0o444)
    try:
        yield _file_url(path)
    finally:
        path.chmod(0o644)


@contextmanager
def read_only_folder(folder):
    inner = folder / "ro"
    inner.mkdir()
    path = _lawloop_db(inner)
    inner.chmod(0o555)
    try:
        yield _file_url(path)
    finally:
        inner.chmod(0o755)


_HOLD_LOCK = """
import sqlite3, sys
holder = sqlite3.connect(sys.argv[1], isolation_level=None)
holder.execute("BEGIN EXCLUSIVE")
holder.execute("SELECT count(*) FROM campaign").fetchall()
print("locked", flush=True)
sys.stdin.read()
"""


@contextmanager
def locked(folder):
    """Another process holds the write lock for the whole command.

    Not this one: POSIX drops a process's locks on a file when it closes any
    descriptor of it, which taking the snapshot does.
    """
    path = _lawloop_db(folder)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        yield _file_url(path)
    finally:
        holder.communicate("", timeout=60)


@contextmanager
def newer_schema(folder):
    path = _lawloop_db(folder)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    connection.close()
    yield _file_url(path)


@contextmanager
def foreign_sqlite(folder):
    path = folder / "lawloop.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (name TEXT)")
        connection.execute("INSERT INTO people VALUES ('Ada')")
    connection.close()
    yield _file_url(path)


@contextmanager
def postgres_refused(folder):
    pytest.importorskip("psycopg")
    yield "postgresql+psycopg://lawloop:s3cret-pw@127.0.0.1:1/lawloop"


@contextmanager
def unknown_dialect(folder):
    yield "nosuchdb://lawloop:s3cret-pw@localhost/lawloop"


@contextmanager
def bare_path(folder):
    yield "lawloop.db"


NOT_OURS, UNAVAILABLE = NotALawloopDatabaseError, StoreUnavailableError

# case -> (target, what stderr names, the commands that refuse it, the API error).
# `db check` only reads, so it may read a read-only, locked or newer database.
CASES = {
    "random-bytes": (random_bytes, "not an SQLite file", "lsc", NOT_OURS),
    "truncated": (truncated, "truncated", "lsc", NOT_OURS),
    "truncated-header": (truncated_header, "truncated", "lsc", NOT_OURS),
    "directory": (directory, "directory", "lsc", UNAVAILABLE),
    "missing-folder": (missing_folder, "does not exist", "ls", UNAVAILABLE),
    "read-only-file": (read_only_file, "is read-only", "ls", UNAVAILABLE),
    "read-only-folder": (read_only_folder, "is read-only", "ls", UNAVAILABLE),
    "locked": (locked, "locked by another process", "ls", UNAVAILABLE),
    "newer-schema": (newer_schema, "newer lawloop", "ls", SchemaTooNewError),
    "foreign-sqlite": (foreign_sqlite, "another program's", "lsc", NOT_OURS),
    "postgres-refused": (postgres_refused, "Cannot connect", "lsc", UNAVAILABLE),
    "unknown-dialect": (unknown_dialect, "`nosuchdb`", "lsc", UNAVAILABLE),
    "bare-path": (bare_path, "sqlite:///lawloop.db", "lsc", UNAVAILABLE),
}
COMMANDS = {"l": "list", "s": "start", "c": "check"}


def _snapshot(folder):
    """Every path under `folder` with its bytes' hash (files) and modification time.

    SQLite's `-wal` and `-shm` files of another process (the lock holder)
    count by their presence only: readers write their read marks there.
    """
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(("-wal", "-shm")):
            found[str(path.relative_to(folder))] = None
            continue
        st = path.lstat()
        digest = (
            hashlib.sha256(path.read_bytes()).hexdigest()
            if stat.S_ISREG(st.st_mode)
            else None
        )
        found[str(path.relative_to(folder))] = (digest, st.st_mtime_ns)
    return found


def _run(command, url, tmp_path, cwd, cli=run_cli):
    if command == "list":
        return cli("campaign", "list", "--db", url, cwd=cwd)
    if command == "check":
        return cli("db", "check", "--db", url, cwd=cwd)
    config = write_config(tmp_path / "tiny.toml", TINY)
    return cli(
        "campaign", "start", "--backend", "core/Pendulum-v0", "--config",
        str(config), "--progress", "none", "--db", url, cwd=cwd,
    )  # fmt: skip


def _cli_cases():
    """(case, command) pairs; waiting out a lock takes seconds (slow set)."""
    for case, (_, _, commands, _) in CASES.items():
        for c in commands:
            marks = [pytest.mark.slow] if case == "locked" else []
            yield pytest.param(
                case, COMMANDS[c], marks=marks, id=f"{case}-{COMMANDS[c]}"
            )


def _refused(case, command, tmp_path, cli=run_cli):
    """Runs `command` on the bad target of `case`: what it printed, and whether the target changed."""
    make, _, _, _ = CASES[case]
    folder = tmp_path / "store"
    folder.mkdir()
    with make(folder) as url:
        before = _snapshot(folder)
        out = _run(command, url, tmp_path, cwd=folder, cli=cli)
        after = _snapshot(folder)
    return out, before, after


def _assert_one_line_exit_1_untouched(case, out, before, after):
    names = CASES[case][1]
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1, out.stderr[-3000:]
    assert len(lines) == 1, out.stderr[-3000:]
    assert lines[0].startswith("error: ")
    assert names in lines[0]
    assert "Traceback" not in out.stderr
    assert "s3cret-pw" not in out.stderr
    assert after == before


@pytest.mark.parametrize(("case", "command"), list(_cli_cases()))
def test_bad_store_is_one_line_exit_1_and_left_untouched(case, command, tmp_path):
    _assert_one_line_exit_1_untouched(case, *_refused(case, command, tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "command"), [("foreign-sqlite", "list"), ("read-only-file", "list")]
)
def test_bad_store_is_one_line_exit_1_and_left_untouched_process(
    case, command, tmp_path
):
    """The same from a real `python run.py`: its stderr, exit code and files."""
    refused = _refused(case, command, tmp_path, cli=run_cli_process)
    _assert_one_line_exit_1_untouched(case, *refused)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_open_store_refuses_each_bad_store_with_a_project_error(
    case, tmp_path, monkeypatch
):
    make, names, commands, error = CASES[case]
    monkeypatch.chdir(tmp_path)
    with make(tmp_path) as url:
        before = _snapshot(tmp_path)
        with pytest.raises(error, match=names):
            open_store(url)
        if "c" in commands:  # refused for reading too
            with pytest.raises(error, match=names):
                check_openable(url)
            with pytest.raises(error, match=names):
                open_read_only(url)
        assert _snapshot(tmp_path) == before


def test_reading_refuses_a_newer_schema_that_db_check_may_read(tmp_path):
    with newer_schema(tmp_path) as url:
        with pytest.raises(SchemaTooNewError, match="9999_future"):
            open_read_only(url)
        check_openable(url)


def test_missing_file_for_reading_is_not_found_and_not_created(tmp_path):
    url = _file_url(tmp_path / "none" / "lawloop.db")
    with pytest.raises(NotFoundError):
        check_openable(url)
    with pytest.raises(NotFoundError):
        open_read_only(url)
    assert list(tmp_path.iterdir()) == []


def test_a_lawloop_database_and_an_empty_file_still_open(tmp_path):
    path = _lawloop_db(tmp_path)
    check_openable(_file_url(path), write=True)
    with open_read_only(_file_url(path)) as store:
        assert store.list_campaigns() == []
    empty = tmp_path / "empty.db"
    empty.touch()
    with open_store(_file_url(empty)) as store:
        assert store.list_campaigns() == []


def test_read_only_mode_bits_count_even_where_access_would_allow(tmp_path):
    """Root may write any file; a file made read-only on purpose is still refused."""
    path = _lawloop_db(tmp_path)
    path.chmod(0o444)
    try:
        assert not os.access(path, os.W_OK) or os.geteuid() == 0
        with pytest.raises(StoreUnavailableError, match="chmod u\\+w"):
            open_store(_file_url(path))
    finally:
        path.chmod(0o644)
