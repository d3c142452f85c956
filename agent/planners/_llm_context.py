"""What the LLM planner is shown: a summary of the campaign, never raw data dumps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lawloop.agent.record import FitScores
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._fitting import predictor
from lawloop.experiments import Variable

__all__ = ["LeaderView", "PlannerContext", "render_values"]

_MAX_REJECTED = 12
# Rejected laws and reasons quote the model's own text back: a hostile reply
# of 12 laws of 2000 characters would otherwise ride along in every prompt.
_MAX_QUOTE = 200


@dataclass(frozen=True, slots=True)
class LeaderView:
    """A leading law with its fit, as the planner sees it."""

    expression: str
    parameters: tuple[str, ...]
    values: dict[str, float]
    stderr: dict[str, float]
    scores: FitScores | None
    """The last fit's scores (None: not fitted yet)."""


@dataclass(frozen=True, slots=True)
class PlannerContext:
    """Everything the prompt says about the campaign, assembled from the record."""

    target: Variable
    inputs: tuple[Variable, ...]
    data: Dataset
    leaders: tuple[LeaderView, ...]
    rejected: tuple[tuple[str, str], ...]
    """(law, reason) of rejected proposals and hypotheses, newest first."""
    budget: dict[str, Any]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.4g}"


def _variables(inputs: Sequence[Variable]) -> str:
    lines = []
    for v in inputs:
        sign = {"both": ", either sign", "negative": ", negative"}.get(v.sign, "")
        kind = ", integer" if v.integer else ""
        lines.append(
            f"- `{v.name}` [{v.unit or 'dimensionless'}]: {v.low:g} .. {v.high:g} ({v.sampling}{sign}{kind})"
        )
    return "\n".join(lines)


def _data_summary(ctx: PlannerContext) -> str:
    data = ctx.data
    if not len(data):
        return "Nothing yet."
    y = data.y
    noise, dof = data.noise()
    lines = [
        f"{len(data)} measurements over {len(np.unique(data.iteration))} iteration(s).",
        f"`{ctx.target.name}`: min {_fmt(float(y.min()))}, median {_fmt(float(np.median(y)))}, "
        f"max {_fmt(float(y.max()))}; sign: {'always positive' if (y > 0).all() else 'always negative' if (y < 0).all() else 'both'}.",
        "Noise estimated from repeated measurements: "
        + (
            f"standard deviation {_fmt(noise)} ({dof} degrees of freedom)."
            if noise is not None
            else "unknown."
        ),
    ]
    with np.errstate(all="ignore"):
        ly = np.log(np.abs(y))
        cols = [np.log(np.abs(data.inputs[v.name])) for v in ctx.inputs]
    X = np.column_stack([*cols, np.ones(len(data))])
    ok = np.isfinite(ly) & np.all(np.isfinite(X), axis=1)
    if ok.sum() > X.shape[1] + 2:
        coef, *_ = np.linalg.lstsq(X[ok], ly[ok], rcond=None)
        slopes = ", ".join(
            f"`{v.name}` {c:+.3f}" for v, c in zip(ctx.inputs, coef, strict=False)
        )
        lines.append(
            f"Log-log slopes of |{ctx.target.name}| against each |input| (least squares): {slopes}."
        )
    return "\n".join(lines)


def _residual_hint(view: LeaderView, ctx: PlannerContext) -> str:
    """Which inputs the leader's residuals still depend on (rank correlation)."""
    names = [v.name for v in ctx.inputs]
    try:
        yhat = predictor(view.expression, names, view.parameters, view.values)(
            ctx.data.inputs
        )
    except (ValueError, KeyError):
        return ""
    resid = ctx.data.y - yhat
    if not np.all(np.isfinite(resid)) or np.std(resid) == 0:
        return ""
    rank_r = np.argsort(np.argsort(resid))
    hints = []
    for name in names:
        x = ctx.data.inputs[name]
        if np.std(x) == 0:
            continue
        r = float(np.corrcoef(rank_r, np.argsort(np.argsort(x)))[0, 1])
        if abs(r) >= 0.3:
            hints.append(f"`{name}` (rank correlation {r:+.2f})")
    return (
        "residuals trend with " + ", ".join(hints)
        if hints
        else "residuals show no trend with any input"
    )


def _leaders(ctx: PlannerContext) -> str:
    if not ctx.leaders:
        return "None yet."
    lines = []
    for i, view in enumerate(ctx.leaders, 1):
        consts = ", ".join(
            f"{p} = {_fmt(view.values.get(p))} ± {_fmt(view.stderr.get(p))}"
            for p in view.parameters
        )
        s = view.scores
        chi2, r2 = (s.chi2, s.r2) if s else (None, None)
        lines.append(
            f"{i}. `{view.expression}`"
            + (f" with {consts}" if consts else "")
            + f"; reduced chi-square {_fmt(chi2)}, R^2 {_fmt(r2)}, complexity {s.complexity if s else None}"
            + (f"; {hint}" if (hint := _residual_hint(view, ctx)) else "")
        )
    return "\n".join(lines)


def _rejected(ctx: PlannerContext) -> str:
    if not ctx.rejected:
        return "None yet."
    return "\n".join(
        f"- `{_clip(law)}`: {_clip(why)}" for law, why in ctx.rejected[:_MAX_REJECTED]
    )


def _clip(text: str) -> str:
    """`text` cut to `_MAX_QUOTE` characters, saying so."""
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 3] + "..."


def render_values(ctx: PlannerContext, *, max_proposals: int) -> dict[str, str]:
    """The values of the `propose_hypotheses` template's placeholders."""
    budget = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in ctx.budget.items())
    return {
        "target": ctx.target.name,
        "target_unit": ctx.target.unit or "dimensionless",
        "variables": _variables(ctx.inputs),
        "data_summary": _data_summary(ctx),
        "leaders": _leaders(ctx),
        "rejected": _rejected(ctx),
        "budget": budget,
        "max_proposals": str(max_proposals),
    }
