"""Shared fixtures: a fast campaign configuration, project paths, the CLI in process."""

import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis profiles. Property tests that leave `max_examples` to the profile
# (the fuzz suites) run `ci`'s modest count by default; `fuzz` is the long
# search: `LAWLOOP_HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest
# tests/tools/test_fuzz_pipeline.py`. Tests that set their own count keep it.
HYPOTHESIS_PROFILE_VAR = "LAWLOOP_HYPOTHESIS_PROFILE"
settings.register_profile("ci", max_examples=200)
settings.register_profile("fuzz", max_examples=10_000)
settings.load_profile(os.environ.get(HYPOTHESIS_PROFILE_VAR, "ci"))

ROOT = Path(__file__).resolve().parent.parent

# Small budgets that still recover the pendulum law: the tests check behaviour,
# the benchmarks check reach.
FAST = {
    "initial_points": 64,
    "batch_points": 32,
    "replicates": 8,
    "max_iterations": 4,
    "sr_max_evaluations": 60_000,
    "sr_time_limit": 120.0,  # a safety cap only: the evaluation budget must stop SR, or runs differ
    "sr_max_points": 300,
}


# One iteration on few points: for tests that need a real record, not a found law.
TINY = dict(
    FAST,
    max_iterations=1,
    initial_points=16,
    batch_points=8,
    replicates=2,
    sr_max_evaluations=2000,
)


def write_config(path: Path, values: dict) -> Path:
    """Write campaign settings as the TOML file `--config` reads."""
    path.write_text("\n".join(f"{k} = {v!r}" for k, v in values.items()) + "\n")
    return path


@pytest.fixture
def fast_config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "fast.toml", FAST)


@pytest.fixture
def root() -> Path:
    return ROOT


def dump_diff(a: dict, b: dict, limit: int = 8) -> str:
    """The first differences between two campaign dumps, for a readable failure."""
    out = []
    for table in sorted(set(a) | set(b)):
        rows_a, rows_b = a.get(table, []), b.get(table, [])
        if len(rows_a) != len(rows_b):
            out.append(f"{table}: {len(rows_a)} rows vs {len(rows_b)}")
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False)):
            for key in sorted(set(ra) | set(rb)):
                if ra.get(key) != rb.get(key):
                    out.append(
                        f"{table}[{i}].{key}: {str(ra.get(key))[:300]!r} != {str(rb.get(key))[:300]!r}"
                    )
    return "\n".join(out[:limit]) or "no difference"


@pytest.fixture(scope="session")
def recorded_pendulum(tmp_path_factory):
    """One FAST pendulum campaign (seed 1), run once for every test that only reads its record.

    Returns (database path, database URL, summary). A test that changes the
    record copies the file first.
    """
    from lawloop.agent import CampaignConfig, start_campaign

    path = tmp_path_factory.mktemp("recorded") / "pendulum.db"
    url = f"sqlite:///{path}"
    summary = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=1, **FAST), url
    )
    return path, url, summary


# -- database URLs: SQLite, and PostgreSQL when a server is given -----------------

POSTGRES_URL_VAR = "LAWLOOP_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server():
    """Makes fresh databases on the server of `LAWLOOP_TEST_POSTGRES_URL`; skips without one.

    Yields `new_database(migrated=True) -> url`. A migrated database is a copy
    of a template that `open_store` upgraded once, so a test pays for a
    `CREATE DATABASE`, not for the migrations. Every database made is dropped
    at the end of the session. The URL's user needs `CREATEDB` (PostgreSQL 13+).
    """
    import itertools
    import os

    import sqlalchemy as sa

    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(
            f"no PostgreSQL server: {POSTGRES_URL_VAR} is not set "
            "(`bash scripts/postgres.sh start` prints a URL for it)"
        )
    pytest.importorskip(
        "psycopg", reason="psycopg is not installed: pip install -e '.[postgres]'"
    )
    from lawloop.storage import open_store

    base = sa.make_url(url)
    admin = sa.create_engine(
        base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with admin.connect() as connection:
        version = int(connection.exec_driver_sql("SHOW server_version_num").scalar())
    # FILE_COPY (PostgreSQL 15+) copies a small database faster than WAL_LOG.
    strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
    prefix = f"lawloop_t{os.getpid()}"
    made: list[str] = []
    counter = itertools.count()

    def create(name: str, template: str = "template0") -> str:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'
            )
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    template = f"{prefix}_template"
    open_store(create(template)).close()

    def new_database(*, migrated: bool = True) -> str:
        name = f"{prefix}_{next(counter)}"
        return create(name, template if migrated else "template0")

    yield new_database
    with admin.connect() as connection:
        for name in reversed(made):
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a fresh, migrated PostgreSQL database (skips without a server)."""
    return postgres_server()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The URL of a new, empty database: a SQLite file, then a PostgreSQL database.

    Empty as a new SQLite file is: `open_store` creates the schema, so the
    migrations run on both backends.
    """
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_server")(migrated=False)
    return f"sqlite:///{tmp_path / 'lawloop.db'}"


FINISHED_CODES = {0: "accepted", 3: "consistent", 4: "not found"}
"""Exit codes of a campaign that ran to its end, by how it ended (`run.py` EXIT_OUTCOME)."""


def finished(returncode: int, summary: dict | None = None) -> bool:
    """Whether a `campaign start`/`resume` exit code is a finished campaign's (and its summary's outcome)."""
    if returncode not in FINISHED_CODES:
        return False
    return summary is None or FINISHED_CODES[returncode] == summary.get("outcome")


# -- the command line, in this process and as a process ------------------------


@contextlib.contextmanager
def _process_streams():
    """stdout and stderr on files, as a process has: yields a function that reads them.

    On files, not in memory: a campaign registers `faulthandler` on stderr's
    file descriptor. Inside click's test isolation, for its terminal patches.
    """
    from typer.testing import CliRunner

    with (
        CliRunner().isolation(),
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        stdout = io.TextIOWrapper(out, encoding="utf-8")
        stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace")
        sys.stdout, sys.stderr = stdout, stderr

        def read() -> tuple[str, str]:
            stdout.flush()
            stderr.flush()
            out.seek(0)
            err.seek(0)
            return out.read().decode(), err.read().decode()

        try:
            yield read
        finally:
            # Let go of the files, so that the wrappers do not close them later.
            stdout.detach()
            stderr.detach()


def run_cli(*args: str, cwd: Path | None = None, check_code: int | None = None):
    """`python run.py ARGS` run in this process: `lawloop.cli.main` itself, on captured streams.

    The same program without the seconds a new interpreter takes to import the
    agent: `main()` sets the exit code of a usage error and the logging a
    process has (warnings on stderr), so the exit codes, stdout and stderr are
    a process's. What `main()` changes in this process (click's usage-error
    code, the root logger, argv, the working directory) is put back after.
    An error no command handles is raised here, where a process would print
    its traceback. Returns a `CompletedProcess`.
    """
    import typer

    from lawloop.cli import main

    usage_error = next(
        c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
    )
    saved_code = usage_error.exit_code
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    # Without pytest's capture handlers, `main`'s `basicConfig` logs to the
    # captured stderr, as in a process.
    root.handlers.clear()
    saved_argv = sys.argv
    code: int = 0
    try:
        with _process_streams() as read, contextlib.chdir(cwd or os.getcwd()):
            sys.argv = [str(ROOT / "run.py"), *args]
            try:
                main()
            except SystemExit as stop:
                if stop.code is None or isinstance(stop.code, int):
                    code = stop.code or 0
                else:  # `sys.exit("message")`: the message on stderr, exit 1
                    print(stop.code, file=sys.stderr)
                    code = 1
            finally:
                stdout, stderr = read()
    finally:
        sys.argv = saved_argv
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        usage_error.exit_code = saved_code
    done = subprocess.CompletedProcess(["run.py", *args], code, stdout, stderr)
    if check_code is not None:
        assert done.returncode == check_code, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def run_cli_process(
    *args: str,
    cwd: Path = ROOT,
    check_code: int | None = None,
    env: dict[str, str] | None = None,
):
    """`python run.py ARGS` as a user runs it: a new process (seconds to start)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    if check_code is not None:
        assert done.returncode == check_code, done.stdout[-3000:] + done.stderr[-3000:]
    return done
