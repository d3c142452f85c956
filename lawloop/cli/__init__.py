"""lawloop's command line: parse, call the agent, print.

Every listing command takes `--json` and then prints one JSON document on
stdout. Exit codes: 0 ok, 1 user error (message on stderr), 2 campaign
failed, 130 interrupted. Heavy packages load inside the commands, so
`python run.py --help` answers at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from lawloop.experiments import CheckReport

app = typer.Typer(
    help="lawloop: closed-loop discovery of physical laws.",
    no_args_is_help=True,
    add_completion=False,
)
campaign_app = typer.Typer(
    help="Launch, resume and inspect discovery campaigns.", no_args_is_help=True
)
hypotheses_app = typer.Typer(help="Inspect the hypothesis log.", no_args_is_help=True)
backends_app = typer.Typer(help="Experiment backends.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks: full campaigns judged against known laws.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")
app.add_typer(hypotheses_app, name="hypotheses")
app.add_typer(backends_app, name="backends")
app.add_typer(bench_app, name="bench")
db_app = typer.Typer(help="The provenance database itself.", no_args_is_help=True)
app.add_typer(db_app, name="db")

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

EXIT_USER, EXIT_FAILED, EXIT_INTERRUPTED = 1, 2, 130
# A campaign that ran to its end without an accepted law is not a success:
# its exit code says which way it ended (0 is an accepted law).
EXIT_OUTCOME = {"accepted": 0, "consistent": 3, "not found": 4}


def _fail(message: str, code: int = EXIT_USER, *, label: str = "error") -> NoReturn:
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


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user asked for something wrong (exit 1)."""
    from lawloop import experiments, storage  # noqa: PLC0415
    from lawloop.agent import AgentError  # noqa: PLC0415

    return (AgentError, experiments.ExperimentError, storage.StorageError)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known errors into messages and exit codes."""
    user = _user_errors()
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt as stop:
        # A stop that was asked for is not an error: it says "stopped".
        cid = getattr(stop, "campaign_id", None)
        if cid is None:
            _fail(
                "interrupted; continue with `python run.py campaign resume CAMPAIGN`.",
                EXIT_INTERRUPTED,
                label="stopped",
            )
        if getattr(stop, "lease_lost", False):
            _fail(
                f"{stop}; the other process runs it now.",
                EXIT_INTERRUPTED,
                label="stopped",
            )
        _fail(
            f"{stop}; continue with `python run.py campaign resume {cid[:8]}`.",
            EXIT_INTERRUPTED,
            label="stopped",
        )
    except user as exc:
        _fail(str(exc))


def _db(flag: str | None, *, new_ok: bool = False) -> str:
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


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def _console() -> Any:
    """Rich output: the terminal's width; in a pipe or file, lines are never wrapped.

    Rich would wrap a pipe at 80 columns, mid-value (`score (BIC)` on one
    line, its number on the next), and cut table cells to `...`.
    """
    from rich.console import Console  # noqa: PLC0415

    if sys.stdout.isatty():
        return Console()
    return Console(width=1000, soft_wrap=True)


def _exit_with_outcome(summary: dict[str, Any]) -> None:
    """Exit 3 (consistent) or 4 (not found) when a finished campaign accepted no law."""
    code = EXIT_OUTCOME.get(summary.get("outcome") or "", 0)
    if code:
        raise typer.Exit(code)


def _print_summary(summary: dict[str, Any]) -> None:
    console = _console()
    from lawloop.agent import OUTCOMES, scale_words  # noqa: PLC0415

    outcome = summary.get("outcome")
    console.print(
        f"campaign [bold]{summary['campaign_id']}[/] ({summary['name']}): {summary['status']}"
        + (f", {OUTCOMES[outcome]}" if outcome else "")
    )
    console.print(
        f"  iterations {summary['iterations']}, measurements {summary['measurements']}"
    )
    if summary.get("stop_reason"):
        console.print(f"  stopped: {summary['stop_reason']}")
    if summary.get("stop_reason") == "consistent":
        rivals = summary.get("rivals") or []
        attack = (summary.get("best") or {}).get("attack") or {}
        console.print(
            "  the data are consistent with the best law but did not single it out: "
            + (
                f"{len(rivals)} rival law(s) fit as well ("
                + ", ".join(r[:8] for r in rivals[:5])
                + (", ..." if len(rivals) > 5 else "")
                + "; `hypotheses show` for each)"
                if rivals
                else "it was not confirmed on fresh data"
                if not attack
                else f"the attack bounded a correction only to "
                f"{attack.get('precision') or float('inf'):.2g} "
                f"({scale_words(attack.get('reference'))}, 95 %), "
                f"short of the {attack.get('goal'):g} an accepted law must hold to"
            ),
            highlight=False,
        )
    _print_run_state(console, summary)
    best = summary.get("best")
    if best:
        console.print(
            f"  best law ({best.get('status')}): [bold green]{best['expression']}[/]",
            highlight=False,
        )
        if best.get("holds_to"):
            # The claim's stated power: what the attack showed (or reached).
            verb = "" if best.get("status") == "accepted" else "so far: "
            console.print(f"  {verb}{best['holds_to']}", highlight=False)
        for name, claim in (best.get("constants") or {}).items():
            # Each constant as fitted, with its interval, and whether it was named.
            named = claim["closed_form"] or "as fitted"
            console.print(
                f"  {name} = {claim['value']:.8g} ± {claim['stderr']:.2g} "
                f"(95 %: {claim['lower']:.8g} to {claim['upper']:.8g}): {named}",
                highlight=False,
            )
        console.print(
            f"  hypothesis {best['hypothesis_id']}, score (BIC) {best.get('score')}"
        )


def _print_run_state(console: Any, summary: dict[str, Any]) -> None:
    """Budget use, the process that runs (or ran) the campaign, and its log file."""
    from rich.markup import escape  # noqa: PLC0415

    labels = {
        "iterations": "iterations",
        "measurements": "measurements",
        "wall_s": "time (s)",
        "llm_calls": "LLM calls",
        "llm_tokens": "LLM tokens",
    }
    parts = []
    for key, item in (summary.get("budget") or {}).items():
        used, limit = item.get("used"), item.get("limit")
        if used is None:
            continue
        shown = f"{used:.1f}" if isinstance(used, float) else str(used)
        parts.append(
            f"{labels.get(key, key)} {shown}" + (f"/{limit:g}" if limit else "")
        )
    if parts:
        console.print(f"  budget used: {', '.join(parts)}", highlight=False)
    process = summary.get("process") or {}
    if process.get("running"):
        stop = " (stop requested)" if process.get("stop_requested_at") else ""
        console.print(
            f"  running in pid {process['pid']} on {escape(str(process['host']))}, "
            f"heartbeat {process['heartbeat_at']}{stop}",
            highlight=False,
        )
    elif summary.get("status") == "interrupted" and process.get("heartbeat_at"):
        console.print(
            f"  last heartbeat {process['heartbeat_at']}; continue with "
            f"`python run.py campaign resume {summary['campaign_id'][:8]}`",
            highlight=False,
        )
    if summary.get("log_file"):
        console.print(f"  log: {escape(summary['log_file'])}", highlight=False)


def _progress_mode(value: str) -> Any:
    """Check a `--progress` value (exit 1 naming the choices)."""
    if value not in PROGRESS_MODES:
        _fail(f"`--progress` takes auto, live, lines or none; received `{value}`.")
    return value


def _parse_options(options: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"`--option` takes KEY=VALUE; received `{item}`.")
        out[key.strip()] = value.strip()
    return out


@campaign_app.command("start")
def campaign_start(
    backend: Annotated[
        str, typer.Option(help="Backend id (`core/Pendulum-v0`) or `module:Class`.")
    ],
    planner: Annotated[
        str | None, typer.Option(help="`offline` (default; no network) or `llm`.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name for `--planner llm`.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Campaign seed.")] = None,
    max_iterations: Annotated[
        int | None, typer.Option(help="Iteration budget.")
    ] = None,
    max_measurements: Annotated[
        int | None, typer.Option(help="Measurement budget (points).")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(help="Wall-clock budget, seconds.")
    ] = None,
    noise: Annotated[
        float | None,
        typer.Option(
            help="Noise level: Gaussian in RMS units of the clean observable, or relative with --noise-model heteroscedastic."
        ),
    ] = None,
    noise_model: Annotated[
        str | None,
        typer.Option(
            help="gaussian, heteroscedastic or poisson (counts drawn from the value)."
        ),
    ] = None,
    design: Annotated[
        str | None,
        typer.Option(help="active (default: disagreement, repeats, probes) or random."),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Backend option KEY=VALUE (repeatable).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Campaign name (unique).")] = None,
    replay_from: Annotated[
        str | None,
        typer.Option(
            help="With `--planner llm`: reuse this campaign's recorded LLM replies (no network)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file of campaign settings (flags win).")
    ] = None,
    progress: ProgressOption = "auto",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Launch a discovery campaign and run it to the end.

    Ctrl-C or SIGTERM stop it after the current step (exit 130; a second
    one stops at once); `campaign resume` continues it.
    """
    mode = _progress_mode(progress)
    with _errors():
        from lawloop.agent import load_config, start_campaign  # noqa: PLC0415

        overrides = {
            "backend": backend,
            "planner": planner,
            "llm_model": model,
            "llm_replay_from": replay_from,
            "seed": seed,
            "max_iterations": max_iterations,
            "max_measurements": max_measurements,
            "time_limit": time_limit,
            "noise": noise,
            "noise_model": noise_model,
            "design": design,
            "name": name,
            "backend_options": _parse_options(option or []) or None,
        }
        cfg = load_config(config, overrides)
        try:
            summary = start_campaign(
                cfg, _db(db, new_ok=True), progress=mode, handle_signals=True
            )
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                raise
            _fail(f"campaign failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
    _print_json(summary) if as_json else _print_summary(summary)
    _exit_with_outcome(summary)


@campaign_app.command("resume")
def campaign_resume(
    campaign: str,
    progress: ProgressOption = "auto",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Continue an interrupted campaign (or one whose process died) from its last checkpoint.

    Refused (exit 1) while another live process runs the campaign.
    """
    mode = _progress_mode(progress)
    with _errors():
        from lawloop.agent import resume_campaign  # noqa: PLC0415

        try:
            summary = resume_campaign(
                campaign, _db(db), progress=mode, handle_signals=True
            )
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                raise
            _fail(f"campaign failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
    _print_json(summary) if as_json else _print_summary(summary)
    _exit_with_outcome(summary)


@campaign_app.command("stop")
def campaign_stop(
    campaign: str,
    wait: Annotated[
        bool,
        typer.Option(
            help="Wait until the campaign has stopped (`--no-wait`: only ask)."
        ),
    ] = True,
    timeout: Annotated[
        float | None,
        typer.Option(help="Stop waiting after this many seconds (exit 1)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask a running campaign to stop after its current step, from any shell.

    The request goes through the database, so on PostgreSQL it reaches a
    campaign running on another machine. The campaign exits with 130 and
    `campaign resume` continues it.
    """
    with _errors():
        from lawloop.agent import stop_campaign  # noqa: PLC0415

        done = stop_campaign(_db(db), campaign, wait=wait, timeout_s=timeout)
    if as_json:
        _print_json(done)
    else:
        holder = done["holder"]
        state = (
            f"stopped ({done['status']})"
            if done["stopped"]
            else "asked to stop after its current step"
        )
        _console().print(
            f"campaign [bold]{done['campaign_id']}[/] (pid {holder['pid']} on "
            f"{holder['host']}): {state}",
            highlight=False,
        )
    if wait and not done["stopped"]:
        _fail(
            f"campaign `{done['campaign_id']}` still runs after {timeout:g} s; "
            "the stop request stands."
        )


def _with_store(db: str | None, fn: Callable[[Any], Any]) -> Any:
    from lawloop.storage import open_store  # noqa: PLC0415

    store = open_store(_db(db))
    try:
        return fn(store)
    finally:
        store.close()


@campaign_app.command("status")
def campaign_status(
    campaign: str, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Show a campaign's status, budget use and best law."""
    with _errors():
        from lawloop.agent import campaign_summary  # noqa: PLC0415

        summary = _with_store(
            db, lambda s: campaign_summary(s, s.get_campaign(campaign).id)
        )
    _print_json(summary) if as_json else _print_summary(summary)


@campaign_app.command("list")
def campaign_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List campaigns, oldest first."""
    with _errors():
        from lawloop.agent import campaign_summary  # noqa: PLC0415

        rows = _with_store(
            db, lambda s: [campaign_summary(s, c.id) for c in s.list_campaigns()]
        )
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(
        "id", "name", "backend", "status", "iterations", "measurements", "best law"
    )
    # Names and laws fold in a narrow terminal, never end in "...".
    for column in table.columns:
        column.overflow = "fold"
    table.columns[0].no_wrap = True  # an id prefix is copied whole
    for r in rows:
        best = (r.get("best") or {}).get("expression", "")
        table.add_row(
            r["campaign_id"][:8],
            r["name"],
            r["backend"],
            r["status"] + (f": {r['outcome']}" if r.get("outcome") else ""),
            str(r["iterations"]),
            str(r["measurements"]),
            best,
        )
    _console().print(table)


@hypotheses_app.command("list")
def hypotheses_list(
    campaign: Annotated[
        str | None, typer.Option(help="Only this campaign (id, prefix or name).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only these statuses, comma-separated: open, accepted, rejected, superseded."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Only these sources, comma-separated: power-law, template, mutation, sr, llm, user (or any recorded)."
        ),
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only scores (BIC) at least this.")
    ] = None,
    max_score: Annotated[
        float | None, typer.Option(help="Only scores (BIC) at most this.")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help="created (default), score, chi2, complexity, status, source or iteration; `-score` (or --desc) sorts descending."
        ),
    ] = None,
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
    with _errors():
        from lawloop.agent import QueryError, query_hypotheses  # noqa: PLC0415

        try:
            rows = _with_store(
                db,
                lambda s: query_hypotheses(
                    s,
                    campaign=campaign,
                    status=status,
                    source=source,
                    min_score=min_score,
                    max_score=max_score,
                    sort=sort,
                    descending=desc,
                    limit=limit,
                ),
            )
        except QueryError as exc:
            _fail(f"`--{exc.option.replace('_', '-')}`: {exc.problem}")
    if as_json:
        _print_json([r.to_dict() for r in rows])
        return
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
    _console().print(table)


@hypotheses_app.command("show")
def hypotheses_show(
    hypothesis: Annotated[
        str,
        typer.Argument(
            metavar="HYPOTHESIS",
            help="Hypothesis id or unique id prefix.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one hypothesis: expression (also LaTeX), constants ± uncertainties, fits, lineage."""
    with _errors():
        from lawloop.agent import hypothesis_detail, hypothesis_text  # noqa: PLC0415

        view = _with_store(db, lambda s: hypothesis_detail(s, hypothesis))
    if as_json:
        _print_json(view)
        return
    _console().print(
        hypothesis_text(view), end="", markup=False, highlight=False, soft_wrap=True
    )


WHY_FORMATS = ("text", "json", "dot")


@app.command("why")
def why(
    hypothesis: Annotated[
        str,
        typer.Argument(
            metavar="HYPOTHESIS",
            help="Hypothesis id or unique id prefix.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="`text` (default), `json` (as --json) or `dot` (Graphviz: `| dot -Tsvg`).",
        ),
    ] = "text",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Explain a hypothesis's status: origin, data, fits, rivals and the deciding decision."""
    if fmt not in WHY_FORMATS:
        import difflib  # noqa: PLC0415

        close = difflib.get_close_matches(fmt, WHY_FORMATS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        _fail(f"Unknown format `{fmt}`; expected `text`, `json` or `dot`.{hint}")
    if as_json and fmt == "dot":
        _fail("`--json` and `--format dot` contradict each other; give one of them.")
    with _errors():
        from lawloop.agent import explain_hypothesis, why_dot, why_text  # noqa: PLC0415
        from lawloop.storage import NotFoundError  # noqa: PLC0415

        try:
            doc = _with_store(db, lambda s: explain_hypothesis(s, hypothesis))
        except NotFoundError as exc:
            _fail(f"{exc} Run `python run.py hypotheses list` to see the ids.")
    if as_json or fmt == "json":
        _print_json(doc)
    elif fmt == "dot":
        sys.stdout.write(why_dot(doc))
    else:
        _console().print(
            why_text(doc), end="", markup=False, highlight=False, soft_wrap=True
        )


@backends_app.command("list")
def backends_list(as_json: JsonOption = False) -> None:
    """List registered and installed experiment backends."""
    with _errors():
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
        _print_json(rows)
        return
    from rich.markup import escape  # noqa: PLC0415

    console = _console()
    for r in rows:
        console.print(f"{r['id']}  [dim]{r['entry_point']}[/]", highlight=False)
        if r["description"]:
            console.print(f"    {escape(r['description'])}", highlight=False)


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
    option: Annotated[
        list[str] | None, typer.Option(help="Backend option KEY=VALUE (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a backend against the backend contract (`experiments.check_backend`).

    Exit code 0 when every check passes or is skipped, 1 when there are
    violations (or the id is unknown).
    """
    if large_batch < 1:
        _fail(f"`--large-batch` must be at least 1; received {large_batch}.")
    if seed < 0:
        _fail(f"`--seed` must be >= 0; received {seed}.")
    with _errors():
        report = _check_report(backend, _parse_options(option or []), large_batch, seed)
    doc = {
        "backend": report.backend_id or backend,
        "ok": report.ok,
        "passed": list(report.passed),
        "skipped": list(report.skipped),
        "violations": list(report.violations),
    }
    if as_json:
        _print_json(doc)
    else:
        _print_check(doc)
    if not report.ok:
        _fail(
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
    from rich.markup import escape  # noqa: PLC0415

    console = _console()
    console.print(
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
            console.print(
                f"  [{style}]{label}[/] {escape(item)}", highlight=False, soft_wrap=True
            )
    console.print("[bold green]ok[/]" if doc["ok"] else "[bold red]violations found[/]")


@bench_app.command("feynman")
def bench_feynman(
    problems: Annotated[
        Path,
        typer.Option(
            help="Problems file (format of benchmarks/problems/feynman_dev.json; see benchmarks/problems/README.md)."
        ),
    ],
    ids: Annotated[
        str | None, typer.Option(help="Comma-separated problem ids (default: all).")
    ] = None,
    first: Annotated[
        int | None, typer.Option(help="Only the first N problems of the file.")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help=(
                "Comma-separated engines: `lawloop` (the campaign), `operon` and "
                "`gplearn` (one search on the same number of random inputs)."
            )
        ),
    ] = "lawloop",
    noise: Annotated[float, typer.Option(help="Gaussian noise, RMS units.")] = 0.0,
    time_limit: Annotated[
        float, typer.Option(help="Seconds per problem and engine.")
    ] = 300.0,
    wall_limit: Annotated[
        float | None,
        typer.Option(
            help=(
                "Seconds after which a campaign's process is killed and its row "
                "marked `killed` (default: twice --time-limit plus 30)."
            )
        ),
    ] = None,
    max_measurements: Annotated[
        int, typer.Option(help="Measurements per problem and engine.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Campaign seed.")] = 0,
    tolerance: Annotated[
        float | None,
        typer.Option(help="Relative precision laws must hold to (default 1e-3)."),
    ] = None,
    claim_precision: Annotated[
        float | None,
        typer.Option(
            help=(
                "Precision an accepted law must be shown to hold to, relative "
                "(default 1e-3); a campaign that cannot show it ends 'consistent'."
            )
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Also write the rows as one JSON list to this file (replaced), "
                "rewritten after each row; read by benchmarks/feynman_table.py."
            )
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run each problem with each engine on core/Formula-v0 and report what was recovered."""
    done: list[dict[str, Any]] = []

    def save(row: dict[str, Any]) -> None:
        # The whole list each time, replaced atomically: a bench of hours that
        # stops part-way leaves a valid file holding every finished row.
        done.append(row)
        if out is not None:
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(json.dumps(done, indent=2, default=str) + "\n")
            tmp.replace(out)

    with _errors():
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
            db_url=_db(db, new_ok=True),
            on_row=save,
            wall_limit=wall_limit,
        )
    if as_json:
        _print_json(rows)
        return
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
    console = _console()
    console.print(table)
    for name in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == name]
        console.print(
            f"{name}: recovered {sum(r['recovered'] for r in mine)}/{len(mine)}"
        )


@db_app.command("check")
def db_check(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check a whole database, read-only: references, artifact hashes, lineage, values.

    Never writes (SQLite is opened with `mode=ro`) and never upgrades the
    schema. Exit code 0 when clean, 1 when problems are found (or the
    database cannot be read).
    """
    with _errors():
        from lawloop.storage import check_database, check_openable  # noqa: PLC0415

        url = _db(db)
        # A file that is not a database, or a server that cannot be reached:
        # one line saying so, rather than a check that fails on its first read.
        check_openable(url)
        report = check_database(url)
    doc = report.to_dict()
    if as_json:
        _print_json(doc)
    else:
        from rich.markup import escape  # noqa: PLC0415

        console = _console()
        rows = ", ".join(f"{n} {t}" for t, n in doc["rows"].items())
        console.print(
            f"check [bold]{escape(doc['database'])}[/] (revision {doc['revision']}): {rows}",
            highlight=False,
            soft_wrap=True,
        )
        for p in report.problems:
            # One line per problem, unwrapped, so that it can be searched.
            console.print(
                f"  [bold red]{p.check}[/] {escape(str(p))}",
                highlight=False,
                soft_wrap=True,
            )
        console.print(
            "[bold green]ok[/]" if report.ok else "[bold red]problems found[/]"
        )
    if not report.ok:
        _fail(f"the database has {len(report.problems)} integrity problem(s).")


EXPORT_FORMATS = ("prov-json", "ro-crate")


@app.command("export")
def export(
    campaign: Annotated[
        str,
        typer.Argument(
            help="Campaign id, unique id prefix, or name.", show_default=False
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="`prov-json` (one W3C PROV-JSON file) or `ro-crate` (an RO-Crate 1.1 directory with the data files).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="prov-json: the file to write (`-` for stdout); ro-crate: a new or empty directory.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a campaign's provenance for sharing and archiving (W3C PROV, RO-Crate)."""
    if fmt not in EXPORT_FORMATS:
        import difflib  # noqa: PLC0415

        close = difflib.get_close_matches(fmt, EXPORT_FORMATS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        _fail(
            f"Unknown export format `{fmt}`; expected `prov-json` or `ro-crate`.{hint}"
        )
    to_stdout = fmt == "prov-json" and str(out) == "-"

    def write(store: Any) -> dict[str, Any]:
        from lawloop.storage import export_prov, export_ro_crate  # noqa: PLC0415

        cid = store.get_campaign(campaign).id
        done: dict[str, Any] = {"campaign_id": cid, "format": fmt, "out": str(out)}
        if fmt == "ro-crate":
            export_ro_crate(store, cid, out)
            done["files"] = sum(1 for p in out.rglob("*") if p.is_file())
            return done
        doc = export_prov(store, cid)
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
        done.update((k, len(doc.get(k, {}))) for k in ("entity", "activity", "agent"))
        return done

    with _errors():
        try:
            done = _with_store(db, write)
        except FileExistsError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot write `{out}`: {exc}")
    if to_stdout:
        return
    if as_json:
        _print_json(done)
        return
    counts = ", ".join(
        f"{done[k]} {k}" for k in ("entity", "activity", "agent", "files") if k in done
    )
    _console().print(
        f"wrote {fmt} of campaign [bold]{done['campaign_id']}[/] to {out} ({counts})",
        highlight=False,
    )


@app.command("report")
def report(
    campaign: Annotated[
        str,
        typer.Argument(
            help="Campaign id, unique id prefix, or name.", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="The HTML file to write (replaced if it exists).", show_default=False
        ),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write one self-contained HTML report of a campaign (figures embedded, no network).

    Shows the accepted law with its constants and uncertainties, data against
    the best laws, residuals, the complexity-error front, the hypothesis
    timeline and budget use. The database is only read.
    """
    with _errors():
        from lawloop.agent import render_report  # noqa: PLC0415
        from lawloop.storage import open_read_only  # noqa: PLC0415

        with open_read_only(_db(db)) as store:
            cid = store.get_campaign(campaign).id
            text = render_report(store, cid)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write `{out}`: {exc}")
    size = len(text.encode("utf-8"))
    done = {"campaign_id": cid, "out": str(out), "bytes": size}
    if as_json:
        _print_json(done)
    else:
        _console().print(
            f"wrote the report of campaign [bold]{cid}[/] to {out} "
            f"({size // 1024} KiB)",
            highlight=False,
        )


@app.command("serve")
def serve(
    db: DbOption = None,
    port: Annotated[
        int, typer.Option(help="TCP port (0 picks a free one and prints it).")
    ] = 8765,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; the default serves this machine only. The dashboard has no login."
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve a local, read-only web dashboard of the campaigns (Ctrl-C stops it).

    Lists campaigns, their hypothesis logs (sortable, filterable), each
    hypothesis with its plot and lineage, and the live progress of running
    campaigns. Only GET requests are served and the database is never written.
    """
    if not 0 <= port <= 65535:
        _fail(f"`--port` must be between 0 and 65535; received {port}.")
    with _errors():
        from lawloop.agent import make_dashboard_server  # noqa: PLC0415

        try:
            server = make_dashboard_server(_db(db), host=host, port=port)
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port}: {exc}")
    url = f"http://{server.host}:{server.port}/"
    if ":" in server.host:
        url = f"http://[{server.host}]:{server.port}/"
    console = _console()
    console.print(
        f"serving the lawloop dashboard at {url} (read-only; Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            "[yellow]warning:[/] the dashboard has no login; anyone who can reach "
            f"{host} can read the campaigns.",
            highlight=False,
        )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()


REPLAY_SHOWN = 100  # mismatches printed as text; --json lists them all


@app.command("replay")
def replay(
    campaign: Annotated[
        str,
        typer.Argument(
            help="Campaign id, unique id prefix, or name.", show_default=False
        ),
    ],
    iteration: Annotated[
        int | None,
        typer.Option(
            help="Compare only this iteration (iterations up to it are re-executed)."
        ),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Keep the replay database in this directory (`replay.sqlite`) to inspect with `--db`."
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Simulate on this device, not the recorded one.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-execute a campaign's recorded iterations offline and compare them with the record.

    Uses the recorded config, seeds and planner replies (no network), writes
    into a separate database (the recorded one is only read) and lists every
    difference. Exit code 0 when the replay matches, 1 when it does not.
    """
    with _errors():
        from lawloop.agent import replay as replay_campaign  # noqa: PLC0415

        try:
            report = replay_campaign(
                _db(db), campaign, iteration=iteration, keep=keep, device=device
            )
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                raise
            _fail(f"replay failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
    if as_json:
        _print_json(report.to_dict())
    else:
        from rich.markup import escape  # noqa: PLC0415

        console = _console()
        its = ", ".join(map(str, report.iterations))
        console.print(
            f"replay of campaign [bold]{report.campaign_id}[/] ({escape(report.name)}): "
            f"iteration(s) {its}, {report.compared_rows} rows compared",
            highlight=False,
            soft_wrap=True,
        )
        for note in report.notes:
            console.print(
                f"  [dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True
            )
        for m in report.mismatches[:REPLAY_SHOWN]:
            console.print(f"  {escape(str(m))}", highlight=False, soft_wrap=True)
        if len(report.mismatches) > REPLAY_SHOWN:
            console.print(
                f"  ... and {len(report.mismatches) - REPLAY_SHOWN} more (see `--json`)"
            )
        if report.replay_db:
            console.print(f"  replay kept in {report.replay_db}", highlight=False)
        console.print(
            "[bold green]the replay matches the record[/]"
            if report.ok
            else "[bold red]the replay differs from the record[/]"
        )
    if not report.ok:
        first = report.first_iteration
        since = f", first in iteration {first}" if first is not None else ""
        _fail(f"{len(report.mismatches)} mismatch(es){since}.")


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
