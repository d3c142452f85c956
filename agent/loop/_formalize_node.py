"""The formalize node: parse and check each proposal, deduplicate it, record what became of it.

So the offline planner, the LLM and SR are ranked by the same judge on the
same data: each proposal is admitted (or not) by the same rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lawloop.agent._ids import node_id
from lawloop.agent.planners._formalize import Formalized, repaired
from lawloop.agent.planners._formalize import formalize as formalize_one
from lawloop.agent.planners._proposal import Proposal
from lawloop.agent.record import FormalizeEvidence
from lawloop.storage import EntityKind, HypothesisStatus, Relation
from lawloop.tools import ToolError

if TYPE_CHECKING:
    from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._propose_node import MAX_MESSAGE, proposal_from_json

__all__ = ["formalize"]


def formalize(loop: Loop, k: int) -> None:
    """Turn this iteration's planner proposals (offline and LLM) into checked hypotheses."""
    iid = loop.iteration_id(k)
    items: list[tuple[Proposal, str]] = []
    for call in loop.store.planner_calls_for(loop.campaign_id):
        if call.iteration_id != iid or call.planner.startswith("sr:"):
            continue
        for p in (call.parsed_json or {}).get("proposals", []):
            items.append((proposal_from_json(p), call.id))
    admit(loop, k, "formalize", items)


def failure_text(exc: BaseException) -> str:
    """An exception as a reason on the record."""
    return f"{type(exc).__name__}: {exc}"[-MAX_MESSAGE:]


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
        return Formalized(prop, ok=False, message=f"rejected: {failure_text(exc)}")


def admit(loop: Loop, k: int, node: str, items: Sequence[tuple[Proposal, str]]) -> None:
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
    known = _known_keys(loop, own)
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
                same[form.key],
                EntityKind.HYPOTHESIS,
                call_id,
                EntityKind.PLANNER_CALL,
                Relation.PROPOSED_BY,
            )
        else:
            rejected = _add_hypothesis(loop, k, hid, prop, form, call_id)
            same[form.key] = hid
            entry.update(outcome="rejected" if rejected else "new", hypothesis=hid)
            if rejected:
                entry["reason"] = f"units inconsistent: {form.message}"
                if i < len(items):  # a repair is not repaired again
                    fix = _repair(loop, form, hid, units, target_unit, entry)
                    if fix is not None:
                        queue.append((fix, call_id))
        outcomes.append(entry)
    _record_outcomes(loop, k, outcome_id, outcomes)


def _known_keys(loop: Loop, own: set[str]) -> dict[bool, dict[str, str]]:
    """Canonical key to hypothesis id of the log, units-consistent (True) and not, apart.

    Keys abstract constants, so `2*pi*sqrt(L)` (wrong units) and its repair
    `k0*sqrt(L)` share one: a units-inconsistent law must not make its own
    repair a duplicate. Consistent and inconsistent laws are deduplicated apart.
    """
    known: dict[bool, dict[str, str]] = {True: {}, False: {}}
    for h in loop.store.list_hypotheses(loop.campaign_id):
        if h.id not in own:
            known[h.units_consistent is not False][h.canonical_key] = h.id
    return known


def _add_hypothesis(
    loop: Loop, k: int, hid: str, prop: Proposal, form: Formalized, call_id: str
) -> bool:
    """Write the new hypothesis and its edges; returns whether it is rejected for its units."""
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
        status=HypothesisStatus.REJECTED if rejected else HypothesisStatus.OPEN,
    )
    loop.store.link(
        hid,
        EntityKind.HYPOTHESIS,
        call_id,
        EntityKind.PLANNER_CALL,
        Relation.PROPOSED_BY,
    )
    if prop.parent_id:
        loop.store.link(
            hid,
            EntityKind.HYPOTHESIS,
            prop.parent_id,
            EntityKind.HYPOTHESIS,
            Relation.DERIVED_FROM,
        )
    return rejected


def _repair(
    loop: Loop,
    form: Formalized,
    hid: str,
    units: dict[str, str],
    target_unit: str,
    entry: dict[str, Any],
) -> Proposal | None:
    """The units-consistent repair of a rejected law, if there is one; noted in its `entry`."""
    try:
        fix = repaired(
            form,
            variables=loop.variables,
            units=units,
            target_unit=target_unit,
            parent_id=hid,
        )
    except (ToolError, ArithmeticError) as exc:
        entry["repair_error"] = failure_text(exc)
        return None
    if fix is not None:
        entry["repair"] = fix.expression
    return fix


def _record_outcomes(
    loop: Loop, k: int, outcome_id: str, outcomes: list[dict[str, Any]]
) -> None:
    """Record what became of every proposal, with the counts in the reason."""
    FormalizeEvidence.read({"outcomes": outcomes})  # validated before it is written
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
