"""Measurements needed to recover a law: active design against random design.

Each problem runs twice as a full campaign with the same seed and budget,
once with lawloop's designs (a core start, disagreement, repeats, probes)
and once with every design drawn at random over the declared ranges
(`CampaignConfig.design = "random"`); everything else is the same. A
campaign needs a law to be *recovered* (the hidden truth by the
equivalence rule, judged unblinded after the run) and reports the
measurements it spent. The ratio random/active is taken where both
recovered the law; a problem only one design solved (within the budget
and time limit) is listed as such.

    .venv/bin/python benchmarks/design_efficiency.py --time-limit 60 --out design.json

prints a markdown table and the median ratio random/active.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lawloop.agent import CampaignConfig, judge_recovery, start_campaign  # noqa: E402

FEYNMAN = ROOT / "benchmarks" / "problems" / "feynman_dev.json"
LAB = ["core/Pendulum-v0", "core/Kepler-v0", "core/Blackbody-v0"]
# Every sixth problem of the dev file: a spread of easy, medium and hard ones.
FEYNMAN_IDS = [
    "I.12.1", "I.47.23", "II.38.3", "I.37.4", "II.11.27",
    "III.9.52", "bonus.20", "I.18.4", "I.48.2", "III.15.12",
]  # fmt: skip


def _problems(args: argparse.Namespace) -> list[tuple[str, str, dict[str, str]]]:
    """(label, backend id, options) of every problem to run."""
    out = [(b, b, {}) for b in args.backends]
    out += [
        (
            pid,
            "core/Formula-v0",
            {"problem_file": str(args.problems), "problem_id": pid},
        )
        for pid in args.ids
    ]
    return out


def run_one(
    backend: str,
    options: dict[str, str],
    design: str,
    args: argparse.Namespace,
    db: str,
) -> dict[str, Any]:
    """One campaign, judged: measurements spent and whether the truth was found."""
    config = CampaignConfig(
        backend=backend,
        backend_options=options,
        seed=args.seed,
        noise=args.noise,
        design=design,  # type: ignore[arg-type]
        max_measurements=args.budget,
        initial_points=args.initial_points,
        batch_points=args.batch_points,
        replicates=args.replicates,
        max_iterations=1000,
        time_limit=args.time_limit,
        device="cpu",
        name=f"design-{design}-{backend}-{time.time_ns()}",
    )
    started = time.perf_counter()
    try:
        summary = start_campaign(config, db)
    except Exception as exc:  # a failed campaign is a row of the table
        return {"recovered": False, "measurements": None, "error": repr(exc)[-300:]}
    best = (summary.get("best") or {}).get("expression")
    verdict = judge_recovery(backend, options, best, args.seed)
    return {
        "recovered": bool(verdict["recovered"]),
        "measurements": summary["measurements"],
        "expression": best,
        "stop_reason": summary.get("stop_reason"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table, recoveries per design, and the median ratio where both recovered."""
    lines = [
        "| problem | active: found | active: measurements | random: found | random: measurements | random / active |",
        "|---|---|---|---|---|---|",
    ]
    ratios = []
    for r in rows:
        a, b = r["active"], r["random"]
        if a["recovered"] and b["recovered"]:
            ratio = b["measurements"] / a["measurements"]
            ratios.append(ratio)
            shown = f"{ratio:.2f}"
        elif a["recovered"] or b["recovered"]:
            shown = "only " + ("active" if a["recovered"] else "random")
        else:
            shown = "neither"
        lines.append(
            f"| {r['problem']} | {'yes' if a['recovered'] else 'no'} | {a['measurements']} "
            f"| {'yes' if b['recovered'] else 'no'} | {b['measurements']} | {shown} |"
        )
    found = {d: sum(r[d]["recovered"] for r in rows) for d in ("active", "random")}
    lines += [
        "",
        f"recovered: active {found['active']}/{len(rows)}, random {found['random']}/{len(rows)}",
    ]
    if ratios:
        lines.append(
            f"median random/active measurements over the {len(ratios)} problems both "
            f"recovered: {statistics.median(ratios):.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write JSON rows with --out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="*", default=LAB)
    parser.add_argument("--ids", nargs="*", default=FEYNMAN_IDS)
    parser.add_argument("--problems", type=Path, default=FEYNMAN)
    parser.add_argument(
        "--budget", type=int, default=3000, help="measurements per campaign"
    )
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds per campaign"
    )
    parser.add_argument("--noise", type=float, default=0.0)
    # Small designs make the count fine-grained: with the defaults (96, then
    # 64 a turn) both designs often find a law in the same turn.
    parser.add_argument("--initial-points", type=int, default=96)
    parser.add_argument("--batch-points", type=int, default=64)
    parser.add_argument("--replicates", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'design.db'}"
        for label, backend, options in _problems(args):
            row = {"problem": label}
            for design in ("active", "random"):
                row[design] = run_one(backend, options, design, args, db)
                print(f"{label} {design}: {row[design]}", file=sys.stderr, flush=True)
            rows.append(row)
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
