"""Plain-dict views of a campaign and its hypotheses, for the CLI and the Python API."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy
from lawloop.agent._liveness import holder_alive, run_status
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._judge import chi2_reduced, point_sigma
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
        claims = constant_claims(parameters, values, errors)
        named = {
            p: parse_expression(c["closed_form"], [])
            for p, c in claims.items()
            if c["closed_form"] is not None
        }
        if not named:
            return expression_text(raw), False
        rest = {p: v for p, v in shown.items() if p not in named}
        try:
            snapped = bind_parameters(
                expr.xreplace(
                    {sympy.Symbol(p, real=True): c for p, c in named.items()}
                ),
                rest,
            )
        except ToolError:
            return expression_text(raw), False
        if (
            data is None
            or not len(data)
            or _adequate(snapped, variables, data, tolerance, adequacy_chi2, noise_sd)
        ):
            return expression_text(snapped), True
        return expression_text(raw), False
    if data is None or not len(data):
        return expression_text(raw), False
    # The loosest snap that leaves no float behind and that the data still
    # accept wins. Failing that, rounded constants.
    fallback = None
    for precision in _SNAP_LADDER:
        snapped = snap_constants(raw, precision)
        if not _adequate(snapped, variables, data, tolerance, adequacy_chi2, noise_sd):
            continue
        if not snapped.atoms(sympy.Float):
            return expression_text(snapped), True
        fallback = fallback or snapped
    if fallback is not None:
        return expression_text(fallback), True
    return expression_text(raw), False


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
        "scores": dict(latest.scores_json) if latest else None,
    }
    if with_fits:
        view["fits"] = [
            {
                "id": f.id,
                "iteration_id": f.iteration_id,
                "parameters": f.parameters_json,
                "stderr": f.stderr_json,
                "covariance": f.covariance_json,
                "scores": f.scores_json,
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
    measured = sum(r.n_points for r in store.runs_for(c.id))
    result = dict(c.result_json or {})
    best = result.get("best")
    if best is None:
        decisions = [
            d
            for d in store.decisions_for(c.id)
            if d.kind in ("accept", "continue", "stop")
        ]
        if decisions and decisions[-1].hypothesis_id:
            best = _best_from_decision(
                store, decisions[-1].hypothesis_id, c.environment_json
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
        "budget": _budget(store, c, lease, len(iterations), measured),
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
    store: Store,
    c: CampaignRecord,
    lease: LeaseRecord,
    iterations: int,
    measured: int,
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
        "measurements": {"used": measured, "limit": config.get("max_measurements")},
        "wall_s": {"used": wall, "limit": config.get("time_limit")},
    }
    if config.get("planner") == "llm":
        calls = [
            p for p in store.planner_calls_for(c.id) if p.planner.startswith("llm:")
        ]
        tokens = sum((p.input_tokens or 0) + (p.output_tokens or 0) for p in calls)
        out["llm_calls"] = {"used": len(calls), "limit": config.get("llm_max_calls")}
        out["llm_tokens"] = {"used": tokens, "limit": config.get("llm_max_tokens")}
    return out


def _best_from_decision(
    store: Store, hypothesis_id: str, environment: Mapping[str, Any]
) -> dict[str, Any]:
    """The best law without the snap check (no data at hand): constants substituted."""
    h = store.get_hypothesis(hypothesis_id)
    fits = [f for f in store.fits_for(h.id) if f.success]
    values = dict(fits[-1].parameters_json) if fits else {}
    variables = [v["name"] for v in environment.get("backend", {}).get("inputs", [])]
    text = h.expression
    if fits:
        text, _ = law_with_constants(
            h.expression,
            variables,
            list(h.parameters_json),
            values,
            stderr=dict(fits[-1].stderr_json),
        )
    return {
        "hypothesis_id": h.id,
        "expression": text,
        "parameters": values,
        "score": h.score,
        "status": h.status,
    }
