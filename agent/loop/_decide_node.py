"""The decide node: judge the fits, attack the leader, accept, reject, stop or go on."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from lawloop.agent._ids import node_id
from lawloop.agent.loop._context import _RIVALS, LoopContext
from lawloop.agent.record import (
    DecideEvidence,
    FitScores,
    RejectEvidence,
    SupersedeEvidence,
    TopFit,
)
from lawloop.agent.science._attack import (
    ALPHA,
    AttackResult,
    attack_law,
    holds_to_text,
    scale_words,
)
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._fitting import predictor
from lawloop.agent.science._judge import (
    Judgement,
    Scored,
    judge,
    point_sigma,
)
from lawloop.storage import EntityKind, HypothesisStatus, Relation

__all__ = ["DecideNodes"]

log = logging.getLogger(__name__)


class DecideNodes(LoopContext):
    """Judge an iteration's fits and record the decision with its evidence."""

    def _supersede(self, k: int, accepted: str, scored: list[Scored]) -> None:
        """Mark rivals that also fit, but are more complex, as replaced by the accepted law."""
        rivals = [
            s.hypothesis_id
            for s in scored
            if s.hypothesis_id != accepted and s.success and s.chi2 <= s.bound
        ]
        if not rivals:
            return
        did = node_id(self.campaign_id, k, "supersede")
        self.record_decision(
            did,
            k,
            "supersede",
            f"{len(rivals)} rival law(s) also fit the data but are no simpler; "
            "the accepted law replaces them",
            hypothesis_id=accepted,
            evidence=SupersedeEvidence(superseded=rivals).dump(),
        )
        for hid in rivals:
            self.store.set_hypothesis_status(
                hid, HypothesisStatus.SUPERSEDED, decision_id=did
            )
            self.store.link(
                hid,
                EntityKind.HYPOTHESIS,
                accepted,
                EntityKind.HYPOTHESIS,
                Relation.REPLACED_BY,
            )

    def _attack(
        self, k: int, verdict: Judgement, scored: list[Scored], fit_of: dict[str, Any]
    ) -> tuple[Judgement, AttackResult | None, list[str]]:
        """Attack the adequate leader; a refuted one is rejected and the rivals judged again.

        Returns the judgement that stands, the attack on its leader (None
        when no adequate law leads) and the laws the attack refuted.
        """
        data: Dataset | None = None
        refuted: list[str] = []
        for _ in range(_RIVALS):
            if not verdict.leader_adequate or verdict.leader is None:
                return verdict, None, refuted
            if data is None:
                data = self.data(until=k)
            attack = self._attack_one(verdict.leader, fit_of[verdict.leader], data)
            if attack.verdict != "refuted":
                return verdict, attack, refuted
            hid = verdict.leader
            refuted.append(hid)
            self._reject(
                k,
                hid,
                _refutation(attack),
                RejectEvidence(fit=fit_of[hid].id, attack=attack.evidence()),
            )
            scored = [s for s in scored if s.hypothesis_id != hid]
            verdict = judge(scored, confirmations=self.config.confirmations)
        return verdict, None, refuted

    def _attack_one(self, hid: str, fit: Any, data: Dataset) -> AttackResult:
        """The attack on one fitted law, on all the data."""
        hyp = self.store.get_hypothesis(hid)
        params = tuple(hyp.parameters_json)
        noise, _ = data.noise()
        sigma = point_sigma(data.y, noise, self.tolerance, self.backend.declared_noise)

        def make(values: Any) -> Any:
            return predictor(hyp.expression, self.variables, params, values)

        return attack_law(
            self.backend.inputs,
            data,
            make,
            {p: float(fit.parameters_json[p]) for p in params},
            sigma,
            goal=max(self.config.claim_precision, self.tolerance),
            material=self.tolerance,
            reference=_noise_reference(data.y, noise, self.tolerance),
        )

    def decide(self, k: int, elapsed_s: float) -> tuple[bool, str]:
        """Judge this iteration's fits; accept, reject, stop or go on. Returns (done, reason)."""
        did = node_id(self.campaign_id, k, "decide")
        iid = self.iteration_id(k)
        fits = self.store.fits_in_iteration(iid)
        scores = {f.id: FitScores.read(f.scores_json) for f in fits}
        fit_of = {f.hypothesis_id: f for f in fits}
        scored = [self._scored(f, scores[f.id]) for f in fits]
        verdict = judge(scored, confirmations=self.config.confirmations)
        for s in scored:
            if s.success and np.isfinite(s.bic):
                self.store.set_hypothesis_score(s.hypothesis_id, s.bic)
        verdict, attack, refuted = self._attack(k, verdict, scored, fit_of)
        # Laws the attack refuted are out of this iteration's contest.
        scored = [s for s in scored if s.hypothesis_id not in refuted]
        for hid, why in verdict.rejected:
            fit = fit_of[hid]
            self._reject(k, hid, why, RejectEvidence(fit=fit.id, scores=scores[fit.id]))
        measured = self.measured()
        if verdict.accept and (attack is None or attack.verdict != "holds"):
            # Adequate and confirmed, but not yet shown to hold to the claimed
            # precision: the next designs attack it.
            verdict = replace(verdict, accept=False, reason=_attacking(verdict, attack))
        done, stop, kind = self._ending(k, verdict, measured, elapsed_s)
        reason = (
            verdict.reason
            if not stop or stop == "accepted"
            else f"{stop}; {verdict.reason}"
        )
        if stop == "accepted" and attack is not None:
            reason = f"{reason}; it {holds_to_text(attack.evidence())}"
        rivals: list[str] | None = None
        if done and stop != "accepted" and verdict.leader_adequate:
            rivals, reason = self._consistent(stop, verdict, scored, attack)
            stop = "consistent"
        leader_fit = fit_of.get(verdict.leader or "")
        evidence = DecideEvidence(
            ranking=list(verdict.ranking),
            leader=verdict.leader,
            leader_adequate=verdict.leader_adequate,
            leader_fit=leader_fit.id if leader_fit else None,
            top=[
                TopFit(hypothesis=hid, scores=scores[fit_of[hid].id])
                for hid in verdict.ranking[:_RIVALS]
            ],
            measurements=measured,
            iterations=k + 1,
            rivals=rivals,
            attack=attack.evidence() if attack is not None else None,
        )
        self.record_decision(
            did, k, kind, reason, hypothesis_id=verdict.leader, evidence=evidence.dump()
        )
        if verdict.accept and verdict.leader:
            self._accept(k, did, verdict.leader, leader_fit, scored)
        self.store.finish_iteration(
            iid, {"decision": kind, "reason": reason, "measurements": measured}
        )
        return done, stop

    def _scored(self, fit: Any, scores: FitScores) -> Scored:
        """What the judge compares of one fit."""
        return Scored.of(
            fit.hypothesis_id,
            scores,
            success=fit.success,
            default_bound=self.config.adequacy_chi2,
        )

    def _reject(self, k: int, hid: str, why: str, evidence: RejectEvidence) -> None:
        """Record the rejection of `hid`: the decision, its status and the refuting edge."""
        rid = node_id(self.campaign_id, k, "reject", hid)
        self.record_decision(
            rid, k, "reject", why, hypothesis_id=hid, evidence=evidence.dump()
        )
        self.store.set_hypothesis_status(
            hid, HypothesisStatus.REJECTED, decision_id=rid
        )
        self.store.link(
            hid, EntityKind.HYPOTHESIS, rid, EntityKind.DECISION, Relation.REFUTED_BY
        )

    def _ending(
        self, k: int, verdict: Judgement, measured: int, elapsed_s: float
    ) -> tuple[bool, str, str]:
        """(done, stop reason, decision kind): accepted, a budget used up, or go on."""
        cfg = self.config
        if verdict.accept:
            return True, "accepted", "accept"
        if k + 1 >= cfg.max_iterations:
            return True, f"iteration budget ({cfg.max_iterations}) used", "stop"
        if measured >= cfg.max_measurements:
            return True, f"measurement budget ({cfg.max_measurements}) used", "stop"
        if cfg.time_limit is not None and elapsed_s >= cfg.time_limit:
            return True, f"time limit ({cfg.time_limit:g} s) reached", "stop"
        return False, "", "continue"

    def _consistent(
        self,
        stop: str,
        verdict: Judgement,
        scored: list[Scored],
        attack: AttackResult | None,
    ) -> tuple[list[str], str]:
        """The rivals and the reason of a budget that ended on an adequate, unaccepted leader.

        "Consistent" names the rivals the budget did not exclude; it never
        calls the simplest of them "accepted".
        """
        rivals = [
            s.hypothesis_id
            for s in scored
            if s.hypothesis_id != verdict.leader and s.success and s.chi2 <= s.bound
        ]
        if rivals:
            unresolved = f"{len(rivals)} rival law(s) fit every measurement as well"
        elif attack is not None and attack.verdict != "holds":
            unresolved = (
                f"the attack could bound a correction only to "
                f"{_precision(attack)} ({scale_words(attack.reference)}, 95 %), short of the "
                f"{self.config.claim_precision:g} an accepted law must hold to"
            )
        else:
            unresolved = "it was not yet confirmed on fresh data"
        reason = (
            f"consistent, not accepted: {stop}; the leader fits every "
            f"measurement but {unresolved}; {verdict.reason}"
        )
        return rivals, reason

    def _accept(
        self, k: int, did: str, leader: str, leader_fit: Any, scored: list[Scored]
    ) -> None:
        """Record the acceptance: status, the supporting edges, and the rivals it supersedes."""
        self.store.set_hypothesis_status(
            leader, HypothesisStatus.ACCEPTED, decision_id=did
        )
        self.store.link(
            leader,
            EntityKind.HYPOTHESIS,
            did,
            EntityKind.DECISION,
            Relation.SUPPORTED_BY,
        )
        if leader_fit:
            self.store.link(
                did,
                EntityKind.DECISION,
                leader_fit.id,
                EntityKind.MODEL_FIT,
                Relation.SUPPORTED_BY,
            )
        self._supersede(k, leader, scored)


def _precision(attack: AttackResult) -> str:
    p = attack.test.precision
    return f"{p:.2g}" if np.isfinite(p) else "nothing (too few measurements)"


def _refutation(attack: AttackResult) -> str:
    """Why the attack refutes a law, in words."""
    t = attack.test
    where = ", ".join(f"{k}={v:.3g}" for k, v in attack.worst.items())
    return (
        f"refuted by the attack: a smooth correction of {t.largest:.2g} "
        f"({scale_words(attack.reference)}) "
        f"(largest, at {where}) is seen on {attack.n} measurements "
        f"(F test p = {t.p_value:.2g} < {ALPHA:g}), larger than the "
        f"{attack.material:g} laws are stated to"
    )


def _attacking(verdict: Judgement, attack: AttackResult | None) -> str:
    """The reason of an adequate, confirmed leader still under attack."""
    if attack is None:
        return verdict.reason
    return (
        f"{verdict.reason}; not accepted yet: the attack bounds a correction to "
        f"{_precision(attack)} (relative, 95 %), the goal is {attack.goal:g}"
    )


def _noise_reference(
    y: np.ndarray, noise: float | None, tolerance: float
) -> float | None:
    """The output's RMS when noise of fixed size dominates the measurements, else None.

    Fixed-size noise (the benchmarks' and most instruments': a fraction of
    the output's RMS) cannot support a relative claim where the output is
    small; a claim in units of the RMS is then the honest one. Without it,
    or below the relative tolerance, the claim stays relative.
    """
    rms = float(np.sqrt(np.mean(y**2))) if len(y) else 0.0
    if noise is None or not np.isfinite(noise) or rms <= 0 or noise <= tolerance * rms:
        return None
    return rms
