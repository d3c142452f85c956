"""Markdown tables of `bench feynman` results: recovery per engine, split and noise level.

Run: `.venv/bin/python benchmarks/feynman_table.py RESULTS.json [MORE.json ...]`
on the row lists that `python run.py bench feynman --out FILE` (or `--json`)
writes, typically one file per noise level. Prints, for each noise level, a
summary table (rows: engines; columns: recovered/total and percent per
split, median seconds and median measurements to recovery over the
recovered problems, and, where the rows have `overshoot_s`, the median and
largest overshoot of the time limit over all problems) and a per-problem
table. Standard library only, so it runs anywhere the JSON files are.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["load_rows", "markdown_tables"]

SPLITS = ("easy", "medium", "hard")
"""The splits of `benchmarks/problems/feynman_dev.json`, in column order."""

_MISSING = "-"


def load_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Read and concatenate the row lists in `paths`, in order.

    Raises:
        ValueError: A file does not hold a JSON list of objects.
    """
    rows: list[dict[str, Any]] = []
    for path in paths:
        doc = json.loads(Path(path).read_text())
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            msg = f"`{path}` must hold a JSON list of rows (as `bench feynman --out` writes)."
            raise ValueError(msg)
        rows.extend(doc)
    return rows


def _recovery(rows: Sequence[Mapping[str, Any]]) -> str:
    """`k/n (p%)`, or a dash when there are no problems."""
    if not rows:
        return _MISSING
    k = sum(bool(r["recovered"]) for r in rows)
    return f"{k}/{len(rows)} ({100 * k / len(rows):.0f}%)"


def _median(rows: Sequence[Mapping[str, Any]], key: str, digits: int) -> str:
    """Median of `key` over the recovered rows, to `digits` decimals, or a dash."""
    values = [r[key] for r in rows if r["recovered"] and r.get(key) is not None]
    return f"{statistics.median(values):.{digits}f}" if values else _MISSING


def _overshoot(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Median and largest `overshoot_s` (seconds past the time limit) over all rows."""
    values = [float(r["overshoot_s"]) for r in rows if r.get("overshoot_s") is not None]
    if not values:
        return [_MISSING, _MISSING]
    return [f"{statistics.median(values):+.1f}", f"{max(values):+.1f}"]


def _ending(row: Mapping[str, Any]) -> str:
    """How a campaign ended: `accepted`, `consistent`, `stopped` (budget or time) or `failed`."""
    reason = row.get("stop_reason")
    if reason in ("accepted", "consistent"):
        return str(reason)
    return "failed" if row.get("status") in ("failed", "killed") else "stopped"


def _endings(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Trust: the campaigns that ended accepted (wrong: not the truth), consistent, stopped.

    An accepted law that is not the truth is the one outcome a physicist
    cannot see from the record; the target is at most 1 in 20. An accepted
    law states a precision ("holds to ..."); where the rows say whether the
    law keeps it against the truth (`claim_kept`), the broken ones count.
    """
    kinds = [_ending(r) for r in rows]
    accepted = [r for r, k in zip(rows, kinds, strict=True) if k == "accepted"]
    wrong = sum(not r["recovered"] for r in accepted)
    consistent = [r for r, k in zip(rows, kinds, strict=True) if k == "consistent"]
    share = f" ({100 * wrong / len(accepted):.0f}%)" if accepted else ""
    checked = [r for r in accepted if r.get("claim_kept") is not None]
    broken = sum(not r["claim_kept"] for r in checked)
    return [
        str(len(accepted)),
        f"{wrong}{share}",
        f"{broken} of {len(checked)}" if checked else _MISSING,
        f"{len(consistent)} ({sum(bool(r['recovered']) for r in consistent)} the truth)",
        str(kinds.count("stopped")),
        str(kinds.count("failed")),
    ]


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    """A markdown table: header, rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _noise_section(rows: Sequence[Mapping[str, Any]], noise: float) -> list[str]:
    """The summary and per-problem tables of one noise level."""
    engines = list(dict.fromkeys(str(r["engine"]) for r in rows))
    extra = sorted({r["split"] for r in rows if r.get("split")} - set(SPLITS))
    splits = [*SPLITS, *extra]
    timed = any(r.get("overshoot_s") is not None for r in rows)
    summary = []
    for engine in engines:
        mine = [r for r in rows if r["engine"] == engine]
        summary.append(
            [
                engine,
                *(_recovery([r for r in mine if r.get("split") == s]) for s in splits),
                _recovery(mine),
                _median(mine, "seconds", 1),
                _median(mine, "measurements", 0),
                *(_overshoot(mine) if timed else []),
            ]
        )
    header = [
        "engine",
        *splits,
        "all",
        "median s to recovery",
        "median measurements to recovery",
        *(["median overshoot s", "max overshoot s"] if timed else []),
    ]
    campaigns = [r for r in rows if r.get("campaign_id") or r.get("stop_reason")]
    trust = (
        [
            "",
            *_table(
                [
                    "accepted",
                    "accepted, not the truth",
                    "accepted, stated precision broken",
                    "consistent",
                    "stopped",
                    "failed",
                ],
                [_endings(campaigns)],
            ),
        ]
        if campaigns
        else []
    )
    cells = {(r["id"], r["engine"]): r for r in rows}
    problems = list(dict.fromkeys(str(r["id"]) for r in rows))
    split_of = {r["id"]: r.get("split") for r in rows}
    per_problem = []
    for pid in problems:
        line = [pid, str(split_of[pid] or _MISSING)]
        for engine in engines:
            row = cells.get((pid, engine))
            ended = (
                f" ({_ending(row)})"
                if row is not None
                and (row.get("campaign_id") or row.get("stop_reason"))
                else ""
            )
            line.append(
                _MISSING
                if row is None
                else f"{'yes' if row['recovered'] else 'no'} {row['seconds']:.1f} s{ended}"
            )
        per_problem.append(line)
    return [
        f"## Noise {noise:g}",
        "",
        *_table(header, summary),
        *trust,
        "",
        *_table(["id", "split", *engines], per_problem),
        "",
        *_consistent_rivals(campaigns),
    ]


def _consistent_rivals(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The "consistent" endings with the rivals their budget could not exclude (rows that name them)."""
    named = [r for r in rows if _ending(r) == "consistent" and "rivals" in r]
    if not named:
        return []
    lines = ["Consistent endings, their leader and the rivals left:", ""]
    for r in named:
        rivals = list(r.get("rivals") or [])
        shown = ", ".join(f"`{x}`" for x in rivals[:3]) + (
            f" and {len(rivals) - 3} more" if len(rivals) > 3 else ""
        )
        truth = "the truth" if r["recovered"] else "not the truth"
        left = (
            f"{len(rivals)} rival(s) left: {shown}"
            if rivals
            else "no rival left; the attack's precision fell short"
        )
        lines.append(f"- {r['id']}: `{r.get('expression')}` ({truth}); {left}")
    return [*lines, ""]


def markdown_tables(rows: Iterable[Mapping[str, Any]]) -> str:
    """Markdown tables of bench rows, one section per noise level.

    A row needs `id`, `engine`, `noise`, `recovered` and `seconds`; `split`
    and `measurements` may be missing or null. When several rows share a
    noise level, engine and problem (the same bench run twice), the last
    one counts.

    Args:
        rows: Rows as `bench feynman --out` or `--json` writes them.

    Returns:
        The markdown text, sections in increasing noise.
    """
    latest: dict[tuple[float, str, str], Mapping[str, Any]] = {}
    for r in rows:
        latest[(float(r["noise"]), str(r["engine"]), str(r["id"]))] = r
    by_noise: dict[float, list[Mapping[str, Any]]] = {}
    for (noise, _, _), r in latest.items():
        by_noise.setdefault(noise, []).append(r)
    lines: list[str] = []
    for noise in sorted(by_noise):
        lines += _noise_section(by_noise[noise], noise)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the tables of the given result files; 1 when a file is unreadable."""
    parser = argparse.ArgumentParser(
        description="Markdown tables of `bench feynman` results."
    )
    parser.add_argument("results", nargs="+", type=Path, help="row lists (JSON)")
    args = parser.parse_args(argv)
    try:
        rows = load_rows(args.results)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(markdown_tables(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
