"""The Feynman benchmark: each problem a full campaign, judged by the equivalence rule.

The campaign sees a blinded `core/Formula-v0`; only this harness opens the
unblinded backend to read the true formula and to compute the test-set R^2
on fresh clean points (`agent.audit._recovery`). Baseline engines
(`operon`, `gplearn`) get the same measurement budget as random inputs and
one symbolic-regression search on them, judged by the same rule
(`agent.audit._bench_baseline`).

Each campaign runs in a child process under a wall-clock guard, so that a
campaign that overruns its time limit far (it should not: every node stops
at the deadline) is killed and the bench goes on. `kill -USR1` on the bench
prints its stacks and the running campaign's on stderr, as it does for
`campaign start`; it does not stop anything (`agent.audit._bench_campaign`).
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lawloop.agent.audit._bench_baseline import baseline_row
from lawloop.agent.audit._bench_campaign import DumpSignal, _guarded_campaign_row
from lawloop.agent.errors import ConfigError

__all__ = ["bench_feynman", "default_wall_limit", "problem_ids"]

log = logging.getLogger(__name__)

_BASELINES = ("operon", "gplearn")
"""Baseline engines: one search on random inputs, no loop (`tools.sr` names)."""
_ENGINES = ("lawloop", *_BASELINES)
"""Engines `bench_feynman` runs: the full campaign and the baselines."""


def default_wall_limit(time_limit: float) -> float:
    """The wall-clock guard of a campaign with this time limit: twice it plus 30 s."""
    return 2.0 * time_limit + 30.0


def _problems(problems_file: Path) -> list[dict[str, Any]]:
    """The problem records of a benchmark file, in file order."""
    try:
        doc = json.loads(problems_file.read_text())
        problems = [dict(p) for p in doc["problems"]]
        for p in problems:
            p["id"] = str(p["id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"Cannot read benchmark problems from `{problems_file}`: {exc}."
        raise ConfigError(msg) from exc
    return problems


def problem_ids(problems_file: Path) -> list[str]:
    """The ids of the problems in a benchmark file, in file order.

    Raises:
        ConfigError: The file cannot be read or has no `problems` list.
    """
    return [p["id"] for p in _problems(problems_file)]


def _check_ids(
    problems_file: Path,
    problems: Mapping[str, Mapping[str, Any]],
    ids: Sequence[str] | None,
) -> list[str]:
    """The problem ids to run (default: all, in file order); unknown ids are a `ConfigError`."""
    chosen = list(ids) if ids else list(problems)
    unknown = [i for i in chosen if i not in problems]
    if unknown:
        msg = f"Unknown problem id(s) {unknown} in `{problems_file}`."
        raise ConfigError(msg)
    return chosen


def _check_engines(engines: Sequence[str]) -> list[str]:
    """The engines to run, duplicates dropped; unknown names are a `ConfigError`."""
    chosen = list(dict.fromkeys(engines))
    unknown = [e for e in chosen if e not in _ENGINES]
    if unknown or not chosen:
        close = difflib.get_close_matches(unknown[0], _ENGINES, n=1) if unknown else []
        hint = f" Did you mean `{close[0]}`?" if close else ""
        msg = (
            f"Unknown bench engine(s) {unknown or chosen}.{hint} "
            f"Choose from {list(_ENGINES)}."
        )
        raise ConfigError(msg)
    return chosen


def bench_feynman(
    problems_file: Path,
    *,
    ids: Sequence[str] | None = None,
    engines: Sequence[str] = ("lawloop",),
    noise: float = 0.0,
    time_limit: float = 300.0,
    max_measurements: int = 10_000,
    seed: int = 0,
    tolerance: float | None = None,
    db_url: str,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    wall_limit: float | None = None,
    claim_precision: float | None = None,
) -> list[dict[str, Any]]:
    """Run each engine on each problem and judge each found law against the truth.

    `lawloop` runs a full campaign. A baseline (`operon`, `gplearn`) draws
    `max_measurements` random inputs from the blinded backend, measures them
    with the same noise, and runs one search with `time_limit` as its cap
    and its default evaluation budget (for `operon`, the campaign's
    `sr_max_evaluations`, primitives and threads). gplearn ignores time
    limits, so it gets at most 10,000 of the points (`points_used`).

    Args:
        problems_file: A file in the format of `benchmarks/problems/feynman_dev.json` (see its README).
        ids: Problem ids to run (default: all, in file order).
        engines: `lawloop`, `operon` or `gplearn`, run in this order on each
            problem.
        noise: Gaussian noise in RMS units.
        time_limit: Wall-clock budget per problem and engine, seconds.
        max_measurements: Measurement budget per problem and engine.
        seed: Campaign seed, also the seed of the baselines' inputs and search.
        tolerance: Relative precision to which laws must hold (None: the
            campaign default, 1e-3); campaigns only.
        claim_precision: The precision an accepted law must be shown to
            hold to (None: the campaign default, 1e-3); campaigns only.
        db_url: Where the campaigns are recorded.
        on_row: Called with each row as soon as it is judged, so a long
            bench can save its progress.
        wall_limit: Seconds after which a campaign's process is killed and
            its row recorded with status `killed` (default:
            `default_wall_limit(time_limit)`, twice the limit plus 30 s).

    Returns:
        One row per problem and engine: `id`, `engine`, `split` (from the
        file, or None), `noise`, `recovered`, `expression`, `seconds`,
        `measurements` (drawn), `points_used` (given to a baseline's search;
        None for campaigns), `test_r2`, `method`, `detail` (the verdict's, or
        a baseline's error), `campaign_id`, `status` (`failed` for a baseline
        that raised, `killed` for a campaign over its wall-clock guard),
        `stop_reason` (campaign-only fields are None for baselines), and
        `overshoot_s`: `seconds` minus `time_limit` (negative when it ended
        early).

    Raises:
        ConfigError: Unknown problem id or engine, or unreadable file.
    """
    problems = {p["id"]: p for p in _problems(problems_file)}
    chosen = _check_ids(problems_file, problems, ids)
    names = _check_engines(engines)
    guard = default_wall_limit(time_limit) if wall_limit is None else wall_limit
    with DumpSignal() as dump:
        return _bench_rows(
            problems_file,
            problems,
            chosen,
            names,
            on_row=on_row,
            dump=dump,
            wall_limit=guard,
            noise=noise,
            time_limit=time_limit,
            max_measurements=max_measurements,
            seed=seed,
            tolerance=tolerance,
            claim_precision=claim_precision,
            db_url=db_url,
        )


def _bench_rows(
    problems_file: Path,
    problems: Mapping[str, Mapping[str, Any]],
    chosen: Sequence[str],
    names: Sequence[str],
    *,
    on_row: Callable[[dict[str, Any]], None] | None,
    dump: DumpSignal,
    wall_limit: float,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
    tolerance: float | None,
    claim_precision: float | None,
    db_url: str,
) -> list[dict[str, Any]]:
    """The rows of `bench_feynman`, each passed to `on_row` as it is judged."""
    rows = []
    for pid in chosen:
        for engine in names:
            head = {
                "id": pid,
                "engine": engine,
                "split": problems[pid].get("split"),
                "noise": noise,
            }
            if engine == "lawloop":
                body = _guarded_campaign_row(
                    problems_file,
                    pid,
                    wall_limit=wall_limit,
                    dump=dump,
                    noise=noise,
                    time_limit=time_limit,
                    max_measurements=max_measurements,
                    seed=seed,
                    tolerance=tolerance,
                    claim_precision=claim_precision,
                    db_url=db_url,
                )
            else:
                body = baseline_row(
                    problems_file,
                    pid,
                    engine,
                    noise=noise,
                    time_limit=time_limit,
                    max_measurements=max_measurements,
                    seed=seed,
                )
            seconds = body["seconds"]
            row = head | body
            row["overshoot_s"] = (
                None if seconds is None else round(seconds - time_limit, 2)
            )
            log.info("bench %s/%s: %s", pid, engine, row)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
