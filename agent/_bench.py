"""The Feynman benchmark: each problem a full campaign, judged by the equivalence rule.

The campaign sees a blinded `core/Formula-v0`; only this harness opens the
unblinded backend to read the true formula and to compute the test-set R^2
on fresh clean points.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import experiments
from agent._config import load_config
from agent._runner import start_campaign
from agent.errors import ConfigError
from tools import ExpressionError, is_equivalent, parse_expression, r2

__all__ = ["bench_feynman", "problem_ids"]

log = logging.getLogger(__name__)

_TEST_POINTS = 1000


def problem_ids(problems_file: Path) -> list[str]:
    """The ids of the problems in a benchmark file, in file order.

    Raises:
        ConfigError: The file cannot be read or has no `problems` list.
    """
    try:
        doc = json.loads(problems_file.read_text())
        return [str(p["id"]) for p in doc["problems"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"Cannot read benchmark problems from `{problems_file}`: {exc}."
        raise ConfigError(msg) from exc


def _verdict(
    problems_file: Path, problem_id: str, expression: str | None, seed: int
) -> dict[str, Any]:
    """Recovered by the equivalence rule, and R^2 on fresh clean test points."""
    options = {"problem_file": str(problems_file), "problem_id": problem_id}
    with experiments.make(
        "core/Formula-v0", options=options, blind=False, device="cpu"
    ) as lab:
        names = [v.name for v in lab.inputs]
        target = lab.observables[0].name
        truths = lab.ground_truth() or {}
        if target not in truths:
            msg = f"Problem `{problem_id}` has no ground truth for `{target}`."
            raise ConfigError(msg)
        truth = parse_expression(truths[target], names)
        rng = np.random.default_rng(seed + 1_000_003)
        test = lab.sample_inputs(rng, _TEST_POINTS)
        y = lab.run_batch(test, seed=seed).columns[target]
        if expression is None:
            return {
                "recovered": False,
                "method": "none",
                "detail": "no law found",
                "test_r2": None,
            }
        try:
            found = parse_expression(expression, names)
        except ExpressionError as exc:
            return {
                "recovered": False,
                "method": "none",
                "detail": str(exc),
                "test_r2": None,
            }
        verdict = is_equivalent(found, truth, lambda n: lab.sample_inputs(rng, n))
        import sympy  # noqa: PLC0415 - already loaded by tools; local to keep the module light

        fn = sympy.lambdify(
            [sympy.Symbol(n, real=True) for n in names], found, modules="numpy"
        )
        with np.errstate(all="ignore"):
            yhat = np.broadcast_to(
                np.asarray(fn(*[test[n] for n in names]), dtype=float), y.shape
            )
        score = r2(y, yhat) if np.all(np.isfinite(yhat)) else None
        return {
            "recovered": verdict.recovered,
            "method": verdict.method,
            "detail": verdict.detail,
            "test_r2": score,
        }


def bench_feynman(
    problems_file: Path,
    *,
    ids: Sequence[str] | None = None,
    noise: float = 0.0,
    time_limit: float = 300.0,
    max_measurements: int = 10_000,
    seed: int = 0,
    tolerance: float | None = None,
    db_url: str,
) -> list[dict[str, Any]]:
    """Run one campaign per problem and judge each found law against the truth.

    Args:
        problems_file: A file in the format of `shared/benchmarks/feynman_dev.json`.
        ids: Problem ids to run (default: all, in file order).
        noise: Gaussian noise in RMS units.
        time_limit: Wall-clock budget per campaign, seconds.
        max_measurements: Measurement budget per campaign.
        seed: Campaign seed.
        tolerance: Relative precision to which laws must hold (None: the
            campaign default, 1e-3).
        db_url: Where the campaigns are recorded.

    Returns:
        One row per problem: `id`, `recovered`, `expression`, `seconds`,
        `measurements`, `test_r2`, `method`, `campaign_id`, `status`.

    Raises:
        ConfigError: Unknown problem id or unreadable file.
    """
    known = problem_ids(problems_file)
    chosen = list(ids) if ids else known
    unknown = [i for i in chosen if i not in known]
    if unknown:
        msg = f"Unknown problem id(s) {unknown} in `{problems_file}`."
        raise ConfigError(msg)
    rows = []
    for pid in chosen:
        settings: dict[str, Any] = {
            "backend": "core/Formula-v0",
            "backend_options": {
                "problem_file": str(problems_file.resolve()),
                "problem_id": pid,
            },
            "noise": noise,
            "seed": seed,
            "time_limit": time_limit,
            "max_measurements": max_measurements,
            "max_iterations": 1000,
            "device": "cpu",
            "name": f"bench-{pid}-noise{noise:g}-seed{seed}-{time.time_ns()}",
        }
        if tolerance is not None:
            settings["tolerance"] = tolerance
        config = load_config(None, settings)  # validated; a bad value is a ConfigError
        started = time.perf_counter()
        summary = start_campaign(config, db_url)
        seconds = time.perf_counter() - started
        best = summary.get("best") or {}
        verdict = _verdict(problems_file, pid, best.get("expression"), seed)
        row = {
            "id": pid,
            "recovered": bool(verdict["recovered"]),
            "expression": best.get("expression"),
            "seconds": round(seconds, 2),
            "measurements": summary["measurements"],
            "test_r2": verdict["test_r2"],
            "method": verdict["method"],
            "campaign_id": summary["campaign_id"],
            "status": summary["status"],
            "stop_reason": summary.get("stop_reason"),
        }
        log.info("bench %s: %s", pid, row)
        rows.append(row)
    return rows
