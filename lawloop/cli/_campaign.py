"""`lawloop campaign ...`: launch, resume, stop and inspect discovery campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lawloop.cli._common import (
    EXIT_OUTCOME,
    BackendOptions,
    DbOption,
    JsonOption,
    ProgressOption,
    console,
    db_url,
    errors,
    fail,
    failing_as,
    parse_options,
    print_json,
    progress_mode,
    with_store,
)

campaign_app = typer.Typer(
    help="Launch, resume and inspect discovery campaigns.", no_args_is_help=True
)

BackendOption = Annotated[
    str, typer.Option(help="Backend id (`core/Pendulum-v0`) or `module:Class`.")
]
PlannerOption = Annotated[
    str | None, typer.Option(help="`offline` (default; no network) or `llm`.")
]
ModelOption = Annotated[
    str | None, typer.Option(help="Model name for `--planner llm`.")
]
NoiseOption = Annotated[
    float | None,
    typer.Option(
        help="Noise level: Gaussian in RMS units of the clean observable, or relative with --noise-model heteroscedastic."
    ),
]
NoiseModelOption = Annotated[
    str | None,
    typer.Option(
        help="gaussian, heteroscedastic or poisson (counts drawn from the value)."
    ),
]
DesignOption = Annotated[
    str | None,
    typer.Option(help="active (default: disagreement, repeats, probes) or random."),
]
ReplayFromOption = Annotated[
    str | None,
    typer.Option(
        help="With `--planner llm`: reuse this campaign's recorded LLM replies (no network)."
    ),
]
ConfigOption = Annotated[
    Path | None, typer.Option(help="TOML file of campaign settings (flags win).")
]


@campaign_app.command("start")
def campaign_start(
    backend: BackendOption,
    planner: PlannerOption = None,
    model: ModelOption = None,
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
    noise: NoiseOption = None,
    noise_model: NoiseModelOption = None,
    design: DesignOption = None,
    option: BackendOptions = None,
    name: Annotated[str | None, typer.Option(help="Campaign name (unique).")] = None,
    replay_from: ReplayFromOption = None,
    config: ConfigOption = None,
    progress: ProgressOption = "auto",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Launch a discovery campaign and run it to the end.

    Ctrl-C or SIGTERM stop it after the current step (exit 130; a second
    one stops at once); `campaign resume` continues it.
    """
    mode = progress_mode(progress)
    with errors():
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
            "backend_options": parse_options(option or []) or None,
        }
        cfg = load_config(config, overrides)
        summary = failing_as(
            "campaign",
            lambda: start_campaign(
                cfg, db_url(db, new_ok=True), progress=mode, handle_signals=True
            ),
        )
    print_json(summary) if as_json else print_summary(summary)
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
    mode = progress_mode(progress)
    with errors():
        from lawloop.agent import resume_campaign  # noqa: PLC0415

        summary = failing_as(
            "campaign",
            lambda: resume_campaign(
                campaign, db_url(db), progress=mode, handle_signals=True
            ),
        )
    print_json(summary) if as_json else print_summary(summary)
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
    with errors():
        from lawloop.agent import stop_campaign  # noqa: PLC0415

        done = stop_campaign(db_url(db), campaign, wait=wait, timeout_s=timeout)
    if as_json:
        print_json(done)
    else:
        holder = done["holder"]
        state = (
            f"stopped ({done['status']})"
            if done["stopped"]
            else "asked to stop after its current step"
        )
        console().print(
            f"campaign [bold]{done['campaign_id']}[/] (pid {holder['pid']} on "
            f"{holder['host']}): {state}",
            highlight=False,
        )
    if wait and not done["stopped"]:
        fail(
            f"campaign `{done['campaign_id']}` still runs after {timeout:g} s; "
            "the stop request stands."
        )


@campaign_app.command("status")
def campaign_status(
    campaign: str, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Show a campaign's status, budget use and best law."""
    with errors():
        from lawloop.agent import campaign_summary  # noqa: PLC0415

        summary = with_store(
            db, lambda s: campaign_summary(s, s.get_campaign(campaign).id)
        )
    print_json(summary) if as_json else print_summary(summary)


@campaign_app.command("list")
def campaign_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List campaigns, oldest first."""
    with errors():
        from lawloop.agent import campaign_summary  # noqa: PLC0415

        rows = with_store(
            db, lambda s: [campaign_summary(s, c.id) for c in s.list_campaigns()]
        )
    if as_json:
        print_json(rows)
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
    console().print(table)


def _exit_with_outcome(summary: dict[str, Any]) -> None:
    """Exit 3 (consistent) or 4 (not found) when a finished campaign accepted no law."""
    code = EXIT_OUTCOME.get(summary.get("outcome") or "", 0)
    if code:
        raise typer.Exit(code)


def print_summary(summary: dict[str, Any]) -> None:
    """A campaign summary as text: outcome, budget, process and best law."""
    out = console()
    from lawloop.agent import OUTCOMES  # noqa: PLC0415

    outcome = summary.get("outcome")
    out.print(
        f"campaign [bold]{summary['campaign_id']}[/] ({summary['name']}): {summary['status']}"
        + (f", {OUTCOMES[outcome]}" if outcome else "")
    )
    out.print(
        f"  iterations {summary['iterations']}, measurements {summary['measurements']}"
    )
    if summary.get("stop_reason"):
        out.print(f"  stopped: {summary['stop_reason']}")
    if summary.get("stop_reason") == "consistent":
        out.print(
            "  the data are consistent with the best law but did not single it out: "
            + _why_not_singled_out(summary),
            highlight=False,
        )
    _print_run_state(out, summary)
    best = summary.get("best")
    if best:
        _print_best(out, best)


def _why_not_singled_out(summary: dict[str, Any]) -> str:
    """Why a `consistent` campaign accepted no law: rivals, no fresh data, or precision."""
    from lawloop.agent import scale_words  # noqa: PLC0415

    rivals = summary.get("rivals") or []
    attack = (summary.get("best") or {}).get("attack") or {}
    if rivals:
        return (
            f"{len(rivals)} rival law(s) fit as well ("
            + ", ".join(r[:8] for r in rivals[:5])
            + (", ..." if len(rivals) > 5 else "")
            + "; `hypotheses show` for each)"
        )
    if not attack:
        return "it was not confirmed on fresh data"
    return (
        f"the attack bounded a correction only to "
        f"{attack.get('precision') or float('inf'):.2g} "
        f"({scale_words(attack.get('reference'))}, 95 %), "
        f"short of the {attack.get('goal'):g} an accepted law must hold to"
    )


def _print_best(out: Any, best: dict[str, Any]) -> None:
    """The best law, what it was shown to hold to, and its fitted constants."""
    out.print(
        f"  best law ({best.get('status')}): [bold green]{best['expression']}[/]",
        highlight=False,
    )
    if best.get("holds_to"):
        # The claim's stated power: what the attack showed (or reached).
        verb = "" if best.get("status") == "accepted" else "so far: "
        out.print(f"  {verb}{best['holds_to']}", highlight=False)
    for name, claim in (best.get("constants") or {}).items():
        # Each constant as fitted, with its interval, and whether it was named.
        named = claim["closed_form"] or "as fitted"
        out.print(
            f"  {name} = {claim['value']:.8g} ± {claim['stderr']:.2g} "
            f"(95 %: {claim['lower']:.8g} to {claim['upper']:.8g}): {named}",
            highlight=False,
        )
    out.print(f"  hypothesis {best['hypothesis_id']}, score (BIC) {best.get('score')}")


def _print_run_state(out: Any, summary: dict[str, Any]) -> None:
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
        out.print(f"  budget used: {', '.join(parts)}", highlight=False)
    process = summary.get("process") or {}
    if process.get("running"):
        stop = " (stop requested)" if process.get("stop_requested_at") else ""
        out.print(
            f"  running in pid {process['pid']} on {escape(str(process['host']))}, "
            f"heartbeat {process['heartbeat_at']}{stop}",
            highlight=False,
        )
    elif summary.get("status") == "interrupted" and process.get("heartbeat_at"):
        out.print(
            f"  last heartbeat {process['heartbeat_at']}; continue with "
            f"`python run.py campaign resume {summary['campaign_id'][:8]}`",
            highlight=False,
        )
    if summary.get("log_file"):
        out.print(f"  log: {escape(summary['log_file'])}", highlight=False)
