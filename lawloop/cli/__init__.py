"""lawloop's command line: parse, call the agent, print.

Every listing command takes `--json` and then prints one JSON document on
stdout. Exit codes: 0 ok, 1 user error (message on stderr), 2 campaign
failed, 130 interrupted. Heavy packages load inside the commands, so
`python run.py --help` answers at once.

Each group of commands lives in its own module, as AiiDA's `verdi` keeps
`cmd_*.py`: `_campaign`, `_hypotheses`, `_backends`, `_bench`, `_db`, and
`_report` (why, export, report, serve, replay); `_common` holds the options,
exit codes and error handling they share. This module assembles the app.
"""

from __future__ import annotations

import typer

from lawloop.cli._backends import backends_app
from lawloop.cli._bench import bench_app
from lawloop.cli._campaign import campaign_app
from lawloop.cli._common import EXIT_USER
from lawloop.cli._db import db_app
from lawloop.cli._hypotheses import hypotheses_app
from lawloop.cli._report import export, replay, report, serve, why

__all__ = ["app", "main"]

app = typer.Typer(
    help="lawloop: closed-loop discovery of physical laws.",
    no_args_is_help=True,
    add_completion=False,
)
# Groups and commands in the order `--help` lists them.
app.add_typer(campaign_app, name="campaign")
app.add_typer(hypotheses_app, name="hypotheses")
app.add_typer(backends_app, name="backends")
app.add_typer(bench_app, name="bench")
app.add_typer(db_app, name="db")
app.command("why")(why)
app.command("export")(export)
app.command("report")(report)
app.command("serve")(serve)
app.command("replay")(replay)


def main() -> None:
    """Entry point of `python run.py` and the `lawloop` script."""
    import logging  # noqa: PLC0415

    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    # A flag click cannot parse (`--limit abc`, a missing argument) is a user
    # error: exit 1 as the CLI contract says, not click's 2 (which means a
    # failed campaign here).
    # typer carries its own copy of click, so its UsageError is found through
    # a public exception's bases rather than imported from `click`.
    usage_error = next(
        c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
    )
    usage_error.exit_code = EXIT_USER  # type: ignore[attr-defined]
    # `python run.py` and the installed `lawloop` script are one program:
    # its help names the command a user types outside the repository.
    app(prog_name="lawloop")
