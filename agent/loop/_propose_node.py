"""The propose node: the offline planner and, when configured, the LLM propose laws.

Every source of hypotheses writes a `planner_call` row whose `parsed_json`
holds its proposals; the formalize node reads them back from there. The
LLM's exchanges are recorded in full, so a replay answers from the record.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.planners._llm_context import (
    LeaderView,
    PlannerContext,
    render_values,
)
from lawloop.agent.planners._llm_planner import MAX_EXCHANGES, Exchange, Recorded
from lawloop.agent.planners._offline import OfflinePlanner
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.agent.record import FitScores, FormalizeEvidence, SkipEvidence
from lawloop.agent.views._usage import usage

if TYPE_CHECKING:
    from lawloop.agent.loop._nodes import Loop

__all__ = ["proposal_json", "propose"]


MAX_MESSAGE = 1500  # tail of an error kept on the record

OFFLINE_RULES = (
    "Proposes laws from data by dimension-free rules; deterministic.\n\n"
    "    Example:\n"
    '        >>> planner = OfflinePlanner(variables, target="T")\n'
    "        >>> proposals = planner.propose(data, leaders=[])\n"
    "    "
)
"""What the offline planner's calls name as their template (its sha256 is recorded).

The text of `OfflinePlanner`'s docstring when `offline-rules-v2` was first
recorded, verbatim: the record names the rules, and an edited docstring (or
Python 3.13, which strips docstring indentation) must not change the name of
rules that did not change. New rules change `template_name` and this text
together.
"""


def sha_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def proposal_json(p: Proposal) -> dict[str, Any]:
    """A proposal as stored in `planner_call.parsed_json`."""
    return {
        "expression": p.expression,
        "parameters": list(p.parameters),
        "source": str(p.source),
        "rationale": p.rationale,
        "initial": p.initial,
        "parent_id": p.parent_id,
    }


def proposal_from_json(d: dict[str, Any]) -> Proposal:
    return Proposal(
        expression=str(d["expression"]),
        parameters=tuple(str(x) for x in d.get("parameters", [])),
        source=Source(d.get("source", "template")),
        rationale=str(d.get("rationale", "")),
        initial={str(k): float(v) for k, v in (d.get("initial") or {}).items()},
        parent_id=d.get("parent_id"),
    )


def propose(loop: Loop, k: int) -> None:
    """Ask the offline planner, and the LLM when configured; record every call."""
    _propose_offline(loop, k)
    if loop.llm is not None:
        _propose_llm(loop, k)


def _propose_offline(loop: Loop, k: int) -> None:
    cid = node_id(loop.campaign_id, k, "propose")
    if loop.store.has_row("planner_call", cid):
        return
    data = loop.data(until=k)
    leaders = loop.leaders(k - 1)
    started = time.perf_counter()
    reductions = loop.reductions(k)
    planner = OfflinePlanner(loop.backend.inputs, target=loop.target)
    gate = loop.work_gate(k, "propose")
    proposals = planner.propose(
        data,
        leaders,
        reductions,
        seed=node_seed(loop.config.seed, k, "propose"),
        gate=gate,
    )
    parsed: dict[str, Any] = {"proposals": [proposal_json(p) for p in proposals]}
    if gate.cut:
        # Where the screens stopped, so that a replay stops there too.
        parsed["time_cut"] = {"units": gate.done}
    context = {
        "target": loop.target,
        "variables": [
            {"name": v.name, "unit": v.unit, "low": v.low, "high": v.high}
            for v in loop.backend.inputs
        ],
        "n_points": len(data),
        "data": list(data.shas),
        "leaders": [
            {"id": lead.hypothesis_id, "expression": lead.expression}
            for lead in leaders
        ],
        "reductions": [r.describe() for r in reductions],
    }
    loop.store.add_planner_call(
        cid,
        campaign_id=loop.campaign_id,
        iteration_id=loop.iteration_id(k),
        planner="offline",
        template_name="offline-rules-v2",
        template_sha256=sha_text(OFFLINE_RULES),
        prompt=json.dumps(context, sort_keys=True),
        reply=json.dumps([proposal_json(p) for p in proposals], sort_keys=True),
        parsed=parsed,
        latency_s=time.perf_counter() - started,
        error="; ".join(planner.errors)[-MAX_MESSAGE:] or None,
    )


def llm_usage(loop: Loop) -> tuple[int, int]:
    """LLM calls made and tokens spent so far in this campaign (replayed ones count too)."""
    used = usage(loop.store, loop.campaign_id)
    return used.llm_calls, used.llm_tokens


def _recorded(loop: Loop, k: int, j: int) -> Recorded | None:
    """Exchange `j` of iteration `k` from this campaign's record, else from the replayed one."""
    sources = [loop.campaign_id]
    if loop.config.llm_replay_from:
        sources.append(loop.config.llm_replay_from)
    calls = {
        c.id: c
        for cid in sources
        for c in loop.store.planner_calls_for(cid)
        if c.planner.startswith("llm:")
    }
    for campaign in sources:
        call = calls.get(node_id(campaign, k, "llm", j))
        if call is not None:
            parsed = call.parsed_json or {}
            mode = parsed.get("mode", "text")
            # The error column also holds "unusable reply: ..." for a reply that
            # arrived but did not parse; only a transport failure is one to
            # reuse, else the reply would be skipped and its repair not replayed.
            error = None if "reply_error" in parsed else call.error
            return Recorded(
                call.reply, mode, error, call.input_tokens, call.output_tokens
            )
    return None


def _llm_context(loop: Loop, k: int) -> PlannerContext:
    views = []
    for lead in loop.leaders(k - 1):
        fits = [f for f in loop.store.fits_for(lead.hypothesis_id) if f.success]
        last = fits[-1] if fits else None
        views.append(
            LeaderView(
                lead.expression,
                lead.parameters,
                lead.values,
                dict(last.stderr_json) if last else {},
                FitScores.read(last.scores_json) if last else None,
            )
        )
    rejected: list[tuple[str, str]] = []
    for d in reversed(loop.store.decisions_for(loop.campaign_id)):
        if d.kind == "reject" and d.hypothesis_id:
            rejected.append(
                (loop.store.get_hypothesis(d.hypothesis_id).expression, d.reason)
            )
        elif d.kind == "formalize":
            rejected.extend(
                (o.proposal, o.reason or "rejected")
                for o in FormalizeEvidence.read(d.evidence_json).outcomes
                if o.outcome == "rejected" and o.source == str(Source.LLM)
            )
    calls, tokens = llm_usage(loop)
    cfg = loop.config
    budget = {
        "iterations_left": cfg.max_iterations - k,
        "measurements_left": cfg.max_measurements - loop.measured(),
        "llm_calls_left": cfg.llm_max_calls - calls,
        "llm_tokens_left": cfg.llm_max_tokens - tokens,
    }
    return PlannerContext(
        loop.backend.observables[0],
        tuple(loop.backend.inputs),
        loop.data(until=k),
        tuple(views),
        tuple(rejected),
        budget,
    )


def _propose_llm(loop: Loop, k: int) -> None:
    """One LLM turn; skipped (and recorded) when its budget is spent."""
    if loop.llm is None:
        return
    skip_id = node_id(loop.campaign_id, k, "skip-llm")
    if loop.store.has_row("decision", skip_id):
        return
    if not any(_recorded(loop, k, j) for j in range(MAX_EXCHANGES)):
        if loop.time_cut(k, "llm"):
            left = loop.time_left(k, "llm")
            loop.record_decision(
                skip_id,
                k,
                "skip-llm",
                f"time limit ({loop.config.time_limit:g} s) reached; the LLM is "
                "not asked this iteration",
                evidence=SkipEvidence(
                    time_left_s=None if left is None else round(left, 3)
                ).dump(),
            )
            return
        calls, tokens = llm_usage(loop)
        if calls >= loop.config.llm_max_calls or tokens >= loop.config.llm_max_tokens:
            loop.record_decision(
                skip_id,
                k,
                "skip-llm",
                f"LLM budget spent ({calls}/{loop.config.llm_max_calls} calls, "
                f"{tokens}/{loop.config.llm_max_tokens} tokens); the offline planner and SR go on",
            )
            return
    llm = loop.llm
    values = render_values(
        _llm_context(loop, k), max_proposals=loop.config.llm_max_proposals
    )

    def record(ex: Exchange) -> None:
        error = ex.error or (
            f"unusable reply: {ex.reply_error}" if ex.reply_error else None
        )
        loop.store.add_planner_call(
            node_id(loop.campaign_id, k, "llm", ex.index),
            campaign_id=loop.campaign_id,
            iteration_id=loop.iteration_id(k),
            planner=llm.name,
            template_name=ex.template_name,
            template_sha256=llm.template.sha256,
            prompt=json.dumps(ex.messages),
            reply=ex.content,
            parsed=ex.parsed(),
            input_tokens=ex.input_tokens,
            output_tokens=ex.output_tokens,
            latency_s=ex.latency_s,
            error=error[-MAX_MESSAGE:] if error else None,
        )

    llm.propose(values, recorded=lambda j: _recorded(loop, k, j), record=record)
