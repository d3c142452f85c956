"""`lawloop backends ...`: list the experiment backends and check one against the contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lawloop.cli._common import (
    BackendOptions,
    JsonOption,
    console,
    errors,
    fail,
    parse_options,
    print_json,
)

if TYPE_CHECKING:
    from lawloop.experiments import CheckReport

backends_app = typer.Typer(help="Experiment backends.", no_args_is_help=True)


@backends_app.command("list")
def backends_list(as_json: JsonOption = False) -> None:
    """List registered and installed experiment backends."""
    with errors():
        from lawloop import experiments  # noqa: PLC0415

        rows = [
            {
                "id": s.id,
                "entry_point": str(s.entry_point),
                "description": experiments.describe(s.id),
            }
            for s in experiments.list_backends()
        ]
    if as_json:
        print_json(rows)
        return
    from rich.markup import escape  # noqa: PLC0415

    out = console()
    for r in rows:
        out.print(f"{r['id']}  [dim]{r['entry_point']}[/]", highlight=False)
        if r["description"]:
            out.print(f"    {escape(r['description'])}", highlight=False)


@backends_app.command("check")
def backends_check(
    backend: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="Backend id (`core/Pendulum-v0`), entry-point id or `module:Class`.",
            show_default=False,
        ),
    ],
    large_batch: Annotated[
        int, typer.Option(help="Points in the large-batch check (at least 1).")
    ] = 100_000,
    seed: Annotated[
        int, typer.Option(help="Seed of the sampled inputs and the runs.")
    ] = 0,
    option: BackendOptions = None,
    as_json: JsonOption = False,
) -> None:
    """Check a backend against the backend contract (`experiments.check_backend`).

    Exit code 0 when every check passes or is skipped, 1 when there are
    violations (or the id is unknown).
    """
    if large_batch < 1:
        fail(f"`--large-batch` must be at least 1; received {large_batch}.")
    if seed < 0:
        fail(f"`--seed` must be >= 0; received {seed}.")
    with errors():
        report = _check_report(backend, parse_options(option or []), large_batch, seed)
    doc = {
        "backend": report.backend_id or backend,
        "ok": report.ok,
        "passed": list(report.passed),
        "skipped": list(report.skipped),
        "violations": list(report.violations),
    }
    if as_json:
        print_json(doc)
    else:
        _print_check(doc)
    if not report.ok:
        fail(
            f"backend `{doc['backend']}` breaks the backend contract: "
            f"{len(report.violations)} violation(s)."
        )


def _check_report(
    backend: str, options: dict[str, str], large_batch: int, seed: int
) -> CheckReport:
    """Build the backend and run `check_backend`; violations come back as data."""
    from lawloop import experiments  # noqa: PLC0415

    try:
        lab = experiments.make(backend, options=options)
    except experiments.ExperimentError:
        raise  # unknown id, bad option: a user error with its own message
    except Exception as exc:  # a plugin whose constructor crashes fails the check
        return experiments.CheckReport(
            backend, violations=[f"make: raised {type(exc).__name__}: {exc}"]
        )
    try:
        return experiments.check_backend(lab, large_batch=large_batch, seed=seed)
    except experiments.BackendContractError as exc:
        report: CheckReport | None = getattr(exc, "report", None)
        if report is None:  # raised by something other than the checker's loop
            report = experiments.CheckReport(backend, violations=[str(exc)])
        return report


def _print_check(doc: dict[str, Any]) -> None:
    """The check's result as text: one line per check, then the verdict."""
    from rich.markup import escape  # noqa: PLC0415

    out = console()
    out.print(
        f"check [bold]{escape(doc['backend'])}[/]: {len(doc['passed'])} passed, "
        f"{len(doc['skipped'])} skipped, {len(doc['violations'])} violations",
        highlight=False,
    )
    for style, label, items in (
        ("green", "pass", doc["passed"]),
        ("yellow", "skip", doc["skipped"]),
        ("bold red", "FAIL", doc["violations"]),
    ):
        for item in items:
            # One line per check, unwrapped, so that it can be searched.
            out.print(
                f"  [{style}]{label}[/] {escape(item)}", highlight=False, soft_wrap=True
            )
    out.print("[bold green]ok[/]" if doc["ok"] else "[bold red]violations found[/]")
