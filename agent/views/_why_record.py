"""The evidence `why` reads: one campaign's rows, loaded once, and the numbers read from them.

`agent.views._why` composes the explanation from these; nothing here is
refitted or recomputed, only read back from the provenance record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lawloop.agent.record import FitScores, FormalizeEvidence
from lawloop.storage import (
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    PlannerCallRecord,
    RunRecord,
    Store,
)

__all__ = [
    "WhyRecord",
    "admission_of",
    "brief",
    "load_record",
    "num",
    "numbers",
    "scores_of",
]

_SCORES = ("n", "chi2", "bound", "bic", "complexity", "r2", "rmse")


@dataclass(frozen=True, slots=True)
class WhyRecord:
    """Everything one campaign wrote that an explanation reads, loaded once."""

    hypotheses: dict[str, HypothesisRecord]
    index: dict[str, int]
    """Iteration id to its index."""
    seeds: dict[str, Any]
    """Iteration id to the seeds drawn for it."""
    runs: dict[str, RunRecord]
    calls: dict[str, PlannerCallRecord]
    decisions: list[DecisionRecord]
    edges: list[EdgeRecord]
    fits: dict[str, list[FitRecord]]
    """Iteration id to the fits made in it."""
    default_bound: float = 2.0
    """The campaign's adequacy bound, which the judge used for fits recorded without one."""

    def fit_of(self, iteration_id: str, hypothesis_id: str) -> FitRecord | None:
        """The fit of a hypothesis in an iteration, if it was fitted there."""
        for f in self.fits.get(iteration_id, []):
            if f.hypothesis_id == hypothesis_id:
                return f
        return None

    def iteration(self, iteration_id: str | None) -> int | None:
        """The index of an iteration id (`None` for rows outside iterations)."""
        return self.index.get(iteration_id or "")


def load_record(store: Store, campaign_id: str) -> WhyRecord:
    """Read a campaign's rows, iteration by iteration for the fits."""
    iterations = store.iterations_for(campaign_id)
    return WhyRecord(
        hypotheses={h.id: h for h in store.list_hypotheses(campaign_id)},
        index={it.id: it.index for it in iterations},
        seeds={it.id: dict(it.seeds_json or {}) for it in iterations},
        runs={r.id: r for r in store.runs_for(campaign_id)},
        calls={c.id: c for c in store.planner_calls_for(campaign_id)},
        decisions=store.decisions_for(campaign_id),
        edges=store.edges_for(campaign_id),
        fits={it.id: store.fits_in_iteration(it.id) for it in iterations},
        default_bound=float(
            dict(store.get_campaign(campaign_id).config_json or {}).get(
                "adequacy_chi2", 2.0
            )
        ),
    )


def brief(rec: WhyRecord, hid: str) -> dict[str, Any]:
    """Id, expression, status and source of a hypothesis of the campaign."""
    h = rec.hypotheses.get(hid)
    if h is None:  # an edge to a row of another campaign; say so rather than fail
        return {"id": hid, "expression": "?", "status": "unknown", "source": "?"}
    return {
        "id": h.id,
        "expression": h.expression,
        "status": h.status,
        "source": h.source,
        "iteration": rec.iteration(h.iteration_id),
    }


def admission_of(rec: WhyRecord, hid: str) -> dict[str, Any] | None:
    """What `formalize` (or `search`) recorded when the hypothesis entered the log."""
    for d in rec.decisions:
        if d.kind != "formalize":
            continue
        for o in FormalizeEvidence.read(d.evidence_json).outcomes:
            if o.hypothesis == hid and o.outcome in ("new", "rejected"):
                return {
                    "decision_id": d.id,
                    "iteration": rec.iteration(d.iteration_id),
                    "outcome": o.outcome,
                    "proposal": o.proposal,
                    "reason": o.reason or "",
                    "repair": o.repair,
                    "call": o.call,
                }
    return None


def num(value: Any) -> Any:
    """A finite float as is; infinities and NaN as `None` (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def scores_of(fit: FitRecord | None) -> FitScores | None:
    """A fit's recorded scores, typed; None without a fit."""
    return FitScores.read(fit.scores_json) if fit is not None else None


def numbers(scores: FitScores | None) -> dict[str, Any]:
    """The scores the judge uses, as plain numbers (all `None` without scores)."""
    return {k: num(getattr(scores, k)) if scores else None for k in _SCORES}
