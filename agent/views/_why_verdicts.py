"""How `why` judges a law: its rank among rivals in each iteration, and the decision that set its status.

Every number is one a node recorded (read through
`agent.views._why_record`), or the difference of two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lawloop.agent.record import (
    DecideEvidence,
    FitScores,
    FormalizeEvidence,
    RejectEvidence,
    SupersedeEvidence,
    decision_evidence,
)
from lawloop.agent.science._judge import Scored, ranked_above
from lawloop.agent.views._why_record import (
    WhyRecord,
    admission_of,
    brief,
    num,
    numbers,
    scores_of,
)
from lawloop.storage import DecisionRecord, HypothesisRecord

__all__ = [
    "rankings_of",
    "replacements",
    "status_decision",
    "timeline",
    "versus_accepted",
]

_RUNNERS_UP = 3  # rivals named per iteration where the law led
_JUDGED = ("continue", "accept", "stop")  # kinds of an iteration's main decision


# -- rivals ------------------------------------------------------------------------


def _fit_scores(rec: WhyRecord, iteration_id: str | None, hid: str) -> FitScores | None:
    """A hypothesis's recorded scores in an iteration (None if not fitted there)."""
    return scores_of(rec.fit_of(iteration_id or "", hid))


def _fit_numbers(rec: WhyRecord, iteration_id: str | None, hid: str) -> dict[str, Any]:
    """The judge's numbers for a hypothesis in an iteration (all `None` if not fitted there)."""
    return numbers(_fit_scores(rec, iteration_id, hid))


def _scored(rec: WhyRecord, hid: str, scores: FitScores | None) -> Scored | None:
    """The fit as the judge compared it (None: not fitted)."""
    if scores is None:
        return None
    return Scored.of(
        hid, scores, success=scores.bic is not None, default_bound=rec.default_bound
    )


def _adequate(rec: WhyRecord, hid: str, scores: FitScores | None) -> bool:
    """Whether a fit's reduced chi-square is within its adequacy bound, as the judge saw it."""
    s = _scored(rec, hid, scores)
    return s is not None and s.success and s.chi2 <= s.bound


def _diff(a: Any, b: Any) -> Any:
    """`a - b` when both are numbers, else `None`."""
    if a is None or b is None:
        return None
    return num(float(a) - float(b))


def _compare(
    rec: WhyRecord,
    iteration_id: str,
    this: tuple[str, FitScores | None],
    other_id: str,
    relation: str,
    rank: int | None,
) -> dict[str, Any]:
    """Another law's numbers in the same iteration, the differences (other minus this), and the judge's rule."""
    this_id, this_scores = this
    other_scores = _fit_scores(rec, iteration_id, other_id)
    mine, other = numbers(this_scores), numbers(other_scores)
    win, lose = (
        (_scored(rec, this_id, this_scores), _scored(rec, other_id, other_scores))
        if relation == "beat"
        else (_scored(rec, other_id, other_scores), _scored(rec, this_id, this_scores))
    )
    return {
        **brief(rec, other_id),
        "relation": relation,
        "rank": rank,
        **{k: other[k] for k in ("chi2", "bound", "bic", "complexity")},
        "adequate": _adequate(rec, other_id, other_scores),
        "d_chi2": _diff(other["chi2"], mine["chi2"]),
        "d_bic": _diff(other["bic"], mine["bic"]),
        "d_complexity": _diff(other["complexity"], mine["complexity"]),
        "rule": ranked_above(win, lose)
        if win is not None
        else "a failed fit is never ranked",
    }


def _judged(rec: WhyRecord) -> list[DecisionRecord]:
    """Each iteration's main decision (the one holding the ranking), in order."""
    return [d for d in rec.decisions if d.kind in _JUDGED]


def _ranking(d: DecisionRecord) -> list[str]:
    """The judge's ranking recorded by an iteration's main decision, best first."""
    return list(DecideEvidence.read(d.evidence_json).ranking)


def rankings_of(rec: WhyRecord, hid: str) -> list[dict[str, Any]]:
    """Per iteration where the law was fitted: its rank and the laws it beat or lost to."""
    out = []
    for d in _judged(rec):
        iid = d.iteration_id or ""
        fit = rec.fit_of(iid, hid)
        if fit is None:
            continue
        ranking = _ranking(d)
        this = (hid, scores_of(fit))
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
                "adequate": _adequate(rec, hid, this[1]),
                "scores": numbers(this[1]),
                "leader": brief(rec, ranking[0]) if ranking else None,
                "against": against,
            }
        )
    return out


def versus_accepted(rec: WhyRecord, h: HypothesisRecord) -> dict[str, Any] | None:
    """The comparison with the campaign's accepted law, in the last iteration both were fitted."""
    accepted = [x for x in rec.hypotheses.values() if x.status == "accepted"]
    if not accepted or accepted[0].id == h.id:
        return None
    law = accepted[0]
    for d in reversed(_judged(rec)):
        iid = d.iteration_id or ""
        mine, theirs = rec.fit_of(iid, h.id), rec.fit_of(iid, law.id)
        if mine is not None and theirs is not None:
            ranking = _ranking(d)
            rank = ranking.index(law.id) + 1 if law.id in ranking else None
            view = _compare(rec, iid, (h.id, scores_of(mine)), law.id, "lost-to", rank)
            view["iteration_compared"] = rec.iteration(iid)
            return view
    return {**brief(rec, law.id), "iteration_compared": None}


def replacements(rec: WhyRecord, hid: str, *, outgoing: bool) -> list[dict[str, Any]]:
    """Laws this one was replaced by (`outgoing`), or laws it replaced."""
    return [
        brief(rec, e.target_id if outgoing else e.source_id)
        for e in rec.edges
        if e.relation == "replaced-by"
        and (e.source_id if outgoing else e.target_id) == hid
    ]


# -- decisions ---------------------------------------------------------------------


def _leader_of(rec: WhyRecord, iteration_id: str | None) -> str | None:
    """The leader of an iteration's main decision."""
    for d in _judged(rec):
        if d.iteration_id == iteration_id:
            ranking = _ranking(d)
            return ranking[0] if ranking else None
    return None


def _decision_base(rec: WhyRecord, d: DecisionRecord) -> dict[str, Any]:
    """Id, kind, iteration and reason of a decision."""
    return {
        "id": d.id,
        "kind": d.kind,
        "iteration": rec.iteration(d.iteration_id),
        "reason": d.reason,
    }


def status_decision(
    rec: WhyRecord,
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
    rec: WhyRecord, h: HypothesisRecord, config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The accept decision, with the fit and fresh-data numbers it rests on."""
    for d in rec.decisions:
        if d.kind == "accept" and d.hypothesis_id == h.id:
            ev = DecideEvidence.read(d.evidence_json)
            scores = scores_of(rec.fit_of(d.iteration_id or "", h.id))
            return {
                **_decision_base(rec, d),
                "source": "decision",
                "status": h.status,
                "evidence": {
                    **numbers(scores),
                    "fit": ev.leader_fit,
                    "fresh_chi2": num(scores.fresh_chi2) if scores else None,
                    "fresh_bound": num(scores.fresh_bound) if scores else None,
                    "streak": scores.streak if scores else None,
                    "confirmations": config.get("confirmations"),
                    "measurements": ev.measurements,
                },
                "by": None,
            }
    return None


def _superseded(rec: WhyRecord, h: HypothesisRecord) -> dict[str, Any] | None:
    """The supersede decision that listed it, with its numbers against the accepted law."""
    for d in rec.decisions:
        if (
            d.kind == "supersede"
            and h.id in SupersedeEvidence.read(d.evidence_json).superseded
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
                "by": brief(rec, law) if law else None,
            }
    return None


def _rejected(rec: WhyRecord, h: HypothesisRecord) -> dict[str, Any] | None:
    """The reject decision (a misfit, a failed fit) or the units check that rejected it."""
    for d in rec.decisions:
        if d.kind == "reject" and d.hypothesis_id == h.id:
            ev = RejectEvidence.read(d.evidence_json)
            mine = numbers(ev.scores)
            leader = _leader_of(rec, d.iteration_id)
            theirs = _fit_numbers(rec, d.iteration_id, leader or "")
            ratio = (
                num(mine["chi2"] / mine["bound"])
                if mine["chi2"] is not None and mine["bound"]
                else None
            )
            return {
                **_decision_base(rec, d),
                "source": "decision",
                "status": h.status,
                "evidence": {
                    **mine,
                    "fit": ev.fit,
                    "chi2_over_bound": ratio,
                    "leader_chi2": theirs["chi2"],
                    "leader_bic": theirs["bic"],
                    "d_bic": _diff(mine["bic"], theirs["bic"]),
                },
                "by": brief(rec, leader) if leader else None,
            }
    admission = admission_of(rec, h.id)
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


def timeline(rec: WhyRecord, hid: str) -> list[dict[str, Any]]:
    """Every decision about the hypothesis, in the order they were made, with its role there.

    The role is `subject` (the decision names it: as leader, accepted,
    rejected), `superseded`, or `admission: new|duplicate|rejected` for the
    `formalize` outcome that took it in or turned it away.
    """
    out = []
    for d in rec.decisions:
        ev = decision_evidence(d.kind, d.evidence_json)
        if isinstance(ev, FormalizeEvidence):
            outcome = ev.outcome_of(hid)
            role = None if outcome is None else f"admission: {outcome}"
        elif isinstance(ev, SupersedeEvidence) and hid in ev.superseded:
            role = "superseded"
        else:
            role = "subject" if d.hypothesis_id == hid else None
        if role is not None:
            out.append({**_decision_base(rec, d), "role": role})
    return out
