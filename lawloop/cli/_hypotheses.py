"""`lawloop hypotheses ...`: list the hypothesis log, filtered and sorted, and show one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lawloop.cli._common import (
    DbOption,
    HypothesisArgument,
    JsonOption,
    console,
    errors,
    fail,
    print_json,
    with_store,
)

if TYPE_CHECKING:
    from lawloop.agent import HypothesisRow

hypotheses_app = typer.Typer(help="Inspect the hypothesis log.", no_args_is_help=True)

StatusOption = Annotated[
    str | None,
    typer.Option(
        help="Only these statuses, comma-separated: open, accepted, rejected, superseded."
    ),
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        help="Only these sources, comma-separated: power-law, template, mutation, sr, llm, user (or any recorded)."
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(
        help="created (default), score, chi2, complexity, status, source or iteration; `-score` (or --desc) sorts descending."
    ),
]


@hypotheses_app.command("list")
def hypotheses_list(
    campaign: Annotated[
        str | None, typer.Option(help="Only this campaign (id, prefix or name).")
    ] = None,
    status: StatusOption = None,
    source: SourceOption = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only scores (BIC) at least this.")
    ] = None,
    max_score: Annotated[
        float | None, typer.Option(help="Only scores (BIC) at most this.")
    ] = None,
    sort: SortOption = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    limit: Annotated[
        int | None, typer.Option(help="At most N rows, after sorting.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List hypotheses, filtered and sorted.

    The score is the BIC of a hypothesis's latest successful fit (lower is
    better; comparable between laws fitted on the same data); chi2 is that
    fit's reduced chi-square.
    """
    with errors():
        from lawloop.agent import (  # noqa: PLC0415
            HypothesisQuery,
            QueryError,
            query_hypotheses,
        )

        try:
            # The query is built once the database is found: a missing file
            # is reported before a bad filter, as it always was.
            rows = with_store(
                db,
                lambda s: query_hypotheses(
                    s,
                    HypothesisQuery(
                        campaign=campaign,
                        status=status,
                        source=source,
                        min_score=min_score,
                        max_score=max_score,
                        sort=sort,
                        descending=desc,
                        limit=limit,
                    ),
                ),
            )
        except QueryError as exc:
            fail(f"`--{exc.option.replace('_', '-')}`: {exc.problem}")
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    _print_rows(rows)


def _print_rows(rows: list[HypothesisRow]) -> None:
    """The rows as a table, the law last and folded."""
    from rich import box  # noqa: PLC0415
    from rich.markup import escape  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="score: BIC of the latest successful fit (lower is better)",
    )
    for name in ("id", "iter", "status", "score", "chi2", "cplx", "source"):
        table.add_column(name)
    # The law is what people read: it folds, never ends in an ellipsis.
    table.add_column("expression", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(
            r.id[:8],
            "" if r.iteration is None else str(r.iteration),
            r.status,
            "" if r.score is None else f"{r.score:.4g}",
            "" if r.chi2 is None else f"{r.chi2:.3g}",
            "" if r.complexity is None else str(r.complexity),
            r.source,
            escape(r.expression),
        )
    console().print(table)


@hypotheses_app.command("show")
def hypotheses_show(
    hypothesis: HypothesisArgument,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one hypothesis: expression (also LaTeX), constants ± uncertainties, fits, lineage."""
    with errors():
        from lawloop.agent import hypothesis_detail, hypothesis_text  # noqa: PLC0415

        view = with_store(db, lambda s: hypothesis_detail(s, hypothesis))
    if as_json:
        print_json(view)
        return
    console().print(
        hypothesis_text(view), end="", markup=False, highlight=False, soft_wrap=True
    )
