"""Plain-dict views of a campaign and its hypotheses, for the CLI and the Python API."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from lawloop.agent._liveness import holder_alive, run_status
from lawloop.agent.record import DecideEvidence, FitScores
from lawloop.agent.science._attack import holds_to_text
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._judge import chi2_reduced, point_sigma
from lawloop.agent.views._usage import Usage, usage
from lawloop.storage import CampaignRecord, LeaseRecord, Store
from lawloop.tools import (
    ToolError,
    bind_parameters,
    closed_form,
    expression_text,
    machine_numbers,
    parse_expression,
    snap_constants,
)

__all__ = [
    "best_law",
    "campaign_summary",
    "constant_claims",
    "hypothesis_view",
    "law_with_constants",
]

# Loosest first: a looser snap finds simpler constants (2*pi, not 44/7), and
# the adequacy test on the data rejects a snap the measurements contradict.
# Only for constants without a standard error (see `law_with_constants`).
_SNAP_LADDER = (1e-2, 3e-3, 1e-3)


def constant_claims(
    parameters: Sequence[str],
    values: Mapping[str, float],
    stderr: Mapping[str, float],
) -> dict[str, dict[str, Any]]:
    """Each fitted constant with its 95 % interval and its closed form, if one is claimed.

    A closed form is claimed only under `tools.closed_form`'s rule: the one
    simple constant in the 95 % interval, and more likely than chance.

    Returns:
        Name to `{"value", "stderr", "lower", "upper", "closed_form", "reason"}`
        (`closed_form` None where the constant stays as fitted).
    """
    claims: dict[str, dict[str, Any]] = {}
    for p in parameters:
        if p not in values or stderr.get(p) is None:
            continue
        verdict = closed_form(float(values[p]), float(stderr[p]))
        lower, upper = verdict.interval
        claims[p] = {
            "value": verdict.value,
            "stderr": verdict.stderr,
            "lower": lower,
            "upper": upper,
            "closed_form": None if verdict.expr is None else str(verdict.expr),
            "reason": verdict.reason,
        }
    return claims


def _shown(value: float, stderr: float | None, tolerance: float) -> sympy.Float:
    """A fitted value with the digits its uncertainty (else the tolerance) warrants."""
    digits = max(6, math.ceil(-math.log10(tolerance)) + 2)
    if stderr is not None and math.isfinite(stderr) and stderr > 0 and value != 0:
        # Two digits of the standard error, so the text does not hide the
        # precision reached (6.28991, not 6.29, for 6.28991 +- 0.00047).
        digits = max(digits, math.ceil(math.log10(abs(value) / stderr)) + 2)
    digits = min(digits, 17)
    # Binary precision of a float64 beyond 6 digits, so the text is the rounded value.
    return sympy.Float(float(f"{value:.{digits}g}"), 15)


def law_with_constants(
    expression: str,
    variables: Sequence[str],
    parameters: Sequence[str],
    values: Mapping[str, float],
    *,
    stderr: Mapping[str, float] | None = None,
    data: Dataset | None = None,
    tolerance: float = 1e-3,
    adequacy_chi2: float = 2.0,
    noise_sd: float | None = None,
) -> tuple[str, bool]:
    """The law with fitted constants substituted, each named in closed form only where that is a claim.

    With standard errors (`stderr`, from the fit), a constant becomes a
    closed form (2*pi) only under `tools.closed_form`'s rule: the one simple
    constant within its 95 % interval, and more likely than chance; 6.28991
    +- 0.00047 stays 6.28991, 1.013 +- 0.01 is not 10/pi**2. Without them
    (a caller with no covariance) the old rule applies: the loosest snap the
    data still accept. Either way, with `data` the snapped law must stay
    adequate on them, else every constant is shown as fitted.

    Args:
        expression: The law with free parameters.
        variables: Input variable names.
        parameters: Its free parameters.
        values: Fitted values.
        stderr: Their standard errors; see above.
        data: When given, a snapped law is kept only if it is still adequate
            on these data.
        tolerance: Relative precision floor of the adequacy test.
        adequacy_chi2: Adequacy bound on the reduced chi-square.
        noise_sd: Noise estimate for the adequacy test.

    Returns:
        (expression text, whether constants were snapped).
    """
    expr = parse_expression(expression, variables, parameters)
    errors = dict(stderr or {})
    shown = {p: float(_shown(values[p], errors.get(p), tolerance)) for p in parameters}
    try:
        raw = bind_parameters(expr, shown)
    except ToolError:
        # Values that make a constant beyond 1e300 (exp(exp(c0)), c0 = 1e10):
        # the law is shown with its parameters, its values are on the record.
        return expression_text(expr), False
    if stderr is not None:
        snapped = _claimed_law(expr, parameters, values, errors, shown)
        if snapped is not None and (
            data is None
            or not len(data)
            or _adequate(snapped, variables, data, tolerance, adequacy_chi2, noise_sd)
        ):
            return expression_text(snapped), True
        return expression_text(raw), False
    if data is None or not len(data):
        return expression_text(raw), False
    snapped = _loosest_snap(raw, variables, data, tolerance, adequacy_chi2, noise_sd)
    if snapped is not None:
        return expression_text(snapped), True
    return expression_text(raw), False


def _claimed_law(
    expr: sympy.Expr,
    parameters: Sequence[str],
    values: Mapping[str, float],
    errors: Mapping[str, float],
    shown: Mapping[str, float],
) -> sympy.Expr | None:
    """The law with each constant `constant_claims` names in closed form, the rest as shown.

    None when no constant is named, or when the named ones make a constant
    too large to bind.
    """
    claims = constant_claims(parameters, values, errors)
    named = {
        p: parse_expression(c["closed_form"], [])
        for p, c in claims.items()
        if c["closed_form"] is not None
    }
    if not named:
        return None
    rest = {p: v for p, v in shown.items() if p not in named}
    try:
        return bind_parameters(
            expr.xreplace({sympy.Symbol(p, real=True): c for p, c in named.items()}),
            rest,
        )
    except ToolError:
        return None


def _loosest_snap(
    raw: sympy.Expr,
    variables: Sequence[str],
    data: Dataset,
    tolerance: float,
    adequacy_chi2: float,
    noise_sd: float | None,
) -> sympy.Expr | None:
    """The law with its constants snapped along `_SNAP_LADDER`; None when the data accept none.

    The loosest snap that leaves no float behind and that the data still
    accept wins. Failing that, the loosest the data accept, with rounded
    constants left in it.
    """
    fallback = None
    for precision in _SNAP_LADDER:
        snapped = snap_constants(raw, precision)
        if not _adequate(snapped, variables, data, tolerance, adequacy_chi2, noise_sd):
            continue
        if not snapped.atoms(sympy.Float):
            return snapped
        fallback = fallback or snapped
    return fallback


def _adequate(
    law: sympy.Expr,
    variables: Sequence[str],
    data: Dataset,
    tolerance: float,
    adequacy_chi2: float,
    noise_sd: float | None,
) -> bool:
    """Whether `law` (no free constants) fits `data` within the adequacy bound."""
    sigma = point_sigma(data.y, noise_sd, tolerance)
    variables_sym = [sympy.Symbol(v, real=True) for v in variables]
    columns = [data.inputs[v] for v in variables]
    fn = sympy.lambdify(variables_sym, machine_numbers(law), modules="numpy")
    with np.errstate(all="ignore"):
        yhat = np.broadcast_to(np.asarray(fn(*columns), dtype=float), data.y.shape)
    return chi2_reduced(data.y, yhat, sigma) <= adequacy_chi2


def hypothesis_view(
    store: Store, hypothesis_id: str, *, with_fits: bool = False
) -> dict[str, Any]:
    """A hypothesis as a plain dict: expression, status, score, latest fit, lineage."""
    h = store.get_hypothesis(hypothesis_id)
    fits = store.fits_for(h.id)
    latest = fits[-1] if fits else None
    view: dict[str, Any] = {
        "id": h.id,
        "campaign_id": h.campaign_id,
        "expression": h.expression,
        "parameters": list(h.parameters_json),
        "status": h.status,
        "score": h.score,
        "source": h.source,
        "statement": h.statement,
        "units_consistent": h.units_consistent,
        "units_message": h.units_message,
        "fitted": dict(latest.parameters_json) if latest else None,
        "stderr": dict(latest.stderr_json) if latest else None,
        "scores": FitScores.read(latest.scores_json).dump() if latest else None,
    }
    if with_fits:
        view["fits"] = [
            {
                "id": f.id,
                "iteration_id": f.iteration_id,
                "parameters": f.parameters_json,
                "stderr": f.stderr_json,
                "covariance": f.covariance_json,
                "scores": FitScores.read(f.scores_json).dump(),
                "success": f.success,
                "message": f.message,
            }
            for f in fits
        ]
        edges = [
            e
            for e in store.edges_for(h.campaign_id)
            if h.id in (e.source_id, e.target_id)
        ]
        view["lineage"] = [
            {
                "source": e.source_id,
                "source_kind": e.source_kind,
                "relation": e.relation,
                "target": e.target_id,
                "target_kind": e.target_kind,
            }
            for e in edges
        ]
        view["decisions"] = [
            {"kind": d.kind, "reason": d.reason, "iteration_id": d.iteration_id}
            for d in store.decisions_for(h.campaign_id)
            if d.hypothesis_id == h.id and d.kind in ("accept", "reject")
        ]
    return view


OUTCOMES = {
    "accepted": "a law was accepted",
    "consistent": "no law accepted: the best fits every measurement but was not singled out",
    "not found": "no law accepted: none fits every measurement",
}
"""How a finished campaign ended, in words; `campaign start` exits 0, 3 and 4."""


def campaign_outcome(status: str, stop_reason: str | None) -> str | None:
    """`accepted`, `consistent` or `not found` for a finished campaign; None before it ends.

    A campaign that used its budget without an accepted law must not look
    like one that found it: both are `finished`, the outcome tells them apart.
    """
    if status != "finished":
        return None
    if stop_reason in ("accepted", "consistent"):
        return stop_reason
    return "not found"


def campaign_summary(store: Store, campaign_id: str) -> dict[str, Any]:
    """The campaign's status, budget use and best law, as `campaign start --json` prints it."""
    c = store.get_campaign(campaign_id)
    iterations = [it for it in store.iterations_for(c.id) if it.finished_at is not None]
    spent = usage(store, c.id)
    measured = spent.measurements
    result = dict(c.result_json or {})
    best = result.get("best")
    if best is None:
        decisions = [
            d
            for d in store.decisions_for(c.id)
            if d.kind in ("accept", "continue", "stop")
        ]
        if decisions:
            backend = dict(c.environment_json or {}).get("backend", {})
            best = best_law(
                store,
                DecideEvidence.read(decisions[-1].evidence_json),
                [v["name"] for v in backend.get("inputs", [])],
            )
    lease = store.get_lease(c.id)
    status = run_status(lease)
    return {
        "campaign_id": c.id,
        "name": c.name,
        "backend": c.backend_id,
        # A `running` campaign whose process is gone (stale heartbeat) is interrupted.
        "status": status,
        "outcome": campaign_outcome(status, result.get("stop_reason")),
        "stop_reason": result.get("stop_reason"),
        "iterations": len(iterations),
        "measurements": measured,
        "best": best,
        # "consistent" endings name the rivals the budget could not exclude.
        "rivals": result.get("rivals", []),
        "budget": _budget(c, lease, len(iterations), spent),
        "process": _process(lease),
        "log_file": lease.log_path,
    }


def _process(lease: LeaseRecord) -> dict[str, Any]:
    """The process that runs (or last ran) the campaign, as far as the lease tells."""
    return {
        "running": holder_alive(lease),
        "host": lease.host,
        "pid": lease.pid,
        "heartbeat_at": lease.heartbeat_at.isoformat() if lease.heartbeat_at else None,
        "stop_requested_at": lease.stop_requested_at.isoformat()
        if lease.stop_requested_at
        else None,
    }


def _budget(
    c: CampaignRecord, lease: LeaseRecord, iterations: int, spent: Usage
) -> dict[str, dict[str, Any]]:
    """Each budget's use against its configured limit.

    Counts come from the record; the work time from the runner's last
    progress snapshot (clock readings are no part of the record), `None`
    for a campaign run before lawloop kept one.
    """
    config = dict(c.config_json or {})
    snapshot = dict((lease.progress_json or {}).get("budget") or {})
    wall = (snapshot.get("wall_s") or {}).get("used")
    out: dict[str, dict[str, Any]] = {
        "iterations": {"used": iterations, "limit": config.get("max_iterations")},
        "measurements": {
            "used": spent.measurements,
            "limit": config.get("max_measurements"),
        },
        "wall_s": {"used": wall, "limit": config.get("time_limit")},
    }
    if config.get("planner") == "llm":
        out["llm_calls"] = {
            "used": spent.llm_calls,
            "limit": config.get("llm_max_calls"),
        }
        out["llm_tokens"] = {
            "used": spent.llm_tokens,
            "limit": config.get("llm_max_tokens"),
        }
    return out


def best_law(
    store: Store,
    evidence: DecideEvidence,
    variables: Sequence[str],
    *,
    data: Dataset | None = None,
    tolerance: float = 1e-3,
    default_bound: float = 2.0,
) -> dict[str, Any] | None:
    """The leader of a decision as the campaign's best law, with its fit and the attack's claim.

    One answer for both places that show it: the runner records it when the
    campaign ends (with the data, so a constant may be named in closed form
    only if the snapped law still fits them), and the summary of a campaign
    still running shows it from its last decision (without the data).
    """
    if evidence.leader is None:
        return None
    h = store.get_hypothesis(evidence.leader)
    fit = next((f for f in store.fits_for(h.id) if f.id == evidence.leader_fit), None)
    values = dict(fit.parameters_json) if fit else {}
    stderr = dict(fit.stderr_json) if fit else {}
    scores = FitScores.read(fit.scores_json) if fit else None
    text, snapped = law_with_constants(
        h.expression,
        variables,
        list(h.parameters_json),
        values,
        stderr=stderr if fit else None,
        data=data,
        tolerance=tolerance,
        noise_sd=data.noise_sd() if data is not None else None,
        adequacy_chi2=scores.bound_or(default_bound) if scores else default_bound,
    )
    best: dict[str, Any] = {
        "hypothesis_id": h.id,
        "expression": text,
        "snapped": snapped,
        "law": h.expression,
        "parameters": values,
        "stderr": stderr,
        "constants": constant_claims(list(h.parameters_json), values, stderr),
        "score": h.score,
        "status": h.status,
        "scores": scores.dump() if scores else {},
    }
    if evidence.attack is not None:
        # The precision the attack showed the law to hold to (or reached).
        best["attack"] = evidence.attack.dump()
        best["holds_to"] = holds_to_text(evidence.attack)
    return best
