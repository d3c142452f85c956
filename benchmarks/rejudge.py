"""Judge `bench feynman` rows again, by today's recovery rule, without rerunning a campaign.

Run: `.venv/bin/python benchmarks/rejudge.py ROWS.json --problems P.json
[--db URL] [--out NEW.json]`. For every campaign row that carries its law
with free constants and their 95 % intervals (`law`, `constants`; rows
written since the interval rule), `recovered`, `method` and `detail` are
set again by `judge_recovery` (the equivalence rule, then the interval
rule); with `--db` (the database the bench wrote), the rivals of a
"consistent" ending are filled in by their laws where a row lacks them,
and each law's stated precision is checked against its distance from the
truth on fresh points (`claim_kept`).
Prints how many rows changed and writes the rows (to ROWS.json itself
without `--out`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lawloop.agent import campaign_summary  # noqa: E402 - after the path is set
from lawloop.agent.audit._recovery import claim_check, judge_recovery  # noqa: E402
from lawloop.storage import NotFoundError, open_store  # noqa: E402


def rejudge(
    rows: list[dict[str, Any]],
    problems: Path,
    seed: int = 0,
    db_url: str | None = None,
) -> list[tuple[str, bool, bool]]:
    """Set `recovered`, `method`, `detail` of the rows with a law again; (id, before, after) per change.

    With `db_url`, also the stated precision of each campaign's law and
    whether the law keeps it against the truth (`claim`, `claim_error`,
    `claim_kept`), from the campaign's record.
    """
    changed = []
    store = open_store(db_url) if db_url else None
    try:
        for row in rows:
            if row.get("engine") != "lawloop" or not row.get("law"):
                continue
            options = {"problem_file": str(problems.resolve()), "problem_id": row["id"]}
            verdict = judge_recovery(
                "core/Formula-v0",
                options,
                row.get("expression"),
                seed,
                law=(row["law"], row.get("constants") or {}),
            )
            before = bool(row["recovered"])
            row.update(
                recovered=bool(verdict["recovered"]),
                method=verdict["method"],
                detail=verdict["detail"],
            )
            if store is not None and row.get("campaign_id"):
                try:
                    summary = campaign_summary(store, row["campaign_id"])
                except NotFoundError:  # the row came from another database
                    summary = {}
                best = summary.get("best") or {}
                if best:
                    row.update(claim_check(best, verdict))
            if before != row["recovered"]:
                changed.append((str(row["id"]), before, bool(row["recovered"])))
    finally:
        if store is not None:
            store.close()
    return changed


def fill_rivals(rows: list[dict[str, Any]], db_url: str) -> int:
    """Fill `rivals` (their laws) of "consistent" rows from the bench's database; how many were filled."""
    filled = 0
    with open_store(db_url) as store:
        for row in rows:
            if row.get("stop_reason") != "consistent" or "rivals" in row:
                continue
            if not row.get("campaign_id"):
                continue
            try:
                summary = campaign_summary(store, row["campaign_id"])
            except NotFoundError:  # the row came from another database
                continue
            ids = summary.get("rivals") or []
            row["rivals"] = [store.get_hypothesis(h).expression for h in ids]
            filled += 1
    return filled


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: rejudge a row file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path, help="a row list (JSON) from bench feynman")
    parser.add_argument("--problems", type=Path, required=True, help="the problem file")
    parser.add_argument(
        "--db", help="the bench's database URL: rivals and stated precisions"
    )
    parser.add_argument("--seed", type=int, default=0, help="the bench's seed")
    parser.add_argument("--out", type=Path, help="where to write (default: in place)")
    args = parser.parse_args(argv)
    rows = json.loads(args.rows.read_text())
    changed = rejudge(rows, args.problems, args.seed, args.db)
    filled = fill_rivals(rows, args.db) if args.db else 0
    for pid, before, after in changed:
        print(f"{pid}: recovered {before} -> {after}")
    print(f"{len(changed)} verdicts changed; rivals filled in {filled} rows")
    (args.out or args.rows).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
