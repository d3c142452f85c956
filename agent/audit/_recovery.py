"""Judging a found law against a backend's hidden truth: the equivalence rule, the interval rule, and the claim it was accepted with.

For benchmarks only: `judge_recovery` opens the backend unblinded to read
its truth and to measure fresh clean points, which a campaign never sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lawloop import experiments
from lawloop.agent.errors import ConfigError
from lawloop.agent.record import AttackEvidence
from lawloop.tools import (
    ExpressionError,
    constants_within_intervals,
    is_equivalent,
    machine_numbers,
    parse_expression,
    r2,
)

__all__ = [
    "claim_check",
    "judge_recovery",
    "law_with_intervals",
    "verdict_on_problem",
]

_TEST_POINTS = 1000


def verdict_on_problem(
    problems_file: Path,
    problem_id: str,
    expression: str | None,
    seed: int,
    law: tuple[str, Mapping[str, Sequence[float]]] | None = None,
) -> dict[str, Any]:
    """`judge_recovery` on a problem of a benchmark file."""
    options = {"problem_file": str(problems_file), "problem_id": problem_id}
    return judge_recovery("core/Formula-v0", options, expression, seed, law=law)


def judge_recovery(
    backend_id: str,
    options: Mapping[str, str],
    expression: str | None,
    seed: int,
    *,
    law: tuple[str, Mapping[str, Sequence[float]]] | None = None,
) -> dict[str, Any]:
    """Whether `expression` is the backend's hidden law: the equivalence rule, and R^2 on fresh clean points.

    For benchmarks only: it opens the backend unblinded to read its truth.
    With `law` (the law with its constants free, and each constant's
    (value, lower, upper) at 95 %), a law the equivalence rule does not
    recover still is when its form is the truth's and the true constants
    lie in their intervals (`tools.constants_within_intervals`): under
    noise a constant is known to its interval, not to 1e-3.

    Returns:
        `recovered`, `method` and `detail` of the equivalence rule, `test_r2`.

    Raises:
        ConfigError: The backend declares no truth for its first observable.
    """
    with experiments.make(
        backend_id, options=dict(options), blind=False, device="cpu"
    ) as lab:
        names = [v.name for v in lab.inputs]
        target = lab.observables[0].name
        truth = _truth(lab, backend_id, target, names)
        rng = np.random.default_rng(seed + 1_000_003)
        test = lab.sample_inputs(rng, _TEST_POINTS)
        y = lab.run_batch(test, seed=seed).columns[target]
        if expression is None:
            return _unjudged("no law found")
        try:
            found = parse_expression(expression, names)
        except ExpressionError as exc:
            return _unjudged(str(exc))
        verdict = is_equivalent(found, truth, lambda n: lab.sample_inputs(rng, n))
        if not verdict.recovered and law is not None and law[1]:
            sample = lab.sample_inputs(rng, 400)
            verdict = _or_by_intervals(verdict, law, names, truth, sample)
        return {
            "recovered": verdict.recovered,
            "method": verdict.method,
            "detail": verdict.detail,
            **_errors_on_fresh_points(found, names, test, y),
        }


def _truth(
    lab: experiments.ExperimentBackend, backend_id: str, target: str, names: list[str]
) -> Any:
    """The backend's true law for `target`, parsed; a `ConfigError` if it declares none."""
    truths = lab.ground_truth() or {}
    if target not in truths:
        msg = f"Backend `{backend_id}` has no ground truth for `{target}`."
        raise ConfigError(msg)
    return parse_expression(truths[target], names)


def _unjudged(detail: str) -> dict[str, Any]:
    """The verdict on no law, or on one that cannot be read."""
    return {
        "recovered": False,
        "method": "none",
        "detail": detail,
        "test_r2": None,
    }


def _or_by_intervals(
    verdict: Any,
    law: tuple[str, Mapping[str, Sequence[float]]],
    names: Sequence[str],
    truth: Any,
    sample: Mapping[str, np.ndarray],
) -> Any:
    """The interval rule's verdict where it recovers the law, else `verdict` with its detail."""
    by_form = _by_intervals(law, names, truth, sample)
    if by_form is not None and by_form.recovered:
        return by_form
    if by_form is not None:
        return dataclasses.replace(
            verdict,
            detail=f"{verdict.detail}; by the intervals: {by_form.detail}",
        )
    return verdict


def _errors_on_fresh_points(
    found: Any, names: Sequence[str], test: Mapping[str, np.ndarray], y: np.ndarray
) -> dict[str, Any]:
    """R^2 of the found law on the fresh clean points, and its largest errors there."""
    import sympy  # noqa: PLC0415 - already loaded by tools; local to keep the module light

    fn = sympy.lambdify(
        [sympy.Symbol(n, real=True) for n in names],
        machine_numbers(found),
        modules="numpy",
    )
    with np.errstate(all="ignore"):
        yhat = np.broadcast_to(
            np.asarray(fn(*[test[n] for n in names]), dtype=float), y.shape
        )
    finite = bool(np.all(np.isfinite(yhat)))
    score = r2(y, yhat) if finite else None
    with np.errstate(all="ignore"):
        gap = np.abs(yhat - y)
        relative = gap / np.abs(y)
    return {
        "test_r2": score,
        # How far the law is from the truth on fresh clean points, to
        # check an accepted law's stated precision against.
        "max_abs_error": float(gap.max()) if finite else None,
        "max_rel_error": float(relative.max())
        if finite and np.all(np.isfinite(relative))
        else None,
    }


def law_with_intervals(
    best: Mapping[str, Any],
) -> tuple[str, dict[str, list[float]]] | None:
    """A summary's best law with its constants free, and each constant's [value, lower, upper] (95 %)."""
    if not best.get("law"):
        return None
    constants = {
        name: [c.get("value"), c.get("lower"), c.get("upper")]
        for name, c in (best.get("constants") or {}).items()
    }
    return str(best["law"]), constants


def claim_check(
    best: Mapping[str, Any] | None, verdict: Mapping[str, Any]
) -> dict[str, Any]:
    """An accepted law's stated precision against its distance from the truth on fresh points.

    `holds to P (relative)` is kept when the largest relative error is at
    most P; `holds to P (of the output's RMS R)` when the largest error is
    at most P * R. (The fresh points span the declared ranges; the claim,
    the measured ones, which the attack design stretches to the same.)
    """
    recorded = (best or {}).get(
        "attack"
    )  # the decision's attack, as the result keeps it
    attack = AttackEvidence.read(recorded) if recorded else None
    if attack is None or attack.precision is None:
        return {"claim": None, "claim_error": None, "claim_kept": None}
    precision = float(attack.precision)
    reference = attack.reference
    if reference is None:
        error = verdict.get("max_rel_error")
    else:
        gap = verdict.get("max_abs_error")
        error = None if gap is None else gap / float(reference)
    return {
        "claim": {"precision": precision, "reference": reference},
        "claim_error": error,
        "claim_kept": None if error is None else bool(error <= precision),
    }


def _by_intervals(
    law: tuple[str, Mapping[str, Sequence[float]]],
    names: Sequence[str],
    truth: Any,
    sample: Mapping[str, np.ndarray],
) -> Any:
    """The interval rule's verdict, or None when the law cannot be read."""
    text, constants = law
    try:
        expr = parse_expression(text, names, list(constants))
        intervals = {
            p: (float(v[0]), float(v[1]), float(v[2]))
            for p, v in constants.items()
            if v is not None and len(v) == 3 and None not in v
        }
    except (ExpressionError, TypeError, ValueError):
        return None
    return constants_within_intervals(expr, intervals, truth, sample)
