"""`why`: the causal chain behind a hypothesis's status, read back from the provenance record.

`explain` gathers what the campaign wrote about one hypothesis and returns
a plain, JSON-ready dict; `to_text` and `to_dot` render it for people and
for Graphviz. Nothing is refitted: every number is one a node recorded, or
the difference of two.
The dict has these keys:

* `hypothesis`: the law itself (id, expression, status, score, source).
* `campaign`: id, name and backend of its campaign.
* `origin`: the iteration and rationale it was proposed with, the planner
  calls or SR runs that proposed it (`proposed-by` edges; the first one
  created it), how `formalize` admitted it, its parents (`derived-from`,
  recursively, with their statuses) and the laws derived from it.
* `fits`: each fit with its numbers, the experiment runs it was fitted on
  (`fitted-on` edges: design reason, seed, data sha256) and its fresh-data
  test (reduced chi-square on a batch measured after the previous fit,
  against the bound, and the streak of such tests passed). The fresh batch
  is the runs of the fit's own iteration, as `Loop.fit` takes it; the fit's
  recorded `test_data` is shown as is.
* `rivals`: per judged iteration its rank, the laws it beat or lost to and
  by how much (chi-square, BIC, complexity differences and the judge's rule
  that decided), the comparison with the accepted law, and `replaced-by`
  edges in both directions.
* `decision`: the decision that set its current status (accept, reject,
  supersede, or the units check at admission), its reason, its evidence
  numbers and the law that beat it (`by`).
* `decisions`: every decision about it, in order.
* `lineage`: the recorded lineage edges between the rows named above.

Example:
    >>> with open_store("sqlite:///lawloop.db") as store:  # doctest: +SKIP
    ...     why = explain(store, "dcb4e1f5")
    >>> why["decision"]["kind"], why["decision"]["reason"][:24]  # doctest: +SKIP
    ('accept', 'simplest adequate law (c')
    >>> print(to_dot(why))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lawloop.agent.views._why_record import (
    WhyRecord,
    admission_of,
    brief,
    load_record,
    num,
    numbers,
    scores_of,
)
from lawloop.agent.views._why_render import to_dot, to_text
from lawloop.agent.views._why_verdicts import (
    rankings_of,
    replacements,
    status_decision,
    timeline,
    versus_accepted,
)
from lawloop.storage import FitRecord, HypothesisRecord, Store

__all__ = ["explain", "to_dot", "to_text"]

# Parent chains are short (a repair of a mutation...); the cap also stops cycles.
_MAX_DEPTH = 8


def explain(store: Store, hypothesis_id: str) -> dict[str, Any]:
    """The causal chain behind a hypothesis's status, as a plain dict.

    Args:
        store: The provenance store.
        hypothesis_id: A hypothesis id or a unique prefix of one.

    Returns:
        A JSON-ready dict; the module docstring lists its keys.

    Raises:
        NotFoundError: No hypothesis has this id or prefix.
        AmbiguousIdError: The prefix matches several hypotheses.
    """
    h = store.get_hypothesis(hypothesis_id)
    campaign = store.get_campaign(h.campaign_id)
    rec = load_record(store, h.campaign_id)
    rankings = rankings_of(rec, h.id)
    why: dict[str, Any] = {
        "hypothesis": {
            **brief(rec, h.id),
            "campaign_id": h.campaign_id,
            "statement": h.statement,
            "parameters": list(h.parameters_json),
            "score": num(h.score),
            "units_consistent": h.units_consistent,
            "units_message": h.units_message,
        },
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "backend_id": campaign.backend_id,
        },
        "origin": _origin(rec, h, set()),
        "fits": [_fit_view(rec, f) for f in store.fits_for(h.id)],
        "rivals": {
            "rankings": rankings,
            "accepted": versus_accepted(rec, h),
            "replaced_by": replacements(rec, h.id, outgoing=True),
            "replaced": replacements(rec, h.id, outgoing=False),
        },
        "decision": status_decision(rec, h, rankings, campaign.config_json or {}),
        "decisions": timeline(rec, h.id),
    }
    core = {h.id, *_parent_ids(why["origin"]), *(f["id"] for f in why["fits"])}
    if why["decision"] is not None:
        core.add(why["decision"]["id"])
    why["lineage"] = _lineage(rec, _node_ids(why), core)
    return why


# -- origin ------------------------------------------------------------------------


def _detail(h: HypothesisRecord) -> dict[str, Any]:
    """The hypothesis's `source_detail`: JSON with a rationale, or plain text."""
    try:
        detail = json.loads(h.source_detail or "{}")
    except ValueError:
        return {"rationale": h.source_detail}
    return detail if isinstance(detail, dict) else {"rationale": str(detail)}


def _origin(rec: WhyRecord, h: HypothesisRecord, seen: set[str]) -> dict[str, Any]:
    """Where a hypothesis came from: calls, admission, parents (recursively), children."""
    seen = seen | {h.id}
    admission = admission_of(rec, h.id)
    parents = []
    for e in rec.edges:
        if e.source_id == h.id and e.relation == "derived-from":
            parent = rec.hypotheses.get(e.target_id)
            view = brief(rec, e.target_id)
            view["via"] = _via(rec, h, admission, e.target_id)
            if (
                parent is not None
                and e.target_id not in seen
                and len(seen) < _MAX_DEPTH
            ):
                view["status_decision"] = status_decision(rec, parent, [], {})
                view["origin"] = _origin(rec, parent, seen)
            parents.append(view)
    return {
        "iteration": rec.iteration(h.iteration_id),
        "source": h.source,
        "rationale": str(_detail(h).get("rationale", "")),
        "initial": _detail(h).get("initial") or {},
        "admission": admission,
        "proposed_by": _proposers(rec, h.id, admission),
        "parents": parents,
        "derived": [
            brief(rec, e.source_id)
            for e in rec.edges
            if e.target_id == h.id and e.relation == "derived-from"
        ],
    }


def _via(
    rec: WhyRecord,
    h: HypothesisRecord,
    admission: Mapping[str, Any] | None,
    parent: str,
) -> str:
    """How a law was derived from its parent: a units repair, a mutation, or its source."""
    repair = (admission_of(rec, parent) or {}).get("repair")
    if repair is not None and repair == (admission or {}).get("proposal"):
        return "units repair"
    return h.source


def _proposers(
    rec: WhyRecord, hid: str, admission: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The planner calls and SR runs that proposed it; the creating one first."""
    ids = [
        e.target_id
        for e in rec.edges
        if e.source_id == hid and e.relation == "proposed-by"
    ]
    first = (admission or {}).get("call")
    unique = list(dict.fromkeys(ids))
    unique.sort(key=lambda c: c != first)  # stable: the rest keep their order
    return [_call_view(rec, cid, created=cid == first) for cid in unique]


def _call_view(rec: WhyRecord, call_id: str, *, created: bool) -> dict[str, Any]:
    """A planner call as the explanation shows it; an SR run with engine and space."""
    c = rec.calls.get(call_id)
    if c is None:
        return {"id": call_id, "planner": "?", "created": created}
    kind = "sr" if c.planner.startswith("sr:") else "planner"
    view: dict[str, Any] = {
        "id": c.id,
        "kind": kind,
        "planner": c.planner,
        "template_name": c.template_name,
        "iteration": rec.iteration(c.iteration_id),
        "created": created,
        "error": c.error,
    }
    if c.planner.startswith("llm:"):
        view["tokens"] = (c.input_tokens or 0) + (c.output_tokens or 0)
    if kind == "sr":
        try:
            prompt = json.loads(c.prompt)
        except ValueError:
            prompt = {}
        view.update(
            engine=prompt.get("engine"),
            space=prompt.get("space"),
            n_points=prompt.get("n_points"),
            seed=prompt.get("seed"),
            data=list(prompt.get("data", [])),
            rule=(c.parsed_json or {}).get("rule"),
        )
    return view


# -- fits and data ----------------------------------------------------------------


def _fit_view(rec: WhyRecord, f: FitRecord) -> dict[str, Any]:
    """A fit: numbers, the runs it was fitted on, its fresh-data test."""
    linked = [
        e.target_id
        for e in rec.edges
        if e.source_id == f.id and e.relation == "fitted-on"
    ]
    train, test = list(f.train_data_json or []), list(f.test_data_json or [])
    if not linked:  # written before fitted-on edges existed: match the data hashes
        linked = [r.id for r in rec.runs.values() if r.data_sha256 in train]
    scores = scores_of(f)
    tested = scores is not None and scores.fresh_chi2 is not None
    # The fresh batch is what the fit's own iteration measured (as `Loop.fit`
    # takes it); the recorded `test_data` may name older data as well.
    fresh_runs = [
        rid
        for rid in linked
        if tested and rid in rec.runs and rec.runs[rid].iteration_id == f.iteration_id
    ]
    fresh = None
    if scores is not None and scores.fresh_chi2 is not None:
        chi2, bound = float(scores.fresh_chi2), scores.fresh_bound
        fresh = {
            "n": scores.fresh_n,
            "chi2": num(chi2),
            "bound": num(bound),
            "passed": bound is not None and chi2 <= float(bound),
            "streak": scores.streak,
            "runs": fresh_runs,
            "data": [rec.runs[rid].data_sha256 for rid in fresh_runs],
        }
    return {
        "id": f.id,
        "iteration": rec.iteration(f.iteration_id),
        "method": f.method,
        "success": f.success,
        "message": f.message,
        "seed": rec.seeds.get(f.iteration_id or "", {}).get("fit"),
        "parameters": dict(f.parameters_json or {}),
        "stderr": dict(f.stderr_json or {}),
        "scores": numbers(scores),
        "train_data": train,
        "test_data": test,
        "runs": [_run_view(rec, rid, fresh=rid in fresh_runs) for rid in linked],
        "fresh": fresh,
    }


def _run_view(rec: WhyRecord, run_id: str, *, fresh: bool) -> dict[str, Any]:
    """An experiment run: why its inputs were chosen, its seed and data hash."""
    r = rec.runs.get(run_id)
    if r is None:
        return {"id": run_id, "design_reason": "?"}
    return {
        "id": r.id,
        "iteration": rec.iteration(r.iteration_id),
        "backend_id": r.backend_id,
        "design_reason": r.design_reason,
        "n_points": r.n_points,
        "seed": r.seed,
        "data_sha256": r.data_sha256,
        "inputs_sha256": r.inputs_sha256,
        "status_code": r.status_code,
        "fresh": fresh,
    }


# -- lineage -----------------------------------------------------------------------


def _node_ids(why: Mapping[str, Any]) -> set[str]:
    """The ids of every row the explanation names (for the lineage among them)."""
    ids: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if k in ("id", "decision_id", "fit") and isinstance(v, str):
                    ids.add(v)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(why)
    return ids


def _parent_ids(origin: Mapping[str, Any]) -> list[str]:
    """The ids of the parents of a law, recursively."""
    out = []
    for p in origin.get("parents", []):
        out += [p["id"], *_parent_ids(p.get("origin") or {})]
    return out


def _lineage(rec: WhyRecord, ids: set[str], core: set[str]) -> list[dict[str, Any]]:
    """The recorded edges between rows the explanation names, one end in its `core`.

    The core is the law, its parents, its fits and its status decision: an
    edge between two rivals (say, from a rival to the call that proposed it)
    is lineage of the rival, not of this law.
    """
    return [
        {
            "source": e.source_id,
            "source_kind": e.source_kind,
            "relation": e.relation,
            "target": e.target_id,
            "target_kind": e.target_kind,
        }
        for e in rec.edges
        if e.source_id in ids
        and e.target_id in ids
        and (e.source_id in core or e.target_id in core)
    ]
