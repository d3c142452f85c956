"""`lawloop db ...`: the provenance database itself."""

from __future__ import annotations

import typer

from lawloop.cli._common import (
    DbOption,
    JsonOption,
    console,
    db_url,
    errors,
    fail,
    print_json,
)

db_app = typer.Typer(help="The provenance database itself.", no_args_is_help=True)


@db_app.command("check")
def db_check(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check a whole database, read-only: references, artifact hashes, lineage, values.

    Never writes (SQLite is opened with `mode=ro`) and never upgrades the
    schema. Exit code 0 when clean, 1 when problems are found (or the
    database cannot be read).
    """
    with errors():
        from lawloop.storage import check_database, check_openable  # noqa: PLC0415

        url = db_url(db)
        # A file that is not a database, or a server that cannot be reached:
        # one line saying so, rather than a check that fails on its first read.
        check_openable(url)
        report = check_database(url)
    doc = report.to_dict()
    if as_json:
        print_json(doc)
    else:
        from rich.markup import escape  # noqa: PLC0415

        out = console()
        rows = ", ".join(f"{n} {t}" for t, n in doc["rows"].items())
        out.print(
            f"check [bold]{escape(doc['database'])}[/] (revision {doc['revision']}): {rows}",
            highlight=False,
            soft_wrap=True,
        )
        for p in report.problems:
            # One line per problem, unwrapped, so that it can be searched.
            out.print(
                f"  [bold red]{p.check}[/] {escape(str(p))}",
                highlight=False,
                soft_wrap=True,
            )
        out.print("[bold green]ok[/]" if report.ok else "[bold red]problems found[/]")
    if not report.ok:
        fail(f"the database has {len(report.problems)} integrity problem(s).")
