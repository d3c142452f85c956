"""`lawloop bench ...`: full campaigns judged against known laws."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from lawloop.cli._common import (
    DbOption,
    JsonOption,
    console,
    db_url,
    errors,
    print_json,
)

bench_app = typer.Typer(
    help="Benchmarks: full campaigns judged against known laws.", no_args_is_help=True
)

ProblemsOption = Annotated[
    Path,
    typer.Option(
        help="Problems file (format of benchmarks/problems/feynman_dev.json; see benchmarks/problems/README.md)."
    ),
]
IdsOption = Annotated[
    str | None, typer.Option(help="Comma-separated problem ids (default: all).")
]
FirstOption = Annotated[
    int | None, typer.Option(help="Only the first N problems of the file.")
]
EngineOption = Annotated[
    str,
    typer.Option(
        help=(
            "Comma-separated engines: `lawloop` (the campaign), `operon` and "
            "`gplearn` (one search on the same number of random inputs)."
        )
    ),
]
TimeLimitOption = Annotated[float, typer.Option(help="Seconds per problem and engine.")]
WallLimitOption = Annotated[
    float | None,
    typer.Option(
        help=(
            "Seconds after which a campaign's process is killed and its row "
            "marked `killed` (default: twice --time-limit plus 30)."
        )
    ),
]
MeasurementsOption = Annotated[
    int, typer.Option(help="Measurements per problem and engine.")
]
ToleranceOption = Annotated[
    float | None,
    typer.Option(help="Relative precision laws must hold to (default 1e-3)."),
]
ClaimPrecisionOption = Annotated[
    float | None,
    typer.Option(
        help=(
            "Precision an accepted law must be shown to hold to, relative "
            "(default 1e-3); a campaign that cannot show it ends 'consistent'."
        )
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        help=(
            "Also write the rows as one JSON list to this file (replaced), "
            "rewritten after each row; read by benchmarks/feynman_table.py."
        )
    ),
]


@bench_app.command("feynman")
def bench_feynman(
    problems: ProblemsOption,
    ids: IdsOption = None,
    first: FirstOption = None,
    engine: EngineOption = "lawloop",
    noise: Annotated[float, typer.Option(help="Gaussian noise, RMS units.")] = 0.0,
    time_limit: TimeLimitOption = 300.0,
    wall_limit: WallLimitOption = None,
    max_measurements: MeasurementsOption = 10_000,
    seed: Annotated[int, typer.Option(help="Campaign seed.")] = 0,
    tolerance: ToleranceOption = None,
    claim_precision: ClaimPrecisionOption = None,
    out: OutOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run each problem with each engine on core/Formula-v0 and report what was recovered."""
    with errors():
        from lawloop.agent import bench_feynman as run_bench  # noqa: PLC0415
        from lawloop.agent import problem_ids  # noqa: PLC0415

        chosen = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
        if first is not None:
            chosen = (chosen or problem_ids(problems))[:first]
        rows = run_bench(
            problems,
            ids=chosen,
            engines=[e.strip() for e in engine.split(",") if e.strip()],
            noise=noise,
            time_limit=time_limit,
            max_measurements=max_measurements,
            seed=seed,
            tolerance=tolerance,
            claim_precision=claim_precision,
            db_url=db_url(db, new_ok=True),
            on_row=_saver(out),
            wall_limit=wall_limit,
        )
    if as_json:
        print_json(rows)
        return
    _print_rows(rows)


def _saver(out: Path | None) -> Callable[[dict[str, Any]], None]:
    """A callback that keeps every finished row, and writes them all to `out` if given."""
    done: list[dict[str, Any]] = []

    def save(row: dict[str, Any]) -> None:
        # The whole list each time, replaced atomically: a bench of hours that
        # stops part-way leaves a valid file holding every finished row.
        done.append(row)
        if out is not None:
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(json.dumps(done, indent=2, default=str) + "\n")
            tmp.replace(out)

    return save


def _print_rows(rows: list[dict[str, Any]]) -> None:
    """The rows as a table, then each engine's count of recovered laws."""
    from rich.table import Table  # noqa: PLC0415

    table = Table(
        "id",
        "engine",
        "recovered",
        "seconds",
        "overshoot s",
        "measurements",
        "test R2",
        "expression",
    )
    for r in rows:
        r2 = "" if r["test_r2"] is None else f"{r['test_r2']:.6f}"
        table.add_row(
            r["id"],
            r["engine"],
            "yes" if r["recovered"] else "no",
            f"{r['seconds']:.1f}",
            "" if r["overshoot_s"] is None else f"{r['overshoot_s']:+.1f}",
            str(r["measurements"]),
            r2,
            str(r["expression"])
            if r["status"] not in ("failed", "killed")
            else f"{r['status']}: {r['detail']}",
        )
    out = console()
    out.print(table)
    for name in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == name]
        out.print(f"{name}: recovered {sum(r['recovered'] for r in mine)}/{len(mine)}")
