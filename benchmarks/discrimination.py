"""Measurements to tell a law from a close rival: active design against random design.

`design_efficiency.py` finds both designs spending the same measurements
(its schedule, not its design, sets the count). Here every problem's true
law has a close wrong rival that fits most of the declared ranges to a few
per cent and parts from the truth only in a corner:

- Oseen's drag on a sphere against Stokes' linear law (Re up to 0.4),
- Planck's spectral radiance near its peak against Wien's approximation,
- relativistic kinetic energy up to 0.5 c against m*v**2/2,
- the Clausius-Mossotti permittivity against its dilute linear limit,
- the pendulum's period to 1 rad (`core/Pendulum-v0`, `max_amplitude=1`)
  against the small-angle law 2*pi*sqrt(L/g).

The first four are `core/Formula-v0` problems of
`benchmarks/problems/discrimination.json`, each with its `rival`; the
pendulum is defined here. Every problem runs at each noise level and seed
as two full campaigns with the same budget and time limit, once with
lawloop's designs and once with every design drawn at random over the
declared ranges (`CampaignConfig.design = "random"`). A campaign reaches
the *right* law when it stops "accepted" with the truth (the equivalence
rule, judged unblinded after the run; for the pendulum, whose truth is not
elementary: a law that is not c*sqrt(L/g) and predicts 1000 fresh clean
points to 1e-3 relative); it accepts the *wrong* law when it stops
"accepted" with the rival. The count is the measurements spent when the
right law was accepted; a run that did not get there is censored at the
budget. The table gives, per problem and noise, the share of runs that
accepted the right law, the wrong one, or ended "consistent" (an adequate
but unaccepted leader), the median count of each design, their ratio
random/active, and the median ratio over the cells both designs reached.
Target: active design reaches the right law with at most a third of
random design's measurements (median ratio >= 3).

    .venv/bin/python benchmarks/discrimination.py --jobs 2 --out discrimination.json
    .venv/bin/python benchmarks/discrimination.py --table discrimination.json

Defaults: noise 0.01 and 0.1, seeds 0-4, budget 4000 measurements and
60 s per campaign (5 problems x 2 noises x 5 seeds x 2 designs = 100
campaigns, about 100 minutes on one core). With `--jobs N` the campaigns
run in N processes, each in its own SQLite file; keep N at most the number
of cores, since the time limit is wall clock. At noise a 60 s campaign runs
one to four iterations (100 to 500 measurements on the 2-core development
machine), so the time limit, not the budget, ends most of them; for the
budget to bind, give `--time-limit 300` or more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lawloop import experiments  # noqa: E402
from lawloop.agent import (  # noqa: E402
    CampaignConfig,
    judge_recovery,
    law_with_intervals,
    start_campaign,
)
from lawloop.tools import (  # noqa: E402
    ExpressionError,
    ToolError,
    is_equivalent,
    machine_numbers,
    parse_expression,
)

PROBLEMS = ROOT / "benchmarks" / "problems" / "discrimination.json"
PENDULUM_ID = "pendulum.large_angle"
PENDULUM_RIVAL = "2*pi*sqrt(L/g)"
PENDULUM_PRECISION = 1e-3
"""Largest relative error on fresh clean points of a right pendulum law."""
TEST_POINTS = 1000
DESIGNS = ("active", "random")
TARGET_RATIO = 3.0
"""Active design should need at most 1/TARGET_RATIO of random design's measurements."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: where to measure it, and its close wrong rival."""

    id: str
    backend: str
    options: dict[str, str] = field(default_factory=dict)
    rival: str = ""
    """The wrong law, over the backend's input names (constants as numbers)."""
    truth_forms: tuple[str, ...] = ()
    """The true law written otherwise, each also judged the truth (see `judge`)."""
    note: str = ""


def load_problems(path: Path = PROBLEMS) -> list[Problem]:
    """The Formula-v0 problems of `path` and the large-angle pendulum."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = [
        Problem(
            str(p["id"]),
            "core/Formula-v0",
            {"problem_file": str(path), "problem_id": str(p["id"])},
            str(p["rival"]),
            tuple(str(t) for t in p.get("truth_forms") or ()),
            str(p.get("note") or ""),
        )
        for p in doc["problems"]
    ]
    out.append(
        Problem(
            PENDULUM_ID,
            "core/Pendulum-v0",
            {"max_amplitude": "1.0"},
            PENDULUM_RIVAL,
            (),
            "The period of a pendulum released at up to 1 rad, 4*sqrt(L/g)*K(sin(theta0/2)**2), "
            "against the small-angle law 2*pi*sqrt(L/g): 6.2 % short at 1 rad, 0.02 % at 0.05 rad.",
        )
    )
    return out


def _fresh_error(
    lab: experiments.ExperimentBackend,
    found: Any,
    test: dict[str, np.ndarray],
    y: np.ndarray,
) -> float | None:
    """Largest relative error of `found` on the clean points `test` (None: not finite)."""
    import sympy  # noqa: PLC0415 - loaded by tools already; local keeps the import light

    names = [v.name for v in lab.inputs]
    fn = sympy.lambdify(
        [sympy.Symbol(n, real=True) for n in names],
        machine_numbers(found),
        modules="numpy",
    )
    with np.errstate(all="ignore"):
        yhat = np.broadcast_to(
            np.asarray(fn(*[test[n] for n in names]), dtype=float), y.shape
        )
        error = np.abs(yhat - y) / np.abs(y)
    return float(error.max()) if np.all(np.isfinite(error)) else None


def judge(
    problem: Problem,
    expression: str | None,
    seed: int,
    law: tuple[str, dict[str, list[float]]] | None = None,
) -> dict[str, Any]:
    """Whether `expression` is the true law, whether it is the rival, and its error on fresh clean points.

    The truth of a Formula problem is judged by `agent.judge_recovery`, and
    by the same equivalence rule against each of `problem.truth_forms`: where
    sympy cannot prove a found law equal to the truth (constants snapped to
    1e-3 leave a residue), the rule's numeric test also asks for the same
    structure (`canonical_key`), which differs between rearrangements such
    as (1 + 2*x/3)/(1 - x/3) and 1 + 3*x/(3 - x). The rival is judged by
    the rule against `problem.rival`, on inputs drawn from the unblinded
    backend. The pendulum's truth is not elementary: a law is right there
    when it is not the rival and predicts fresh clean points to
    `PENDULUM_PRECISION`.
    """
    verdict: dict[str, Any] = {
        "is_truth": False,
        "is_rival": False,
        "fresh_max_rel_error": None,
        "detail": "no law found",
    }
    if not expression:
        return verdict
    with experiments.make(
        problem.backend, options=problem.options, blind=False, device="cpu"
    ) as lab:
        names = [v.name for v in lab.inputs]
        rng = np.random.default_rng(seed + 2_000_003)
        test = lab.sample_inputs(rng, TEST_POINTS)
        y = lab.run_batch(test, seed=seed).columns[lab.observables[0].name]
        try:
            found = parse_expression(expression, names)
            rival = is_equivalent(
                found,
                parse_expression(problem.rival, names),
                lambda n: lab.sample_inputs(rng, n),
            )
            verdict["is_rival"] = bool(rival.recovered)
            verdict["fresh_max_rel_error"] = _fresh_error(lab, found, test, y)
            other_form = any(
                is_equivalent(
                    found,
                    parse_expression(form, names),
                    lambda n: lab.sample_inputs(rng, n),
                ).recovered
                for form in problem.truth_forms
            )
        except (ExpressionError, ToolError) as exc:
            verdict["detail"] = str(exc)[:300]
            return verdict
    if problem.backend == "core/Formula-v0":
        # With the law's constants and their intervals, the rule under noise
        # too: the true form with the true constants inside them.
        truth = judge_recovery(
            problem.backend, problem.options, expression, seed, law=law
        )
        verdict["is_truth"] = bool(truth["recovered"]) or other_form
        verdict["detail"] = (
            f"truth: {truth['detail']}{' (another form: equivalent)' if other_form else ''}; "
            f"rival: {rival.detail}"
        )
    else:
        error = verdict["fresh_max_rel_error"]
        verdict["is_truth"] = (
            not verdict["is_rival"]
            and error is not None
            and error <= PENDULUM_PRECISION
        )
        verdict["detail"] = f"fresh max relative error {error}; rival: {rival.detail}"
    return verdict


def run_one(
    problem: Problem,
    noise: float,
    seed: int,
    design: str,
    settings: dict[str, Any],
    db: str,
) -> dict[str, Any]:
    """One campaign, judged: one row of the benchmark.

    Args:
        problem: The problem.
        noise: Noise level (`CampaignConfig.noise`).
        seed: Campaign seed.
        design: `active` or `random`.
        settings: `budget`, `time_limit`, `initial_points`, `batch_points`,
            `replicates`, `claim_precision`.
        db: SQLAlchemy URL of the campaign's database.
    """
    row: dict[str, Any] = {
        "problem": problem.id,
        "noise": noise,
        "seed": seed,
        "design": design,
        "budget": settings["budget"],
        "status": None,
        "stop_reason": None,
        "expression": None,
        "is_truth": False,
        "is_rival": False,
        "right_accepted": False,
        "wrong_accepted": False,
        "measurements": None,
        "measurements_to_right": None,
    }
    config = CampaignConfig(
        backend=problem.backend,
        backend_options=problem.options,
        seed=seed,
        noise=noise,
        design=design,  # type: ignore[arg-type]
        max_measurements=settings["budget"],
        max_iterations=1000,
        time_limit=settings["time_limit"],
        initial_points=settings["initial_points"],
        batch_points=settings["batch_points"],
        replicates=settings["replicates"],
        claim_precision=settings.get("claim_precision", 1e-3),
        device="cpu",
        name=f"discrimination-{problem.id}-{noise}-{seed}-{design}-{time.time_ns()}",
    )
    started = time.perf_counter()
    try:
        summary = start_campaign(config, db)
    except Exception as exc:  # a failed campaign is a row of the table
        row["error"] = repr(exc)[-300:]
        row["seconds"] = round(time.perf_counter() - started, 1)
        return row
    seconds = round(time.perf_counter() - started, 1)
    best = summary.get("best") or {}
    expression = best.get("expression")
    verdict = judge(problem, expression, seed, law_with_intervals(best))
    accepted = summary.get("stop_reason") == "accepted"
    row.update(
        status=summary.get("status"),
        stop_reason=summary.get("stop_reason"),
        expression=expression,
        is_truth=verdict["is_truth"],
        is_rival=verdict["is_rival"],
        right_accepted=accepted and verdict["is_truth"],
        wrong_accepted=accepted and verdict["is_rival"],
        measurements=summary["measurements"],
        measurements_to_right=summary["measurements"]
        if accepted and verdict["is_truth"]
        else None,
        fresh_max_rel_error=verdict["fresh_max_rel_error"],
        detail=verdict["detail"],
        seconds=seconds,
    )
    return row


def _run_task(
    task: tuple[dict[str, Any], float, int, str, dict[str, Any], str],
) -> dict[str, Any]:
    """`run_one` on a picklable task (a worker process's entry)."""
    problem, noise, seed, design, settings, db = task
    return run_one(Problem(**problem), noise, seed, design, settings, db)


def _single_threaded() -> None:
    """Worker start: one BLAS/OpenMP thread each, so N workers share N cores."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def run_all(
    problems: Sequence[Problem],
    noises: Sequence[float],
    seeds: Sequence[int],
    settings: dict[str, Any],
    *,
    jobs: int = 1,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every campaign of the benchmark, each in its own SQLite file; rows in task order."""
    with tempfile.TemporaryDirectory(prefix="discrimination-") as tmp:
        tasks = [
            (
                asdict(p),
                noise,
                seed,
                design,
                settings,
                f"sqlite:///{Path(tmp) / f'{p.id}-{noise}-{seed}-{design}.db'}",
            )
            for p in problems
            for noise in noises
            for seed in seeds
            for design in DESIGNS
        ]
        rows: list[dict[str, Any] | None] = [None] * len(tasks)
        if jobs <= 1:
            for i, task in enumerate(tasks):
                row = _run_task(task)
                rows[i] = row
                if on_row:
                    on_row(row)
        else:
            with ProcessPoolExecutor(
                jobs, mp_context=get_context("spawn"), initializer=_single_threaded
            ) as pool:
                futures = {pool.submit(_run_task, t): i for i, t in enumerate(tasks)}
                for future in as_completed(futures):
                    row = future.result()
                    rows[futures[future]] = row
                    if on_row:
                        on_row(row)
    return [r for r in rows if r is not None]


def _median_count(runs: Sequence[dict[str, Any]]) -> tuple[float, bool]:
    """Median measurements to the right law, censored runs at the budget; and whether it is exact.

    Censored runs sort last (at the budget), so the median is exact only when
    more than half of the runs reached the right law; otherwise it is a lower bound.
    """
    counts = [
        r["measurements_to_right"]
        if r["measurements_to_right"] is not None
        else r["budget"]
        for r in runs
    ]
    reached = sum(r["measurements_to_right"] is not None for r in runs)
    return float(statistics.median(counts)), reached > len(runs) // 2


def _shown(value: float, exact: bool) -> str:
    return f"{value:.0f}" if exact else f">={value:.0f}"


def _ratio(active: tuple[float, bool], random: tuple[float, bool]) -> tuple[float, str]:
    """random/active of two medians, with the direction of the bound when one is censored."""
    ratio = random[0] / active[0]
    if active[1] and random[1]:
        return ratio, f"{ratio:.2f}"
    if active[1]:
        return ratio, f">={ratio:.2f}"
    if random[1]:
        return ratio, f"<={ratio:.2f}"
    return ratio, f"~{ratio:.2f}"


def _count(runs: Iterable[dict[str, Any]], key: str) -> int:
    return sum(bool(r.get(key)) for r in runs)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The markdown table per problem and noise, and the median ratio random/active."""
    head = (
        "| problem | noise | active: right | active: wrong | active: consistent "
        "| active: median to right | random: right | random: wrong | random: consistent "
        "| random: median to right | random / active |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    cells: dict[tuple[str, float], dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        cell = cells.setdefault((r["problem"], r["noise"]), {d: [] for d in DESIGNS})
        cell.setdefault(r["design"], []).append(r)
    ratios: list[float] = []
    bounds = 0
    for (problem, noise), cell in cells.items():
        parts = [problem, f"{noise:g}"]
        medians = {}
        for design in DESIGNS:
            runs = cell[design]
            n = len(runs)
            consistent = [r for r in runs if r.get("stop_reason") == "consistent"]
            led = _count(consistent, "is_rival")
            parts += [
                f"{_count(runs, 'right_accepted')}/{n}",
                f"{_count(runs, 'wrong_accepted')}/{n}",
                f"{len(consistent)}/{n}" + (f" ({led} rival)" if led else ""),
            ]
            if runs:
                medians[design] = _median_count(runs)
                parts.append(_shown(*medians[design]))
            else:
                parts.append("-")
        reached = {d: _count(cell[d], "right_accepted") > 0 for d in DESIGNS}
        if all(reached.values()):
            ratio, shown = _ratio(medians["active"], medians["random"])
            ratios.append(ratio)
            bounds += not shown[0].isdigit()
        elif any(reached.values()):
            only = "active" if reached["active"] else "random"
            shown = f"only {only} ({_ratio(medians['active'], medians['random'])[1]})"
        else:
            shown = "neither"
        parts.append(shown)
        lines.append("| " + " | ".join(parts) + " |")
    lines += [
        "",
        "right / wrong: runs that stopped `accepted` with the true law / with the close rival; "
        "consistent: runs whose budget or time ended with an adequate, unaccepted leader "
        "(in brackets: how many of those leaders were the rival). "
        "Median to right: measurements spent when the right law was accepted, runs that did "
        "not get there counted at the budget (`>=`: more than half did not, so the median is "
        "a lower bound).",
    ]
    if ratios:
        median = statistics.median(ratios)
        verdict = "meets" if median >= TARGET_RATIO else "misses"
        lines.append(
            f"median random/active over the {len(ratios)} problem x noise cells both designs "
            f"reached ({bounds} of them bounds): {median:.2f}; target >= {TARGET_RATIO:.0f} "
            f"(active needs <= 1/{TARGET_RATIO:.0f} of random's measurements): {verdict} it"
        )
    else:
        lines.append(
            "no problem x noise cell where both designs reached the right law: no ratio"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or reprint a table with --table); print the table; write rows with --out."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--problems", type=Path, default=PROBLEMS)
    parser.add_argument(
        "--ids", nargs="*", default=None, help="problem ids (default: all)"
    )
    parser.add_argument("--noise", type=float, nargs="+", default=[0.01, 0.1])
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds 0..N-1 per problem and noise"
    )
    parser.add_argument(
        "--budget", type=int, default=4000, help="measurements per campaign"
    )
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds per campaign"
    )
    defaults = CampaignConfig.model_fields
    parser.add_argument(
        "--initial-points", type=int, default=defaults["initial_points"].default
    )
    parser.add_argument(
        "--batch-points", type=int, default=defaults["batch_points"].default
    )
    parser.add_argument(
        "--replicates", type=int, default=defaults["replicates"].default
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="campaigns run side by side"
    )
    parser.add_argument(
        "--claim-precision",
        type=float,
        default=defaults["claim_precision"].default,
        help="precision an accepted law must be shown to hold to (relative)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON rows")
    parser.add_argument(
        "--table", type=Path, default=None, help="reprint the table of saved rows"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    problems = load_problems(args.problems)
    if args.ids is not None:
        known = {p.id: p for p in problems}
        unknown = [i for i in args.ids if i not in known]
        if unknown:
            parser.error(f"unknown problem ids {unknown}; known: {sorted(known)}")
        problems = [known[i] for i in args.ids]
    settings = {
        "budget": args.budget,
        "time_limit": args.time_limit,
        "initial_points": args.initial_points,
        "batch_points": args.batch_points,
        "replicates": args.replicates,
        "claim_precision": args.claim_precision,
    }
    done: list[dict[str, Any]] = []

    def report(row: dict[str, Any]) -> None:
        done.append(row)
        shown = {k: row.get(k) for k in ("stop_reason", "expression", "measurements")}
        print(
            f"[{len(done)}] {row['problem']} noise={row['noise']:g} seed={row['seed']} "
            f"{row['design']}: right={row['right_accepted']} wrong={row['wrong_accepted']} "
            f"{shown}{' error=' + row['error'] if row.get('error') else ''}",
            file=sys.stderr,
            flush=True,
        )
        if args.out:  # partial results survive a crash or Ctrl-C
            args.out.write_text(json.dumps(done, indent=2))

    rows = run_all(
        problems,
        args.noise,
        range(args.seeds),
        settings,
        jobs=args.jobs,
        on_row=report,
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
