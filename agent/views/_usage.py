"""What a campaign has spent, counted from the record in one place: measurements, LLM calls, tokens.

The loop checks its budgets against these counts, the progress view shows
them, and the summary reports them; all three read them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from lawloop.storage import Store

__all__ = ["Usage", "measured", "usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Budget use so far (a replayed campaign's recorded LLM calls count too)."""

    measurements: int
    """Points measured, successful or not: the budget was spent either way."""
    llm_calls: int
    llm_tokens: int


def measured(store: Store, campaign_id: str) -> int:
    """Points measured so far, successful or not (the nodes' budget check: no other query)."""
    return sum(r.n_points for r in store.runs_for(campaign_id))


def usage(store: Store, campaign_id: str) -> Usage:
    """What campaign `campaign_id` has spent so far."""
    calls = [
        c for c in store.planner_calls_for(campaign_id) if c.planner.startswith("llm:")
    ]
    return Usage(
        measurements=measured(store, campaign_id),
        llm_calls=len(calls),
        llm_tokens=sum((c.input_tokens or 0) + (c.output_tokens or 0) for c in calls),
    )
