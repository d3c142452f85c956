"""The proposing nodes: planners and symbolic regression propose, `formalize` admits.

Every source of hypotheses writes a `planner_call` row whose `parsed_json`
holds its proposals; `formalize` reads all of this iteration's rows, parses
and checks each proposal, and records what became of it. So the offline
planner, the LLM and SR are ranked by the same judge on the same data.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.planners._formalize import Formalized, parametrize_numbers, repaired
from lawloop.agent.planners._formalize import formalize as formalize_one
from lawloop.agent.planners._llm_context import (
    LeaderView,
    PlannerContext,
    render_values,
)
from lawloop.agent.planners._llm_planner import MAX_EXCHANGES, Exchange, Recorded
from lawloop.agent.planners._offline import OfflinePlanner
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.agent.science._reduction import Reduction
from lawloop.tools import ExpressionError, ToolError, expression_text, parse_expression
from lawloop.tools.sr import SRUnits

if TYPE_CHECKING:
    from lawloop.agent.loop._nodes import Loop

__all__ = ["formalize", "propose", "search"]

_MAX_MESSAGE = 1500  # tail of an error kept on the record
_MIN_SEARCH_S = 1.0
"""Below this many seconds left a search is skipped: engines count whole seconds."""
SELECTION_RULE = (
    "engine pick: the shortest front member with MSE <= 1.5 x the front's best "
    "(tools.sr.select_candidate); every member becomes a hypothesis, and the judge "
    "keeps the simplest one whose reduced chi-square passes the adequacy bound"
)


def _sha_text(text: str) -> str:
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


def _proposal_from_json(d: dict[str, Any]) -> Proposal:
    return Proposal(
        expression=str(d["expression"]),
        parameters=tuple(str(x) for x in d.get("parameters", [])),
        source=Source(d.get("source", "template")),
        rationale=str(d.get("rationale", "")),
        initial={str(k): float(v) for k, v in (d.get("initial") or {}).items()},
        parent_id=d.get("parent_id"),
    )


# -- propose ---------------------------------------------------------------------


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
        template_sha256=_sha_text(OfflinePlanner.__doc__ or ""),
        prompt=json.dumps(context, sort_keys=True),
        reply=json.dumps([proposal_json(p) for p in proposals], sort_keys=True),
        parsed=parsed,
        latency_s=time.perf_counter() - started,
        error="; ".join(planner.errors)[-_MAX_MESSAGE:] or None,
    )


def _llm_usage(loop: Loop) -> tuple[int, int]:
    """LLM calls made and tokens spent so far in this campaign (replayed ones count too)."""
    calls = [
        c
        for c in loop.store.planner_calls_for(loop.campaign_id)
        if c.planner.startswith("llm:")
    ]
    tokens = sum((c.input_tokens or 0) + (c.output_tokens or 0) for c in calls)
    return len(calls), tokens


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
                dict(last.scores_json) if last else {},
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
                (o["proposal"], o.get("reason", "rejected"))
                for o in d.evidence_json.get("outcomes", [])
                if o.get("outcome") == "rejected" and o.get("source") == str(Source.LLM)
            )
    calls, tokens = _llm_usage(loop)
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
                evidence={"time_left_s": None if left is None else round(left, 3)},
            )
            return
        calls, tokens = _llm_usage(loop)
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
            error=error[-_MAX_MESSAGE:] if error else None,
        )

    llm.propose(values, recorded=lambda j: _recorded(loop, k, j), record=record)


# -- formalize ---------------------------------------------------------------------


def formalize(loop: Loop, k: int) -> None:
    """Turn this iteration's planner proposals (offline and LLM) into checked hypotheses."""
    iid = loop.iteration_id(k)
    items: list[tuple[Proposal, str]] = []
    for call in loop.store.planner_calls_for(loop.campaign_id):
        if call.iteration_id != iid or call.planner.startswith("sr:"):
            continue
        for p in (call.parsed_json or {}).get("proposals", []):
            items.append((_proposal_from_json(p), call.id))
    _admit(loop, k, "formalize", items)


# -- search ------------------------------------------------------------------------


def search(loop: Loop, k: int) -> None:
    """Symbolic regression on all data so far; its Pareto front joins the rivals.

    Under a time limit the search's safety cap is the whole seconds left
    (engines count whole seconds); with less than one second left the search
    is skipped, and the skip recorded.

    Args:
        loop: The campaign.
        k: The iteration.
    """
    sid = node_id(loop.campaign_id, k, "search")
    if loop.store.has_row("decision", sid):
        return
    # A crash between the search's record and its admission leaves the
    # front recorded and (part of) it unadmitted: admit it from the record.
    recorded = next(
        (c for c in loop.store.planner_calls_for(loop.campaign_id) if c.id == sid),
        None,
    )
    if recorded is not None:
        parsed = recorded.parsed_json or {}
        _admit_front(
            loop,
            k,
            sid,
            _search_space(loop, k),
            parsed.get("front", []),
            parsed.get("selected"),
        )
        return
    prev = loop.judgement(k - 1) if k > 0 else None
    if prev and prev.get("leader_adequate"):
        loop.record_decision(
            sid,
            k,
            "skip-search",
            "an adequate law leads; symbolic regression skipped to spend the budget on testing it",
            hypothesis_id=prev.get("leader"),
            evidence={"leader": prev.get("leader")},
        )
        return
    cfg = loop.config
    left = loop.time_left(k, "search")
    if left is not None and left < _MIN_SEARCH_S:
        loop.record_decision(
            sid,
            k,
            "skip-search",
            f"time limit ({cfg.time_limit:g} s): {max(left, 0.0):.2f} s left, "
            f"less than the {_MIN_SEARCH_S:g} s a search needs; symbolic regression skipped",
            evidence={"time_left_s": round(left, 3)},
        )
        return
    seed = node_seed(cfg.seed, k, "search")
    data = loop.data(until=k).subsample(cfg.sr_max_points, np.random.default_rng(seed))
    reduction = _search_space(loop, k)
    if reduction is None:
        X, y, names = (
            np.column_stack([data.inputs[v] for v in loop.variables]),
            data.y,
            loop.variables,
        )
    else:
        X, y = (
            reduction.features(data.inputs),
            reduction.reduced_target(data.inputs, data.y),
        )
        names = reduction.names
    cap = (
        cfg.sr_time_limit
        if left is None
        else min(cfg.sr_time_limit, float(math.floor(left)))
    )
    started = time.perf_counter()
    error, front, params, selected, engine = None, [], {}, None, cfg.sr_engine
    try:
        result = loop.regressor_factory().search(
            X,
            y,
            variable_names=names,
            units=_units(loop, reduction),
            seed=seed,
            time_limit=cap,
            max_evaluations=cfg.sr_max_evaluations,
        )
        front = [
            {"expression": c.expression, "complexity": c.complexity, "mse": c.mse}
            for c in result.candidates
        ]
        params, selected = dict(result.params), result.selected
        engine = f"{result.engine} {result.engine_version}"
    except (
        Exception
    ) as exc:  # an SR failure is data: the loop goes on with the planners' laws
        error = f"{type(exc).__name__}: {exc}"[-_MAX_MESSAGE:]
    loop.store.add_planner_call(
        sid,
        campaign_id=loop.campaign_id,
        iteration_id=loop.iteration_id(k),
        planner=f"sr:{cfg.sr_engine}",
        template_name="sr-search",
        template_sha256=_sha_text(json.dumps(params, sort_keys=True, default=str)),
        prompt=json.dumps(
            {
                "engine": engine,
                "settings": params,
                "data": list(data.shas),
                "n_points": len(data),
                "seed": seed,
                "space": "raw inputs" if reduction is None else reduction.describe(),
                # Only under a time limit, so records without one are unchanged.
                **({} if left is None else {"time_cap_s": cap}),
            },
            sort_keys=True,
            default=str,
        ),
        reply=json.dumps(front),
        parsed={"front": front, "selected": selected, "rule": SELECTION_RULE},
        latency_s=time.perf_counter() - started,
        error=error,
    )
    _admit_front(loop, k, sid, reduction, front, selected)


def _admit_front(
    loop: Loop,
    k: int,
    sid: str,
    reduction: Reduction | None,
    front: Sequence[dict[str, Any]],
    selected: int | None,
) -> None:
    """Admit a search's Pareto front (recorded as planner call `sid`) as proposals."""
    items: list[tuple[Proposal, str]] = []
    for i, cand in enumerate(front):
        why = f"SR Pareto front member {i} (complexity {cand['complexity']}, mse {cand['mse']:.3g})"
        if i == selected:
            why += ", the engine's selected model"
        items.extend(
            (p, sid) for p in _sr_proposals(loop, reduction, cand["expression"], why)
        )
    _admit(loop, k, "search", items)


def _search_space(loop: Loop, k: int) -> Reduction | None:
    """The space this iteration's search runs in: a reduction, or the raw inputs.

    Successive searches take turns over the plausible reductions, best
    first, and the raw inputs, so a reduction that looked right but led
    nowhere does not hold the campaign.
    """
    earlier = sum(
        loop.store.has_row("planner_call", node_id(loop.campaign_id, j, "search"))
        for j in range(1, k)
    )
    # A reduction without groups leaves only a number to find: the offline
    # planner proposes it; a search would have nothing to search over.
    choices: list[Reduction | None] = [r for r in loop.reductions(k) if r.groups]
    choices.append(None)
    return choices[earlier % len(choices)]


def _units(loop: Loop, reduction: Reduction | None) -> SRUnits:
    """Units of the search's columns: the inputs', or none at all in groups."""
    if reduction is None:
        return SRUnits(
            tuple(v.unit or "1" for v in loop.backend.inputs),
            loop.backend.observables[0].unit or "1",
        )
    return SRUnits(("1",) * len(reduction.groups), "1")


def _sr_proposals(
    loop: Loop, reduction: Reduction | None, text: str, why: str
) -> list[Proposal]:
    """An SR formula as proposals in the input variables (mapped back when reduced).

    A formula no step can turn into a proposal is kept as its text, with the
    reason: `formalize` then rejects it on the record.
    """
    names = loop.variables if reduction is None else reduction.names
    try:
        proposals = parametrize_numbers(text, names, source=Source.SR, rationale=why)
    except (ToolError, ArithmeticError) as exc:
        return [
            Proposal(text, (), Source.SR, f"{why} (not parametrized: {_failure(exc)})")
        ]
    if reduction is None:
        return proposals
    out = []
    for p in proposals:
        try:
            law = parse_expression(p.expression, names, p.parameters)
        except ExpressionError:
            out.append(p)  # kept on the record as the unparsable text it is
            continue
        try:
            original = expression_text(reduction.to_original(law))
        except (ToolError, ArithmeticError) as exc:
            out.append(
                Proposal(
                    p.expression,
                    p.parameters,
                    p.source,
                    f"{p.rationale} (not mapped back from the groups: {_failure(exc)})",
                    initial=p.initial,
                )
            )
            continue
        out.append(
            Proposal(
                original,
                p.parameters,
                p.source,
                f"{p.rationale}; found in the dimensionless groups "
                f"{reduction.describe()['groups']} times {reduction.describe()['scale']}",
                initial=p.initial,
            )
        )
    return out


# -- admission ---------------------------------------------------------------------


def _failure(exc: BaseException) -> str:
    """An exception as a reason on the record."""
    return f"{type(exc).__name__}: {exc}"[-_MAX_MESSAGE:]


def _formalized(
    prop: Proposal,
    variables: Sequence[str],
    units: dict[str, str],
    target_unit: str,
) -> Formalized:
    """`formalize_one`, with a failure of any step after the parser recorded as the rejection.

    The text is untrusted: the parser bounds it, but a law it lets through may
    still defeat a later step (the units check, printing, the canonical key).
    Such a law is rejected with the reason, and the campaign goes on; it must
    not end on what a planner wrote, nor fail again when its reply is replayed.
    """
    try:
        return formalize_one(
            prop, variables=variables, units=units, target_unit=target_unit
        )
    except (ToolError, ArithmeticError) as exc:
        return Formalized(prop, ok=False, message=f"rejected: {_failure(exc)}")


def _admit(
    loop: Loop, k: int, node: str, items: Sequence[tuple[Proposal, str]]
) -> None:
    """Formalize proposals, deduplicate them against the log, and record each outcome."""
    outcome_id = node_id(loop.campaign_id, k, node, "outcome")
    if loop.store.has_row("decision", outcome_id):
        return
    # Rows this node wrote before a crash are its own, not earlier proposals:
    # leaving them out keeps a re-run's outcomes those of an uninterrupted run.
    # Each item may add one repaired law (of a units-inconsistent one) behind the queue.
    own = {
        node_id(loop.campaign_id, k, f"{node}.hypothesis", i)
        for i in range(2 * len(items))
    }
    # Keys abstract constants, so `2*pi*sqrt(L)` (wrong units) and its repair
    # `k0*sqrt(L)` share one: a units-inconsistent law must not make its own
    # repair a duplicate. Consistent and inconsistent laws are deduplicated apart.
    known: dict[bool, dict[str, str]] = {True: {}, False: {}}
    for h in loop.store.list_hypotheses(loop.campaign_id):
        if h.id not in own:
            known[h.units_consistent is not False][h.canonical_key] = h.id
    units = {v.name: v.unit for v in loop.backend.inputs}
    target_unit = loop.backend.observables[0].unit
    outcomes = []
    queue = list(items)
    cut = False
    for i, (prop, call_id) in enumerate(queue):
        entry: dict[str, Any] = {
            "proposal": prop.expression,
            "source": str(prop.source),
            "call": call_id,
        }
        # Past the time limit the rest stay on the planner's record, unadmitted:
        # there is no time left to fit them. A law this node admitted before a
        # crash is admitted again whatever the clock says, so its row and its
        # outcome agree.
        hid = node_id(loop.campaign_id, k, f"{node}.hypothesis", i)
        written = loop.store.has_row("hypothesis", hid)
        cut = cut or (not written and loop.time_cut(k, f"{node} {i}"))
        if cut and not written:
            entry.update(outcome="skipped", reason="time limit reached")
            outcomes.append(entry)
            continue
        form = _formalized(prop, loop.variables, units, target_unit)
        same = known[form.units_consistent is not False]
        if not form.ok:
            entry.update(outcome="rejected", reason=form.message)
        elif form.key in same:
            entry.update(outcome="duplicate", hypothesis=same[form.key])
            loop.store.link(
                same[form.key], "hypothesis", call_id, "planner_call", "proposed-by"
            )
        else:
            rejected = form.units_consistent is False
            loop.store.add_hypothesis(
                hid,
                campaign_id=loop.campaign_id,
                iteration_id=loop.iteration_id(k),
                expression=form.expression,
                parameters=form.parameters,
                source=str(prop.source),
                source_detail=json.dumps(
                    {"rationale": prop.rationale, "initial": prop.initial},
                    sort_keys=True,
                ),
                canonical_key=form.key,
                units_consistent=form.units_consistent,
                units_message=form.message,
                statement=f"{loop.target} = {form.expression}",
                status="rejected" if rejected else "open",
            )
            loop.store.link(hid, "hypothesis", call_id, "planner_call", "proposed-by")
            if prop.parent_id:
                loop.store.link(
                    hid, "hypothesis", prop.parent_id, "hypothesis", "derived-from"
                )
            same[form.key] = hid
            entry.update(outcome="rejected" if rejected else "new", hypothesis=hid)
            if rejected:
                entry["reason"] = f"units inconsistent: {form.message}"
                if i < len(items):  # a repair is not repaired again
                    try:
                        fix = repaired(
                            form,
                            variables=loop.variables,
                            units=units,
                            target_unit=target_unit,
                            parent_id=hid,
                        )
                    except (ToolError, ArithmeticError) as exc:
                        fix = None
                        entry["repair_error"] = _failure(exc)
                    if fix is not None:
                        queue.append((fix, call_id))
                        entry["repair"] = fix.expression
        outcomes.append(entry)
    counts = {
        o: sum(e["outcome"] == o for e in outcomes)
        for o in ("new", "duplicate", "rejected", "skipped")
    }
    skipped = (
        f", {counts['skipped']} not admitted (time limit reached)"
        if counts["skipped"]
        else ""
    )
    loop.record_decision(
        outcome_id,
        k,
        "formalize",
        f"{counts['new']} new, {counts['duplicate']} duplicates, "
        f"{counts['rejected']} rejected{skipped}",
        evidence={"outcomes": outcomes},
    )
