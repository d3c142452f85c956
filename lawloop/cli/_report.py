"""Reading a campaign back: `why`, `export`, `report`, `serve` and `replay`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lawloop.cli._common import (
    CampaignArgument,
    DbOption,
    HypothesisArgument,
    JsonOption,
    close_match_hint,
    console,
    db_url,
    errors,
    fail,
    failing_as,
    print_json,
    with_store,
)

if TYPE_CHECKING:
    from lawloop.agent import ReplayReport

WHY_FORMATS = ("text", "json", "dot")
EXPORT_FORMATS = ("prov-json", "ro-crate")
REPLAY_SHOWN = 100  # mismatches printed as text; --json lists them all


def why(
    hypothesis: HypothesisArgument,
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
        hint = close_match_hint(fmt, WHY_FORMATS)
        fail(f"Unknown format `{fmt}`; expected `text`, `json` or `dot`.{hint}")
    if as_json and fmt == "dot":
        fail("`--json` and `--format dot` contradict each other; give one of them.")
    with errors():
        from lawloop.agent import explain_hypothesis, why_dot, why_text  # noqa: PLC0415
        from lawloop.storage import NotFoundError  # noqa: PLC0415

        try:
            doc = with_store(db, lambda s: explain_hypothesis(s, hypothesis))
        except NotFoundError as exc:
            fail(f"{exc} Run `python run.py hypotheses list` to see the ids.")
    if as_json or fmt == "json":
        print_json(doc)
    elif fmt == "dot":
        sys.stdout.write(why_dot(doc))
    else:
        console().print(
            why_text(doc), end="", markup=False, highlight=False, soft_wrap=True
        )


def export(
    campaign: CampaignArgument,
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
        hint = close_match_hint(fmt, EXPORT_FORMATS)
        fail(
            f"Unknown export format `{fmt}`; expected `prov-json` or `ro-crate`.{hint}"
        )
    to_stdout = fmt == "prov-json" and str(out) == "-"
    with errors():
        try:
            done = with_store(
                db, lambda store: _write_export(store, campaign, fmt, out, to_stdout)
            )
        except FileExistsError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write `{out}`: {exc}")
    if to_stdout:
        return
    if as_json:
        print_json(done)
        return
    counts = ", ".join(
        f"{done[k]} {k}" for k in ("entity", "activity", "agent", "files") if k in done
    )
    console().print(
        f"wrote {fmt} of campaign [bold]{done['campaign_id']}[/] to {out} ({counts})",
        highlight=False,
    )


def _write_export(
    store: Any, campaign: str, fmt: str, out: Path, to_stdout: bool
) -> dict[str, Any]:
    """Write the export; what was written: the campaign, and counts of records or files."""
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


def report(
    campaign: CampaignArgument,
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
    with errors():
        from lawloop.agent import render_report  # noqa: PLC0415
        from lawloop.storage import open_read_only  # noqa: PLC0415

        with open_read_only(db_url(db)) as store:
            cid = store.get_campaign(campaign).id
            text = render_report(store, cid)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write `{out}`: {exc}")
    size = len(text.encode("utf-8"))
    done = {"campaign_id": cid, "out": str(out), "bytes": size}
    if as_json:
        print_json(done)
    else:
        console().print(
            f"wrote the report of campaign [bold]{cid}[/] to {out} "
            f"({size // 1024} KiB)",
            highlight=False,
        )


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
        fail(f"`--port` must be between 0 and 65535; received {port}.")
    with errors():
        from lawloop.agent import make_dashboard_server  # noqa: PLC0415

        try:
            server = make_dashboard_server(db_url(db), host=host, port=port)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc}")
    url = f"http://{server.host}:{server.port}/"
    if ":" in server.host:
        url = f"http://[{server.host}]:{server.port}/"
    out = console()
    out.print(
        f"serving the lawloop dashboard at {url} (read-only; Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.print(
            "[yellow]warning:[/] the dashboard has no login; anyone who can reach "
            f"{host} can read the campaigns.",
            highlight=False,
        )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()


def replay(
    campaign: CampaignArgument,
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
    with errors():
        from lawloop.agent import replay as replay_campaign  # noqa: PLC0415

        done = failing_as(
            "replay",
            lambda: replay_campaign(
                db_url(db), campaign, iteration=iteration, keep=keep, device=device
            ),
        )
    if as_json:
        print_json(done.to_dict())
    else:
        _print_replay(done)
    if not done.ok:
        first = done.first_iteration
        since = f", first in iteration {first}" if first is not None else ""
        fail(f"{len(done.mismatches)} mismatch(es){since}.")


def _print_replay(done: ReplayReport) -> None:
    """The replay as text: what was compared, notes, the first mismatches, the verdict."""
    from rich.markup import escape  # noqa: PLC0415

    out = console()
    its = ", ".join(map(str, done.iterations))
    out.print(
        f"replay of campaign [bold]{done.campaign_id}[/] ({escape(done.name)}): "
        f"iteration(s) {its}, {done.compared_rows} rows compared",
        highlight=False,
        soft_wrap=True,
    )
    for note in done.notes:
        out.print(f"  [dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True)
    for m in done.mismatches[:REPLAY_SHOWN]:
        out.print(f"  {escape(str(m))}", highlight=False, soft_wrap=True)
    if len(done.mismatches) > REPLAY_SHOWN:
        out.print(
            f"  ... and {len(done.mismatches) - REPLAY_SHOWN} more (see `--json`)"
        )
    if done.replay_db:
        out.print(f"  replay kept in {done.replay_db}", highlight=False)
    out.print(
        "[bold green]the replay matches the record[/]"
        if done.ok
        else "[bold red]the replay differs from the record[/]"
    )
