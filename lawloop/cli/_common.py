"""What every command shares: options, exit codes, error handling and output.

Heavy packages (rich, the agent, the store) load inside these helpers, on
first use, so that `python run.py --help` answers at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy URL (default: $LAWLOOP_DB, else sqlite:///lawloop.db)."
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout.")
]

ProgressOption = Annotated[
    str,
    typer.Option(
        "--progress",
        help=(
            "While it runs, on stderr: `live` (a panel), `lines` (one line per "
            "event), `none`, or `auto` (live on a terminal, else lines)."
        ),
    ),
]
PROGRESS_MODES = ("auto", "live", "lines", "none")

BackendOptions = Annotated[
    list[str] | None, typer.Option(help="Backend option KEY=VALUE (repeatable).")
]
CampaignArgument = Annotated[
    str,
    typer.Argument(help="Campaign id, unique id prefix, or name.", show_default=False),
]
HypothesisArgument = Annotated[
    str,
    typer.Argument(
        metavar="HYPOTHESIS",
        help="Hypothesis id or unique id prefix.",
        show_default=False,
    ),
]

EXIT_USER, EXIT_FAILED, EXIT_INTERRUPTED = 1, 2, 130
# A campaign that ran to its end without an accepted law is not a success:
# its exit code says which way it ended (0 is an accepted law).
EXIT_OUTCOME = {"accepted": 0, "consistent": 3, "not found": 4}


def fail(message: str, code: int = EXIT_USER, *, label: str = "error") -> NoReturn:
    """Print an error on stderr, as one line, and exit with `code`."""
    from rich.console import Console  # noqa: PLC0415 - keep --help fast
    from rich.markup import escape  # noqa: PLC0415

    # Unwrapped, so that a script reads it as one line; escaped, as a path or
    # message may hold `[...]` that rich would take for markup.
    colour = "bold red" if label == "error" else "bold yellow"
    Console(stderr=True).print(
        f"[{colour}]{label}:[/] {escape(message)}",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )
    raise typer.Exit(code)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user asked for something wrong (exit 1)."""
    from lawloop import experiments, storage  # noqa: PLC0415
    from lawloop.agent import AgentError  # noqa: PLC0415

    return (AgentError, experiments.ExperimentError, storage.StorageError)


@contextmanager
def errors() -> Iterator[None]:
    """Turn known errors into messages and exit codes."""
    user = user_errors()
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt as stop:
        _stopped(stop)
    except user as exc:
        fail(str(exc))


def _stopped(stop: KeyboardInterrupt) -> NoReturn:
    """Exit 130 saying how to continue: a stop that was asked for is not an error."""
    cid = getattr(stop, "campaign_id", None)
    if cid is None:
        fail(
            "interrupted; continue with `python run.py campaign resume CAMPAIGN`.",
            EXIT_INTERRUPTED,
            label="stopped",
        )
    if getattr(stop, "lease_lost", False):
        fail(
            f"{stop}; the other process runs it now.",
            EXIT_INTERRUPTED,
            label="stopped",
        )
    fail(
        f"{stop}; continue with `python run.py campaign resume {cid[:8]}`.",
        EXIT_INTERRUPTED,
        label="stopped",
    )


def failing_as(what: str, run: Callable[[], T]) -> T:
    """`run()`; an error that is not the user's exits 2 as "`what` failed: ..."."""
    try:
        return run()
    except Exception as exc:
        if isinstance(exc, user_errors()):
            raise
        fail(f"{what} failed: {type(exc).__name__}: {exc}", EXIT_FAILED)


def db_url(flag: str | None, *, new_ok: bool = False) -> str:
    """The database URL of `--db` (or `$LAWLOOP_DB`, or the default).

    Only a command that starts something (`campaign start`, `bench`) may
    name a database that does not exist yet: for every other one a missing
    file is a misspelled path, and it says so instead of creating an empty
    database there (and then finding no campaign in it).
    """
    from lawloop.agent import resolve_db_url  # noqa: PLC0415

    url = resolve_db_url(flag)[0]
    if not new_ok:
        # Existence only: the command opens it next, and a read-only probe
        # here would leave SQLite's -wal and -shm files behind.
        from lawloop.storage import require_existing  # noqa: PLC0415

        require_existing(url)
    return url


def with_store(db: str | None, fn: Callable[[Any], T]) -> T:
    """`fn(store)` on the database of `--db`, closed afterwards."""
    from lawloop.storage import open_store  # noqa: PLC0415

    store = open_store(db_url(db))
    try:
        return fn(store)
    finally:
        store.close()


def print_json(doc: Any) -> None:
    """Print `doc` as one indented JSON document on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def console() -> Any:
    """Rich output: the terminal's width; in a pipe or file, lines are never wrapped.

    Rich would wrap a pipe at 80 columns, mid-value (`score (BIC)` on one
    line, its number on the next), and cut table cells to `...`.
    """
    from rich.console import Console  # noqa: PLC0415

    if sys.stdout.isatty():
        return Console()
    return Console(width=1000, soft_wrap=True)


def progress_mode(value: str) -> Any:
    """Check a `--progress` value (exit 1 naming the choices)."""
    if value not in PROGRESS_MODES:
        fail(f"`--progress` takes auto, live, lines or none; received `{value}`.")
    return value


def parse_options(options: list[str]) -> dict[str, str]:
    """`--option KEY=VALUE` flags as a dict (exit 1 on one without `=`)."""
    out: dict[str, str] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"`--option` takes KEY=VALUE; received `{item}`.")
        out[key.strip()] = value.strip()
    return out


def close_match_hint(value: str, choices: tuple[str, ...]) -> str:
    """' Did you mean `x`?' for a near miss among `choices`, else ''."""
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(value, choices, n=1)
    return f" Did you mean `{close[0]}`?" if close else ""
