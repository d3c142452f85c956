r"""One hypothesis in full: its law (text and LaTeX), constants with uncertainties, fits, lineage.

`hypothesis_detail` reads the record and returns a JSON-ready dict (what
`run.py hypotheses show --json` prints); `hypothesis_text` renders it for a
terminal. Nothing is refitted: every number is one the campaign recorded.
The recorded expression is untrusted text (it may come from an LLM), so it
is read back with the whitelisting parser `tools.parse_expression`, never
with `sympify`, before sympy prints it as LaTeX.

Example:
    >>> with open_store("sqlite:///lawloop.db") as store:  # doctest: +SKIP
    ...     view = hypothesis_detail(store, "ef2098")
    >>> view["latex"], view["constants"][0]["name"]  # doctest: +SKIP
    ('\\frac{\\sqrt{L} c_{0} \\left(c_{1} \\theta_{0}^{2} + 1\\right)}{\\sqrt{g}}', 'c0')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from lawloop.agent.record import (
    FitScores,
    FormalizeEvidence,
    SupersedeEvidence,
    decision_evidence,
)
from lawloop.storage import (
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    Store,
)
from lawloop.tools import (
    ExpressionError,
    ToolError,
    bind_parameters,
    expression_text,
    parse_expression,
)

__all__ = ["format_uncertain", "hypothesis_detail", "hypothesis_text"]


def hypothesis_detail(store: Store, hypothesis_id: str) -> dict[str, Any]:
    """A hypothesis with its law, constants, fits, lineage and decisions, as a plain dict.

    Keys: `id`, `campaign_id`, `campaign_name`, `backend`, `iteration`,
    `created_at`, `expression` (with free parameters), `latex`, `law` (the
    latest successful fit's constants substituted) and `law_latex`,
    `statement`, `source`, `rationale`, `status`, `score` (BIC of the latest
    successful fit, lower is better), `units_consistent`, `units_message`,
    `parameters` (names), `fitted` and `stderr` (by name) and `scores` of the
    latest successful fit, `constants` (name, value, stderr, relative error),
    `fits` (each: iteration, method, success, scores, `train_n`, `test_n`),
    `parents` and `children` (`derived-from`), `proposed_by` (planner calls
    and SR searches), `replaced_by` and `replaces`, `decisions` (every
    decision about it, in order) and `lineage` (its edges).

    Args:
        store: The provenance store.
        hypothesis_id: A hypothesis id or a unique prefix of one.

    Returns:
        The JSON-ready view.

    Raises:
        NotFoundError: No hypothesis has this id or prefix.
        AmbiguousIdError: The prefix matches several hypotheses.
    """
    h = store.get_hypothesis(hypothesis_id)
    campaign = store.get_campaign(h.campaign_id)
    index = {it.id: it.index for it in store.iterations_for(h.campaign_id)}
    hypotheses = {x.id: x for x in store.list_hypotheses(h.campaign_id)}
    fits = store.fits_for(h.id)
    ok = [f for f in fits if f.success]
    latest = ok[-1] if ok else None
    backend = (campaign.environment_json or {}).get("backend", {})
    variables = [str(v["name"]) for v in backend.get("inputs", [])]
    parameters = [str(p) for p in h.parameters_json]
    fitted = dict(latest.parameters_json) if latest else {}
    stderr = dict(latest.stderr_json) if latest else {}
    law = _law(h, variables, parameters, fitted, stderr) if latest else None
    edges = [
        e for e in store.edges_for(h.campaign_id) if h.id in (e.source_id, e.target_id)
    ]
    return {
        "id": h.id,
        "campaign_id": h.campaign_id,
        "campaign_name": campaign.name,
        "backend": campaign.backend_id,
        "iteration": index.get(h.iteration_id or ""),
        "created_at": h.created_at.isoformat(),
        "expression": h.expression,
        "latex": _latex(h.expression, variables, parameters),
        "law": law,
        "law_latex": _latex(law, variables, ()) if law else None,
        "statement": h.statement,
        "source": h.source,
        "rationale": _rationale(h),
        "status": h.status,
        "score": h.score,
        "units_consistent": h.units_consistent,
        "units_message": h.units_message,
        "parameters": parameters,
        "fitted": fitted if latest else None,
        "stderr": stderr if latest else None,
        "scores": FitScores.read(latest.scores_json).dump() if latest else None,
        "constants": [_constant(p, fitted.get(p), stderr.get(p)) for p in parameters]
        if latest
        else [],
        "fits": [_fit(f, index) for f in fits],
        "parents": _related(edges, hypotheses, h.id, "derived-from", outgoing=True),
        "children": _related(edges, hypotheses, h.id, "derived-from", outgoing=False),
        "replaced_by": _related(edges, hypotheses, h.id, "replaced-by", outgoing=True),
        "replaces": _related(edges, hypotheses, h.id, "replaced-by", outgoing=False),
        "proposed_by": _proposers(store, edges, h, index),
        "decisions": _decisions(store.decisions_for(h.campaign_id), h.id, index),
        "lineage": _lineage(edges),
    }


def _lineage(edges: Sequence[EdgeRecord]) -> list[dict[str, Any]]:
    """The hypothesis's edges as plain dicts, in recorded order."""
    return [
        {
            "source": e.source_id,
            "source_kind": e.source_kind,
            "relation": e.relation,
            "target": e.target_id,
            "target_kind": e.target_kind,
        }
        for e in edges
    ]


def _latex(
    text: str, variables: Sequence[str], parameters: Sequence[str]
) -> str | None:
    """LaTeX of recorded expression text, parsed safely; `None` if it does not parse."""
    try:
        expr = parse_expression(text, variables, parameters)
    except ExpressionError:
        return None
    return str(sympy.latex(expr))


def _law(
    h: HypothesisRecord,
    variables: Sequence[str],
    parameters: Sequence[str],
    values: Mapping[str, Any],
    errors: Mapping[str, Any],
) -> str | None:
    """The law with fitted constants substituted, each rounded to its uncertainty.

    Not snapped to simple constants (2*pi): that needs the data, and
    `campaign status` shows the snapped best law.
    """
    if any(values.get(p) is None for p in parameters):
        return None
    try:
        expr = parse_expression(h.expression, variables, parameters)
    except ExpressionError:
        return None
    rounded = {p: _rounded(float(values[p]), errors.get(p)) for p in parameters}
    try:
        return expression_text(bind_parameters(expr, rounded))
    except ToolError:
        return None  # values that make a constant beyond 1e300: shown apart


def _rounded(value: float, err: Any) -> float:
    """`value` to the second significant digit of `err`, else to 6 significant digits."""
    if err is not None and math.isfinite(float(err)) and float(err) > 0:
        decimals = 1 - math.floor(math.log10(float(err)))
        if value and abs(value) * 10.0**decimals < 1e15:
            return round(value, decimals) if decimals >= 0 else float(f"{value:.6g}")
    return float(f"{value:.6g}") if math.isfinite(value) else value


def _rationale(h: HypothesisRecord) -> str:
    """The proposer's reason, from `source_detail` (JSON with a rationale, or plain text)."""
    try:
        detail = json.loads(h.source_detail or "{}")
    except ValueError:
        return h.source_detail
    return str(detail.get("rationale", "")) if isinstance(detail, dict) else str(detail)


def _constant(name: str, value: Any, err: Any) -> dict[str, Any]:
    """A fitted constant with its standard error and relative error."""
    v = None if value is None else float(value)
    e = None if err is None else float(err)
    relative = abs(e / v) if v and e is not None and math.isfinite(e) else None
    return {"name": name, "value": v, "stderr": e, "relative": relative}


def _fit(f: FitRecord, index: Mapping[str, int]) -> dict[str, Any]:
    """One fit: where, how, its scores and the size of its training and test data."""
    scores = FitScores.read(f.scores_json)
    return {
        "id": f.id,
        "iteration": index.get(f.iteration_id or ""),
        "iteration_id": f.iteration_id,
        "method": f.method,
        "success": f.success,
        "message": f.message,
        "parameters": f.parameters_json,
        "stderr": f.stderr_json,
        "covariance": f.covariance_json,
        "scores": scores.dump(),
        "train_n": scores.n,
        "test_n": scores.fresh_n,
        "train_artifacts": len(f.train_data_json or []),
        "test_artifacts": len(f.test_data_json or []),
    }


def _related(
    edges: Sequence[EdgeRecord],
    hypotheses: Mapping[str, HypothesisRecord],
    hid: str,
    relation: str,
    *,
    outgoing: bool,
) -> list[dict[str, Any]]:
    """Hypotheses at the other end of `relation` edges from (or to) `hid`."""
    out = []
    for e in edges:
        if e.relation != relation or e.source_kind != e.target_kind:
            continue
        if (e.source_id if outgoing else e.target_id) != hid:
            continue
        other_id = e.target_id if outgoing else e.source_id
        other = hypotheses.get(other_id)
        out.append(
            {
                "id": other_id,
                "expression": other.expression if other else None,
                "status": other.status if other else None,
                "source": other.source if other else None,
            }
        )
    return out


def _proposers(
    store: Store,
    edges: Sequence[EdgeRecord],
    h: HypothesisRecord,
    index: Mapping[str, int],
) -> list[dict[str, Any]]:
    """The planner calls and SR searches that proposed it (`proposed-by`), in order."""
    ids = [
        e.target_id
        for e in edges
        if e.source_id == h.id and e.relation == "proposed-by"
    ]
    if not ids:
        return []
    calls = {c.id: c for c in store.planner_calls_for(h.campaign_id) if c.id in ids}
    out = []
    for i, cid in enumerate(ids):
        c = calls.get(cid)
        if c is None:
            continue
        out.append(
            {
                "id": c.id,
                "planner": c.planner,
                "template_name": c.template_name,
                "iteration": index.get(c.iteration_id or ""),
                "latency_s": c.latency_s,
                # Admission links the creating call first; later ones proposed a duplicate.
                "created_it": i == 0,
            }
        )
    return out


def _decisions(
    decisions: Sequence[DecisionRecord], hid: str, index: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Every decision about the hypothesis: admission, judgements, supersession."""
    out = []
    for d in decisions:
        evidence = decision_evidence(d.kind, d.evidence_json)
        outcome = None
        if isinstance(evidence, FormalizeEvidence):
            outcome = evidence.outcome_of(hid)
            if outcome is None:
                continue
        elif d.hypothesis_id != hid and not (
            isinstance(evidence, SupersedeEvidence) and hid in evidence.superseded
        ):
            continue
        view = {
            "id": d.id,
            "kind": d.kind,
            "reason": d.reason,
            "iteration": index.get(d.iteration_id or ""),
            "iteration_id": d.iteration_id,
        }
        if outcome is not None:
            view["outcome"] = outcome
        if d.kind == "supersede" and d.hypothesis_id != hid:
            view["kind"] = "superseded"
            view["by"] = d.hypothesis_id
        out.append(view)
    return out


# -- text -----------------------------------------------------------------------


def format_uncertain(value: float | None, err: float | None) -> str:
    """`value ± err`, the value rounded to the second significant digit of the error.

    Args:
        value: The estimate.
        err: Its standard error, if known.

    Returns:
        E.g. `6.28969 ± 0.00061`; `6.28969` without a usable error.

    Example:
        >>> format_uncertain(6.289694285633665, 0.0006052263035953477)
        '6.28969 ± 0.00061'
    """
    if value is None:
        return "?"
    if err is None or not math.isfinite(err) or err <= 0 or not math.isfinite(value):
        return f"{value:.6g}"
    decimals = 1 - math.floor(math.log10(err))
    if 0 <= decimals <= 12 and 1e-4 <= abs(value) < 1e7:
        return f"{value:.{decimals}f} ± {err:.{decimals}f}"
    return f"{value:.6g} ± {err:.2g}"


def _g(value: Any, spec: str = ".4g") -> str:
    """A recorded number, or `-` when absent."""
    return "-" if value is None else format(float(value), spec)


def hypothesis_text(view: Mapping[str, Any]) -> str:
    """`hypothesis_detail`'s view as lines of plain text for a terminal.

    Args:
        view: What `hypothesis_detail` returned.

    Returns:
        The text, ending in a newline.
    """
    it = view.get("iteration")
    lines = [
        f"hypothesis {view['id']} ({view['status']}, from {view['source']}"
        + (f", iteration {it})" if it is not None else ")"),
        f"campaign {view['campaign_id']} ({view['campaign_name']}), backend {view['backend']}",
        f"  {view['statement'] or view['expression']}",
    ]
    if view.get("latex"):
        lines.append(f"  LaTeX: {view['latex']}")
    if view.get("law"):
        lines.append(f"  with its constants: {view['law']}")
    if view.get("rationale"):
        lines.append(f"  rationale: {view['rationale']}")
    if view.get("units_consistent") is False:
        lines.append(f"  units inconsistent: {view.get('units_message')}")
    scores = view.get("scores") or {}
    lines.append(
        f"  score (BIC, lower is better) {_g(view.get('score'))}; "
        f"reduced chi2 {_g(scores.get('chi2'))}, complexity {_g(scores.get('complexity'), 'g')}"
    )
    if view.get("constants"):
        lines.append("constants (latest successful fit, value ± standard error):")
        for c in view["constants"]:
            rel = f"  ({c['relative']:.2g} relative)" if c.get("relative") else ""
            lines.append(
                f"  {c['name']} = {format_uncertain(c['value'], c['stderr'])}{rel}"
            )
    lines.append(f"fits ({len(view.get('fits', []))}):")
    for f in view.get("fits", []):
        s = f.get("scores") or {}
        lines.append(
            f"  iteration {_g(f.get('iteration'), 'g')}: {f['method']}, "
            f"{'ok' if f['success'] else 'failed'}, train n={_g(f.get('train_n'), 'g')}, "
            f"test n={_g(f.get('test_n'), 'g')}; chi2 {_g(s.get('chi2'))}, "
            f"BIC {_g(s.get('bic'))}, R2 {_g(s.get('r2'), '.6g')}"
            + ("" if f["success"] else f" ({f.get('message')})")
        )
    lines.append("lineage:")
    for c in view.get("proposed_by", []):
        lines.append(
            f"  proposed by {c['planner']} ({c['template_name']}) in iteration "
            f"{_g(c.get('iteration'), 'g')}"
            + ("" if c.get("created_it") else ", again")
        )
    for key, label in (
        ("parents", "parent"),
        ("children", "child"),
        ("replaced_by", "replaced by"),
        ("replaces", "replaces"),
    ):
        for other in view.get(key, []):
            lines.append(
                f"  {label} {other['id'][:8]} ({other['status']}): {other['expression']}"
            )
    lines.append("decisions:")
    for d in view.get("decisions", []):
        what = d["kind"] + (f" ({d['outcome']})" if d.get("outcome") else "")
        lines.append(f"  iteration {_g(d.get('iteration'), 'g')} {what}: {d['reason']}")
    return "\n".join(lines) + "\n"
