"""`Store` writes of what a campaign claims: hypotheses and their statuses, fits, decisions, lineage edges."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from lawloop.storage._edges import check_edge
from lawloop.storage._models import (
    MODELS,
    Decision,
    EntityKind,
    Hypothesis,
    HypothesisStatus,
    LineageEdge,
    ModelFit,
    Relation,
)
from lawloop.storage._store_base import (
    EDGE_NAMESPACE,
    StoreBase,
    campaign_of,
    enum_value,
)
from lawloop.storage.errors import InvalidValueError

__all__ = ["ClaimsMixin"]


class ClaimsMixin(StoreBase):
    """`Store.add_hypothesis`, `set_hypothesis_status`, `add_fit`, `add_decision` and `link`."""

    # -- hypotheses, fits, decisions, lineage -------------------------------

    def add_hypothesis(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        expression: str,
        parameters: Sequence[str],
        source: str,
        source_detail: str = "",
        canonical_key: str = "",
        units_consistent: bool | None = None,
        units_message: str = "",
        statement: str = "",
        status: HypothesisStatus = HypothesisStatus.OPEN,
        score: float | None = None,
    ) -> bool:
        """Record a hypothesis (insert-if-absent).

        Args:
            id: The hypothesis id.
            campaign_id: Its campaign.
            iteration_id: Iteration that proposed it, if any.
            expression: Expression text with free parameters.
            parameters: Names of the free parameters.
            source: `llm`, `offline`, `sr`, `mutation`, `template`, `power-law`, ...
            source_detail: E.g. the parent of a mutation, the SR engine.
            canonical_key: `tools.canonical_key` of the expression (indexed).
            units_consistent: Result of the units check; `None` if not checked.
            units_message: Why the units check failed, if it did.
            statement: The hypothesis in words.
            status: Initial `HypothesisStatus` value.
            score: Initial score, if any.

        Returns:
            Whether a row was written.
        """
        initial = enum_value(HypothesisStatus, status, "hypothesis status")
        with self._transaction() as session:
            wrote = self._insert_in(
                session,
                Hypothesis,
                id,
                dict(
                    id=id,
                    campaign_id=campaign_id,
                    iteration_id=iteration_id,
                    expression=expression,
                    parameters_json=list(parameters),
                    source=source,
                    source_detail=source_detail,
                    canonical_key=canonical_key,
                    units_consistent=units_consistent,
                    units_message=units_message,
                    statement=statement,
                    status=HypothesisStatus.OPEN,
                    score=None if score is None else float(score),
                ),
            )
            if wrote and initial is not HypothesisStatus.OPEN:
                # Born decided (e.g. refused at formalization): on the record as a change.
                row = self._get(session, Hypothesis, id, "hypothesis")
                self._change_status(session, row, initial, None)
            return wrote

    def set_hypothesis_status(
        self,
        id: str,
        status: HypothesisStatus,
        *,
        decision_id: str | None = None,
        score: float | None = None,
    ) -> None:
        """Update a hypothesis's status, and its score unless `score` is `None`.

        A change of status is recorded as a `status_change` row, chained like
        every row, naming the decision behind it; setting the status it
        already has records nothing (a node re-run after a crash).

        Args:
            id: The hypothesis id (exact).
            status: The new status, e.g. `HypothesisStatus.REJECTED` (its string stores the same).
            decision_id: The decision that changed it (`None`: set by hand).
            score: New score; `None` keeps the current one.

        Raises:
            NotFoundError: No such hypothesis (or decision).
            InvalidValueError: Unknown status.
        """
        value = enum_value(HypothesisStatus, status, "hypothesis status")
        with self._transaction() as session:
            row = self._get(session, Hypothesis, id, "hypothesis")
            if decision_id is not None:
                self._get(session, Decision, decision_id, "decision")
            self._change_status(session, row, value, decision_id)
            if score is not None:
                row.score = float(score)

    def set_hypothesis_score(self, id: str, score: float) -> None:
        """Update a hypothesis's score (the BIC of its latest fit), leaving its status.

        Args:
            id: The hypothesis id (exact).
            score: The new score.

        Raises:
            NotFoundError: No such hypothesis.
        """
        with self._transaction() as session:
            row = self._get(session, Hypothesis, id, "hypothesis")
            row.score = float(score)

    def add_fit(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        hypothesis_id: str,
        method: str,
        parameters: Mapping[str, float],
        stderr: Mapping[str, float | None],
        covariance: Sequence[Sequence[float]] | None,
        scores: Mapping[str, Any],
        train_data: Sequence[str],
        test_data: Sequence[str] = (),
        success: bool,
        message: str = "",
    ) -> bool:
        """Record a parameter fit of a hypothesis (insert-if-absent).

        Args:
            id: The fit id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            hypothesis_id: The fitted hypothesis.
            method: Fitting method, e.g. `least_squares`.
            parameters: Fitted values by parameter name.
            stderr: Standard errors by parameter name.
            covariance: Covariance matrix as nested lists (parameter order), or `None`.
            scores: `r2`, `rmse`, `bic`, held-out scores, ...
            train_data: Artifact sha256s of the training data.
            test_data: Artifact sha256s of held-out data.
            success: Whether the fit converged.
            message: The fitter's message or failure reason.

        Returns:
            Whether a row was written.
        """
        return self._insert(
            ModelFit,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                hypothesis_id=hypothesis_id,
                method=method,
                parameters_json=dict(parameters),
                stderr_json=dict(stderr),
                covariance_json=None
                if covariance is None
                else [list(r) for r in covariance],
                scores_json=dict(scores),
                train_data_json=list(train_data),
                test_data_json=list(test_data),
                success=bool(success),
                message=message,
            ),
        )

    def add_decision(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        kind: str,
        reason: str,
        hypothesis_id: str | None = None,
        evidence: Any = None,
    ) -> bool:
        """Record a decision (insert-if-absent).

        Args:
            id: The decision id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            kind: `accept`, `reject`, `continue`, `stop`, `design`, ...
            reason: Why, in words.
            hypothesis_id: The hypothesis it is about, if any.
            evidence: JSON-serializable evidence (fit ids, scores, ...).

        Returns:
            Whether a row was written.
        """
        return self._insert(
            Decision,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                kind=kind,
                reason=reason,
                hypothesis_id=hypothesis_id,
                evidence_json={} if evidence is None else evidence,
            ),
        )

    def link(
        self,
        source_id: str,
        source_kind: EntityKind,
        target_id: str,
        target_kind: EntityKind,
        relation: Relation,
    ) -> bool:
        """Record the lineage edge "source RELATION target" (insert-if-absent).

        Both rows must exist, and the triple (source kind, relation, target
        kind) must be in `storage.ALLOWED_EDGES`; the edge belongs to the
        campaign of the source (or of the target when the source is an
        artifact). Its id is uuid5(`EDGE_NAMESPACE`, "source|target|relation").
        The enums are `StrEnum`s: their plain strings are accepted too, and
        either stores the same row.

        Args:
            source_id: Id (sha256 for artifacts) of the source row.
            source_kind: Its kind (table name), e.g. `EntityKind.HYPOTHESIS`.
            target_id: Id of the target row.
            target_kind: Its kind.
            relation: The edge's relation, e.g. `Relation.TESTED_BY`.

        Returns:
            Whether an edge was written.

        Raises:
            EdgeNotAllowedError: The triple is not allowed; the message lists
                the edges allowed from the source kind.
            InvalidValueError: Unknown kind or relation, or two artifacts.
            NotFoundError: An end does not exist.
        """
        skind = enum_value(EntityKind, source_kind, "entity kind")
        tkind = enum_value(EntityKind, target_kind, "entity kind")
        rel = enum_value(Relation, relation, "relation")
        check_edge(skind, rel, tkind)
        edge_id = str(
            uuid.uuid5(EDGE_NAMESPACE, f"{source_id}|{target_id}|{rel.value}")
        )
        with self._sessions() as session:
            if session.get(LineageEdge, edge_id) is not None:
                return False
            source = self._get(session, MODELS[skind], source_id, skind.value)
            target = self._get(session, MODELS[tkind], target_id, tkind.value)
        campaign_id = campaign_of(skind, source) or campaign_of(tkind, target)
        if campaign_id is None:
            msg = "An edge between two artifacts belongs to no campaign; link a run or fit instead."
            raise InvalidValueError(msg)
        return self._insert(
            LineageEdge,
            edge_id,
            dict(
                id=edge_id,
                campaign_id=campaign_id,
                source_id=source_id,
                source_kind=skind,
                target_id=target_id,
                target_kind=tkind,
                relation=rel,
            ),
        )
