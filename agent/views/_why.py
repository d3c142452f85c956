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
    >>> with open_store("sqlite:///lawloop.db") as store:
    ...     why = explain(store, "dcb4e1f5")
    >>> why["decision"]["kind"], why["decision"]["reason"][:24]
    ('accept', 'simplest adequate law (c')
    >>> print(to_dot(why))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lawloop.agent.views._why_render import number, to_dot, to_text
from lawloop.storage import (
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    PlannerCallRecord,
    RunRecord,
    Store,
)

__all__ = ["explain", "to_dot", "to_text"]

# Parent chains are short (a repair of a mutation...); the cap also stops cycles.
_MAX_DEPTH = 8
_RUNNERS_UP = 3  # rivals named per iteration where the law led
_JUDGED = ("continue", "accept", "stop")  # kinds of an iteration's main decision
_SCORES = ("n", "chi2", "bound", "bic", "complexity", "r2", "rmse")


@dataclass(frozen=True, slots=True)
class _Record:
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

    def fit_of(self, iteration_id: str, hypothesis_id: str) -> FitRecord | None:
        """The fit of a hypothesis in an iteration, if it was fitted there."""
        for f in self.fits.get(iteration_id, []):
            if f.hypothesis_id == hypothesis_id:
                return f
        return None

    def iteration(self, iteration_id: str | None) -> int | None:
        """The index of an iteration id (`None` for rows outside iterations)."""
        return self.index.get(iteration_id or "")


def _load(store: Store, campaign_id: str) -> _Record:
    """Read a campaign's rows, iteration by iteration for the fits."""
    iterations = store.iterations_for(campaign_id)
    return _Record(
        hypotheses={h.id: h for h in store.list_hypotheses(campaign_id)},
        index={it.id: it.index for it in iterations},
        seeds={it.id: dict(it.seeds_json or {}) for it in iterations},
        runs={r.id: r for r in store.runs_for(campaign_id)},
        calls={c.id: c for c in store.planner_calls_for(campaign_id)},
        decisions=store.decisions_for(campaign_id),
        edges=store.edges_for(campaign_id),
        fits={it.id: store.fits_in_iteration(it.id) for it in iterations},
    )


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
    rec = _load(store, h.campaign_id)
    rankings = _rankings(rec, h.id)
    why: dict[str, Any] = {
        "hypothesis": {
            **_brief(rec, h.id),
            "campaign_id": h.campaign_id,
            "statement": h.statement,
            "parameters": list(h.parameters_json),
            "score": _num(h.score),
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
            "accepted": _versus_accepted(rec, h),
            "replaced_by": _replacements(rec, h.id, outgoing=True),
            "replaced": _replacements(rec, h.id, outgoing=False),
        },
        "decision": _status_decision(rec, h, rankings, campaign.config_json or {}),
        "decisions": _timeline(rec, h.id),
    }
    core = {h.id, *_parent_ids(why["origin"]), *(f["id"] for f in why["fits"])}
    if why["decision"] is not None:
        core.add(why["decision"]["id"])
    why["lineage"] = _lineage(rec, _node_ids(why), core)
    return why


# -- origin ------------------------------------------------------------------------


def _brief(rec: _Record, hid: str) -> dict[str, Any]:
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


def _detail(h: HypothesisRecord) -> dict[str, Any]:
    """The hypothesis's `source_detail`: JSON with a rationale, or plain text."""
    try:
        detail = json.loads(h.source_detail or "{}")
    except ValueError:
        return {"rationale": h.source_detail}
    return detail if isinstance(detail, dict) else {"rationale": str(detail)}


def _origin(rec: _Record, h: HypothesisRecord, seen: set[str]) -> dict[str, Any]:
    """Where a hypothesis came from: calls, admission, parents (recursively), children."""
    seen = seen | {h.id}
    admission = _admission(rec, h.id)
    parents = []
    for e in rec.edges:
        if e.source_id == h.id and e.relation == "derived-from":
            parent = rec.hypotheses.get(e.target_id)
            view = _brief(rec, e.target_id)
            view["via"] = _via(rec, h, admission, e.target_id)
            if (
                parent is not None
                and e.target_id not in seen
                and len(seen) < _MAX_DEPTH
            ):
                view["status_decision"] = _status_decision(rec, parent, [], {})
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
            _brief(rec, e.source_id)
            for e in rec.edges
            if e.target_id == h.id and e.relation == "derived-from"
        ],
    }


def _via(
    rec: _Record, h: HypothesisRecord, admission: Mapping[str, Any] | None, parent: str
) -> str:
    """How a law was derived from its parent: a units repair, a mutation, or its source."""
    repair = (_admission(rec, parent) or {}).get("repair")
    if repair is not None and repair == (admission or {}).get("proposal"):
        return "units repair"
    return h.source


def _admission(rec: _Record, hid: str) -> dict[str, Any] | None:
    """What `formalize` (or `search`) recorded when the hypothesis entered the log."""
    for d in rec.decisions:
        if d.kind != "formalize":
            continue
        for o in (d.evidence_json or {}).get("outcomes", []):
            if o.get("hypothesis") == hid and o.get("outcome") in ("new", "rejected"):
                return {
                    "decision_id": d.id,
                    "iteration": rec.iteration(d.iteration_id),
                    "outcome": o.get("outcome"),
                    "proposal": o.get("proposal"),
                    "reason": o.get("reason", ""),
                    "repair": o.get("repair"),
                    "call": o.get("call"),
                }
    return None


def _proposers(
    rec: _Record, hid: str, admission: Mapping[str, Any] | None
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


def _call_view(rec: _Record, call_id: str, *, created: bool) -> dict[str, Any]:
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


def _num(value: Any) -> Any:
    """A finite float as is; infinities and NaN as `None` (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _numbers(scores: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scores the judge uses, from a fit's `scores_json`."""
    scores = scores or {}
    return {k: _num(scores.get(k)) for k in _SCORES}


def _fit_numbers(rec: _Record, iteration_id: str | None, hid: str) -> dict[str, Any]:
    """The judge's numbers for a hypothesis in an iteration (all `None` if not fitted there)."""
    fit = rec.fit_of(iteration_id or "", hid)
    return _numbers(fit.scores_json if fit else None)


def _fit_view(rec: _Record, f: FitRecord) -> dict[str, Any]:
    """A fit: numbers, the runs it was fitted on, its fresh-data test."""
    linked = [
        e.target_id
        for e in rec.edges
        if e.source_id == f.id and e.relation == "fitted-on"
    ]
    train, test = list(f.train_data_json or []), list(f.test_data_json or [])
    if not linked:  # written before fitted-on edges existed: match the data hashes
        linked = [r.id for r in rec.runs.values() if r.data_sha256 in train]
    scores = f.scores_json or {}
    tested = scores.get("fresh_chi2") is not None
    # The fresh batch is what the fit's own iteration measured (as `Loop.fit`
    # takes it); the recorded `test_data` may name older data as well.
    fresh_runs = [
        rid
        for rid in linked
        if tested and rid in rec.runs and rec.runs[rid].iteration_id == f.iteration_id
    ]
    fresh = None
    if tested:
        chi2, bound = float(scores["fresh_chi2"]), scores.get("fresh_bound")
        fresh = {
            "n": scores.get("fresh_n"),
            "chi2": _num(chi2),
            "bound": _num(bound),
            "passed": bound is not None and chi2 <= float(bound),
            "streak": int(scores.get("streak", 0)),
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
        "scores": _numbers(scores),
        "train_data": train,
        "test_data": test,
        "runs": [_run_view(rec, rid, fresh=rid in fresh_runs) for rid in linked],
        "fresh": fresh,
    }


def _run_view(rec: _Record, run_id: str, *, fresh: bool) -> dict[str, Any]:
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


# -- rivals ------------------------------------------------------------------------


def _adequate(n: Mapping[str, Any]) -> bool:
    """Whether a fit's reduced chi-square is within its adequacy bound."""
    return n["chi2"] is not None and n["bound"] is not None and n["chi2"] <= n["bound"]


def _rule(win: Mapping[str, Any], lose: Mapping[str, Any] | None) -> str:
    """Why the judge ranks `win` above `lose` (see `agent._judge.judge`)."""
    if lose is None or lose["bic"] is None:
        return "a failed fit is never ranked"
    if _adequate(win) and _adequate(lose):
        if win["complexity"] != lose["complexity"]:
            return f"both adequate; simpler (complexity {win['complexity']} vs {lose['complexity']})"
        return f"both adequate and as simple; lower BIC ({number(win['bic'])} vs {number(lose['bic'])})"
    if _adequate(win):
        return f"only one adequate: reduced chi-square {number(lose['chi2'])} exceeds its bound {number(lose['bound'])}"
    return (
        f"neither adequate; lower BIC ({number(win['bic'])} vs {number(lose['bic'])})"
    )


def _diff(a: Any, b: Any) -> Any:
    """`a - b` when both are numbers, else `None`."""
    if a is None or b is None:
        return None
    return _num(float(a) - float(b))


def _compare(
    rec: _Record,
    iteration_id: str,
    this: Mapping[str, Any],
    other_id: str,
    relation: str,
    rank: int | None,
) -> dict[str, Any]:
    """Another law's numbers in the same iteration, and the differences (other minus this)."""
    other = _fit_numbers(rec, iteration_id, other_id)
    win, lose = (this, other) if relation == "beat" else (other, this)
    return {
        **_brief(rec, other_id),
        "relation": relation,
        "rank": rank,
        **{k: other[k] for k in ("chi2", "bound", "bic", "complexity")},
        "adequate": _adequate(other),
        "d_chi2": _diff(other["chi2"], this["chi2"]),
        "d_bic": _diff(other["bic"], this["bic"]),
        "d_complexity": _diff(other["complexity"], this["complexity"]),
        "rule": _rule(win, lose),
    }


def _judged(rec: _Record) -> list[DecisionRecord]:
    """Each iteration's main decision (the one holding the ranking), in order."""
    return [
        d
        for d in rec.decisions
        if d.kind in _JUDGED and "ranking" in (d.evidence_json or {})
    ]


def _rankings(rec: _Record, hid: str) -> list[dict[str, Any]]:
    """Per iteration where the law was fitted: its rank and the laws it beat or lost to."""
    out = []
    for d in _judged(rec):
        iid = d.iteration_id or ""
        fit = rec.fit_of(iid, hid)
        if fit is None:
            continue
        ranking = list(d.evidence_json["ranking"])
        this = _numbers(fit.scores_json)
        rank = ranking.index(hid) + 1 if hid in ranking else None
        if rank == 1:
            against = [
                _compare(rec, iid, this, other, "beat", i + 2)
                for i, other in enumerate(ranking[1 : 1 + _RUNNERS_UP])
            ]
        elif ranking:
            against = [_compare(rec, iid, this, ranking[0], "lost-to", 1)]
        else:
            against = []
        out.append(
            {
                "iteration": rec.iteration(d.iteration_id),
                "decision_id": d.id,
                "decision_kind": d.kind,
                "rank": rank,
                "of": len(ranking),
                "fitted": fit.success,
                "adequate": _adequate(this),
                "scores": this,
                "leader": _brief(rec, ranking[0]) if ranking else None,
                "against": against,
            }
        )
    return out


def _versus_accepted(rec: _Record, h: HypothesisRecord) -> dict[str, Any] | None:
    """The comparison with the campaign's accepted law, in the last iteration both were fitted."""
    accepted = [x for x in rec.hypotheses.values() if x.status == "accepted"]
    if not accepted or accepted[0].id == h.id:
        return None
    law = accepted[0]
    for d in reversed(_judged(rec)):
        iid = d.iteration_id or ""
        mine, theirs = rec.fit_of(iid, h.id), rec.fit_of(iid, law.id)
        if mine is not None and theirs is not None:
            ranking = list(d.evidence_json["ranking"])
            rank = ranking.index(law.id) + 1 if law.id in ranking else None
            view = _compare(
                rec, iid, _numbers(mine.scores_json), law.id, "lost-to", rank
            )
            view["iteration_compared"] = rec.iteration(iid)
            return view
    return {**_brief(rec, law.id), "iteration_compared": None}


def _replacements(rec: _Record, hid: str, *, outgoing: bool) -> list[dict[str, Any]]:
    """Laws this one was replaced by (`outgoing`), or laws it replaced."""
    return [
        _brief(rec, e.target_id if outgoing else e.source_id)
        for e in rec.edges
        if e.relation == "replaced-by"
        and (e.source_id if outgoing else e.target_id) == hid
    ]


# -- decisions ---------------------------------------------------------------------


def _leader_of(rec: _Record, iteration_id: str | None) -> str | None:
    """The leader of an iteration's main decision."""
    for d in _judged(rec):
        if d.iteration_id == iteration_id:
            ranking = d.evidence_json.get("ranking") or []
            return str(ranking[0]) if ranking else None
    return None


def _decision_base(rec: _Record, d: DecisionRecord) -> dict[str, Any]:
    """Id, kind, iteration and reason of a decision."""
    return {
        "id": d.id,
        "kind": d.kind,
        "iteration": rec.iteration(d.iteration_id),
        "reason": d.reason,
    }


def _status_decision(
    rec: _Record,
    h: HypothesisRecord,
    rankings: list[dict[str, Any]],
    config: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The decision that set the hypothesis's current status, with its numbers."""
    if h.status == "accepted":
        return _accepted(rec, h, config)
    if h.status == "superseded":
        return _superseded(rec, h)
    if h.status == "rejected":
        return _rejected(rec, h)
    if rankings:  # open: the latest iteration that judged it
        last = rankings[-1]
        leader = last["leader"]
        by = leader if leader and leader["id"] != h.id else None
        return {
            "id": last["decision_id"],
            "kind": last["decision_kind"],
            "iteration": last["iteration"],
            "reason": next(
                d.reason for d in rec.decisions if d.id == last["decision_id"]
            ),
            # Still open: no decision set its status; the last ranking holds it there.
            "source": "ranking",
            "status": h.status,
            "evidence": {**last["scores"], "rank": last["rank"], "of": last["of"]},
            "by": by,
        }
    return None


def _accepted(
    rec: _Record, h: HypothesisRecord, config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The accept decision, with the fit and fresh-data numbers it rests on."""
    for d in rec.decisions:
        if d.kind == "accept" and d.hypothesis_id == h.id:
            ev = d.evidence_json or {}
            fit = rec.fit_of(d.iteration_id or "", h.id)
            scores = fit.scores_json if fit else {}
            return {
                **_decision_base(rec, d),
                "source": "decision",
                "status": h.status,
                "evidence": {
                    **_numbers(scores),
                    "fit": ev.get("leader_fit"),
                    "fresh_chi2": _num(scores.get("fresh_chi2")),
                    "fresh_bound": _num(scores.get("fresh_bound")),
                    "streak": scores.get("streak"),
                    "confirmations": config.get("confirmations"),
                    "measurements": ev.get("measurements"),
                },
                "by": None,
            }
    return None


def _superseded(rec: _Record, h: HypothesisRecord) -> dict[str, Any] | None:
    """The supersede decision that listed it, with its numbers against the accepted law."""
    for d in rec.decisions:
        if d.kind == "supersede" and h.id in (d.evidence_json or {}).get(
            "superseded", []
        ):
            law = d.hypothesis_id or ""
            mine = _fit_numbers(rec, d.iteration_id, h.id)
            theirs = _fit_numbers(rec, d.iteration_id, law)
            return {
                **_decision_base(rec, d),
                "source": "decision",
                "status": h.status,
                "evidence": {
                    **mine,
                    "accepted_chi2": theirs["chi2"],
                    "accepted_bic": theirs["bic"],
                    "accepted_complexity": theirs["complexity"],
                    "d_complexity": _diff(mine["complexity"], theirs["complexity"]),
                    "d_bic": _diff(mine["bic"], theirs["bic"]),
                },
                "by": _brief(rec, law) if law else None,
            }
    return None


def _rejected(rec: _Record, h: HypothesisRecord) -> dict[str, Any] | None:
    """The reject decision (a misfit, a failed fit) or the units check that rejected it."""
    for d in rec.decisions:
        if d.kind == "reject" and d.hypothesis_id == h.id:
            ev = d.evidence_json or {}
            mine = _numbers(ev.get("scores"))
            leader = _leader_of(rec, d.iteration_id)
            theirs = _fit_numbers(rec, d.iteration_id, leader or "")
            ratio = (
                _num(mine["chi2"] / mine["bound"])
                if mine["chi2"] is not None and mine["bound"]
                else None
            )
            return {
                **_decision_base(rec, d),
                "source": "decision",
                "status": h.status,
                "evidence": {
                    **mine,
                    "fit": ev.get("fit"),
                    "chi2_over_bound": ratio,
                    "leader_chi2": theirs["chi2"],
                    "leader_bic": theirs["bic"],
                    "d_bic": _diff(mine["bic"], theirs["bic"]),
                },
                "by": _brief(rec, leader) if leader else None,
            }
    admission = _admission(rec, h.id)
    if admission and admission["outcome"] == "rejected":
        return {
            "id": admission["decision_id"],
            "kind": "formalize",
            "iteration": admission["iteration"],
            "reason": admission["reason"],
            "source": "formalize",
            "status": h.status,
            "evidence": {
                "units_consistent": h.units_consistent,
                "units_message": h.units_message,
                "repair": admission["repair"],
            },
            "by": None,
        }
    return None


def _timeline(rec: _Record, hid: str) -> list[dict[str, Any]]:
    """Every decision about the hypothesis, in the order they were made, with its role there.

    The role is `subject` (the decision names it: as leader, accepted,
    rejected), `superseded`, or `admission: new|duplicate|rejected` for the
    `formalize` outcome that took it in or turned it away.
    """
    out = []
    for d in rec.decisions:
        ev = d.evidence_json or {}
        if d.kind == "formalize":
            role = next(
                (
                    f"admission: {o.get('outcome')}"
                    for o in ev.get("outcomes", [])
                    if o.get("hypothesis") == hid
                ),
                None,
            )
        elif hid in ev.get("superseded", []):
            role = "superseded"
        else:
            role = "subject" if d.hypothesis_id == hid else None
        if role is not None:
            out.append({**_decision_base(rec, d), "role": role})
    return out


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


def _lineage(rec: _Record, ids: set[str], core: set[str]) -> list[dict[str, Any]]:
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
