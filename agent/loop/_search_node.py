"""The search node: symbolic regression seeded by the hypotheses, its front admitted as proposals."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.planners._formalize import parametrize_numbers
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.agent.record import SkipEvidence
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._reduction import Reduction
from lawloop.tools import ExpressionError, ToolError, expression_text, parse_expression
from lawloop.tools.sr import SRUnits

if TYPE_CHECKING:
    from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._formalize_node import admit, failure_text
from lawloop.agent.loop._propose_node import MAX_MESSAGE, sha_text

__all__ = ["SELECTION_RULE", "search"]


_MIN_SEARCH_S = 1.0
"""Below this many seconds left a search is skipped: engines count whole seconds."""


SELECTION_RULE = (
    "engine pick: the shortest front member with MSE <= 1.5 x the front's best "
    "(tools.sr.select_candidate); every member becomes a hypothesis, and the judge "
    "keeps the simplest one whose reduced chi-square passes the adequacy bound"
)


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
    left = loop.time_left(k, "search")
    if _skipped(loop, k, sid, left):
        return
    cfg = loop.config
    seed = node_seed(cfg.seed, k, "search")
    data = loop.data(until=k).subsample(cfg.sr_max_points, np.random.default_rng(seed))
    reduction = _search_space(loop, k)
    X, y, names = _search_inputs(loop, data, reduction)
    cap = (
        cfg.sr_time_limit
        if left is None
        else min(cfg.sr_time_limit, float(math.floor(left)))
    )
    started = time.perf_counter()
    error, front, params, selected, engine = _run_engine(
        loop, X, y, names, _units(loop, reduction), seed, cap
    )
    prompt = {
        "engine": engine,
        "settings": params,
        "data": list(data.shas),
        "n_points": len(data),
        "seed": seed,
        "space": "raw inputs" if reduction is None else reduction.describe(),
        # Only under a time limit, so records without one are unchanged.
        **({} if left is None else {"time_cap_s": cap}),
    }
    loop.store.add_planner_call(
        sid,
        campaign_id=loop.campaign_id,
        iteration_id=loop.iteration_id(k),
        planner=f"sr:{cfg.sr_engine}",
        template_name="sr-search",
        template_sha256=sha_text(json.dumps(params, sort_keys=True, default=str)),
        prompt=json.dumps(prompt, sort_keys=True, default=str),
        reply=json.dumps(front),
        parsed={"front": front, "selected": selected, "rule": SELECTION_RULE},
        latency_s=time.perf_counter() - started,
        error=error,
    )
    _admit_front(loop, k, sid, reduction, front, selected)


def _search_inputs(
    loop: Loop, data: Dataset, reduction: Reduction | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The engine's inputs, target and their names: raw, or in the reduction's variables."""
    if reduction is None:
        X = np.column_stack([data.inputs[v] for v in loop.variables])
        return X, data.y, loop.variables
    X = reduction.features(data.inputs)
    return X, reduction.reduced_target(data.inputs, data.y), list(reduction.names)


def _run_engine(
    loop: Loop,
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    units: SRUnits,
    seed: int,
    cap: float,
) -> tuple[str | None, list[dict[str, Any]], dict[str, Any], int | None, str]:
    """(error, front, settings, selected, engine) of one search; an SR failure is data.

    The loop goes on with the planners' laws when the engine fails.
    """
    cfg = loop.config
    try:
        result = loop.regressor_factory().search(
            X,
            y,
            variable_names=names,
            units=units,
            seed=seed,
            time_limit=cap,
            max_evaluations=cfg.sr_max_evaluations,
        )
        front = [
            {"expression": c.expression, "complexity": c.complexity, "mse": c.mse}
            for c in result.candidates
        ]
        engine = f"{result.engine} {result.engine_version}"
        return None, front, dict(result.params), result.selected, engine
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[-MAX_MESSAGE:]
        return error, [], {}, None, cfg.sr_engine


def _skipped(loop: Loop, k: int, sid: str, left: float | None) -> bool:
    """Whether the search of iteration `k` is skipped (the skip recorded): a law leads, or no time."""
    prev = loop.judgement(k - 1) if k > 0 else None
    if prev and prev.leader_adequate:
        loop.record_decision(
            sid,
            k,
            "skip-search",
            "an adequate law leads; symbolic regression skipped to spend the budget on testing it",
            hypothesis_id=prev.leader,
            evidence=SkipEvidence(leader=prev.leader).dump(),
        )
        return True
    if left is not None and left < _MIN_SEARCH_S:
        loop.record_decision(
            sid,
            k,
            "skip-search",
            f"time limit ({loop.config.time_limit:g} s): {max(left, 0.0):.2f} s left, "
            f"less than the {_MIN_SEARCH_S:g} s a search needs; symbolic regression skipped",
            evidence=SkipEvidence(time_left_s=round(left, 3)).dump(),
        )
        return True
    return False


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
    admit(loop, k, "search", items)


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
            Proposal(
                text, (), Source.SR, f"{why} (not parametrized: {failure_text(exc)})"
            )
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
                    f"{p.rationale} (not mapped back from the groups: {failure_text(exc)})",
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
