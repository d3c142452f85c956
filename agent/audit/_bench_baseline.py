"""A baseline engine's bench row: one symbolic-regression search on random inputs, judged.

The baseline gets the campaign's measurement budget as random inputs,
measured with the same noise, and the engine as a campaign would build it,
so that it differs from `lawloop` only in the loop.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from lawloop import experiments
from lawloop.agent.audit._recovery import verdict_on_problem
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.planners._offline import is_angle

__all__ = ["baseline_row"]

log = logging.getLogger(__name__)

_GPLEARN_MAX_POINTS = 10_000
"""Most points gplearn gets; it has no time cap, so the point count is the only lever.

Measured on 2 cores with the engine's defaults (1000 programs x 20
generations): 16 s on 1,000 points and 22 s on 10,000 (3 inputs, clean),
19 s on 2,000 and 24 s on 10,000 (6 inputs, 10% noise). Per-program
overhead dominates, so subsampling below the default budget buys little;
the cap (SRBench's training-set size) guards larger `--max-measurements`.
"""


def _baseline_engine(name: str, lab: experiments.ExperimentBackend) -> Any:
    """The engine as a campaign would build it, so the baseline differs only in the loop."""
    from lawloop.tools.sr import DEFAULT_SYMBOLS, make_engine  # noqa: PLC0415 - loads SR packages lazily

    if name != "operon":
        return make_engine(name)
    # The same primitives and threads as the campaign's search (agent._runner).
    angles = any(is_angle(v) for v in lab.inputs)
    return make_engine(
        "operon",
        allowed_symbols=DEFAULT_SYMBOLS + (",sin,cos" if angles else ""),
        n_threads=CampaignConfig.model_fields["sr_threads"].default,
    )


def baseline_row(
    problems_file: Path,
    pid: str,
    engine: str,
    *,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
) -> dict[str, Any]:
    """One search by a baseline engine on `max_measurements` random inputs, judged."""
    options = {"problem_file": str(problems_file.resolve()), "problem_id": pid}
    expression: str | None = None
    error: str | None = None
    points_used: int | None = None
    started = time.perf_counter()
    try:
        with experiments.make(
            "core/Formula-v0", options=options, noise=noise, device="cpu"
        ) as lab:
            names = [v.name for v in lab.inputs]
            rng = np.random.default_rng(seed)
            inputs = lab.sample_inputs(rng, max_measurements)
            y = lab.run_batch(inputs, seed=seed).columns[lab.observables[0].name]
            X = np.column_stack([inputs[n] for n in names])
            # A campaign drops non-finite measurements too (agent._data.Dataset).
            keep = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
            if engine == "gplearn" and keep.sum() > _GPLEARN_MAX_POINTS:
                chosen = rng.choice(
                    np.flatnonzero(keep), _GPLEARN_MAX_POINTS, replace=False
                )
                keep = np.zeros_like(keep)
                keep[chosen] = True
            points_used = int(keep.sum())
            max_evaluations = (
                CampaignConfig.model_fields["sr_max_evaluations"].default
                if engine == "operon"
                else None
            )
            result = _baseline_engine(engine, lab).search(
                X[keep],
                y[keep],
                variable_names=names,
                seed=seed,
                time_limit=time_limit,
                max_evaluations=max_evaluations,
            )
            expression = result.best.expression
    except Exception as exc:  # a failed baseline is a result row, not a failed bench
        log.warning("bench %s/%s failed: %s", pid, engine, exc)
        error = f"{type(exc).__name__}: {exc}"[-1500:]
    seconds = time.perf_counter() - started
    verdict = verdict_on_problem(problems_file, pid, expression, seed)
    return {
        "recovered": bool(verdict["recovered"]),
        "expression": expression,
        "seconds": round(seconds, 2),
        "measurements": max_measurements,
        "points_used": points_used,
        "test_r2": verdict["test_r2"],
        "method": verdict["method"],
        "detail": error or verdict["detail"],
        "campaign_id": None,
        "status": "failed" if error else "finished",
        "stop_reason": None,
    }
