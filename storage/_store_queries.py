"""`Store` reads: lookups by id, lists per campaign, the lineage check and the dump."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from lawloop.storage import _dump
from lawloop.storage._models import (
    MODELS,
    Base,
    Campaign,
    Decision,
    EntityKind,
    ExperimentRun,
    Hypothesis,
    HypothesisStatus,
    Iteration,
    LineageEdge,
    ModelFit,
    PlannerCall,
)
from lawloop.storage._records import (
    CampaignRecord,
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    IterationRecord,
    PlannerCallRecord,
    RunRecord,
    to_record,
)
from lawloop.storage._store_base import StoreBase, enum_value, of_campaign

__all__ = ["QueriesMixin"]

R = TypeVar("R")


class QueriesMixin(StoreBase):
    """`Store.get_*` (one row by id), `list_*` and `*_for` (rows in order), `check_lineage`, `dump_campaign`."""

    # -- queries ------------------------------------------------------------

    def has_row(self, table: str, id: str) -> bool:
        """Whether `table` (an `EntityKind` or `lineage_edge`) has a row with this id."""
        model = (
            LineageEdge
            if table == "lineage_edge"
            else MODELS[enum_value(EntityKind, table, "table")]
        )
        with self._sessions() as session:
            return session.get(model, id) is not None

    def get_campaign(self, id_or_prefix: str) -> CampaignRecord:
        """The campaign whose id is or starts with `id_or_prefix`, else whose name it is.

        Raises:
            NotFoundError: No match.
            AmbiguousIdError: The prefix matches several campaigns.
        """
        with self._sessions() as session:
            return to_record(
                CampaignRecord,
                self._resolve(session, Campaign, id_or_prefix, "campaign"),
            )

    def get_hypothesis(self, id_or_prefix: str) -> HypothesisRecord:
        """The hypothesis whose id is or starts with `id_or_prefix`.

        Raises:
            NotFoundError: No match.
            AmbiguousIdError: The prefix matches several hypotheses.
        """
        with self._sessions() as session:
            row = self._resolve(session, Hypothesis, id_or_prefix, "hypothesis")
            return to_record(HypothesisRecord, row)

    def _by_id(self, cls: type[R], model: type[Base], id: str, what: str) -> R:
        """The record of the `model` row with exactly this id, or `NotFoundError`."""
        with self._sessions() as session:
            return to_record(cls, self._get(session, model, id, what))

    def get_iteration(self, id: str) -> IterationRecord:
        """The iteration with this id (exact).

        Raises:
            NotFoundError: No such iteration.
        """
        return self._by_id(IterationRecord, Iteration, id, "iteration")

    def get_run(self, id: str) -> RunRecord:
        """The experiment run with this id (exact).

        Raises:
            NotFoundError: No such run.
        """
        return self._by_id(RunRecord, ExperimentRun, id, "experiment_run")

    def get_planner_call(self, id: str) -> PlannerCallRecord:
        """The planner call with this id (exact).

        Raises:
            NotFoundError: No such planner call.
        """
        return self._by_id(PlannerCallRecord, PlannerCall, id, "planner_call")

    def get_fit(self, id: str) -> FitRecord:
        """The model fit with this id (exact).

        Raises:
            NotFoundError: No such fit.
        """
        return self._by_id(FitRecord, ModelFit, id, "model_fit")

    def get_decision(self, id: str) -> DecisionRecord:
        """The decision with this id (exact).

        Raises:
            NotFoundError: No such decision.
        """
        return self._by_id(DecisionRecord, Decision, id, "decision")

    def list_campaigns(self) -> list[CampaignRecord]:
        """All campaigns, oldest first."""
        return self._select(CampaignRecord, sa.select(Campaign).order_by(Campaign.seq))

    def list_hypotheses(
        self, campaign_id: str | None = None, status: str | None = None
    ) -> list[HypothesisRecord]:
        """Hypotheses in insertion order, optionally of one campaign and/or status."""
        statement = sa.select(Hypothesis).order_by(Hypothesis.seq)
        if campaign_id is not None:
            statement = statement.where(Hypothesis.campaign_id == campaign_id)
        if status is not None:
            value = enum_value(HypothesisStatus, status, "hypothesis status")
            statement = statement.where(Hypothesis.status == value)
        return self._select(HypothesisRecord, statement)

    def fits_for(self, hypothesis_id: str) -> list[FitRecord]:
        """Fits of one hypothesis, in insertion order."""
        return self._select(
            FitRecord,
            sa.select(ModelFit)
            .where(ModelFit.hypothesis_id == hypothesis_id)
            .order_by(ModelFit.seq),
        )

    def fits_in_iteration(self, iteration_id: str) -> list[FitRecord]:
        """Fits made in one iteration, in insertion order."""
        return self._select(
            FitRecord,
            sa.select(ModelFit)
            .where(ModelFit.iteration_id == iteration_id)
            .order_by(ModelFit.seq),
        )

    def iterations_for(self, campaign_id: str) -> list[IterationRecord]:
        """Iterations of one campaign, by index."""
        return self._select(
            IterationRecord,
            sa.select(Iteration)
            .where(Iteration.campaign_id == campaign_id)
            .order_by(Iteration.index),
        )

    def runs_for(self, campaign_id: str) -> list[RunRecord]:
        """Experiment runs of one campaign, in insertion order."""
        return self._select(RunRecord, of_campaign(ExperimentRun, campaign_id))

    def planner_calls_for(self, campaign_id: str) -> list[PlannerCallRecord]:
        """Planner calls of one campaign, in insertion order."""
        return self._select(PlannerCallRecord, of_campaign(PlannerCall, campaign_id))

    def decisions_for(self, campaign_id: str) -> list[DecisionRecord]:
        """Decisions of one campaign, in insertion order."""
        return self._select(DecisionRecord, of_campaign(Decision, campaign_id))

    def edges_for(self, campaign_id: str) -> list[EdgeRecord]:
        """Lineage edges of one campaign, in insertion order."""
        return self._select(EdgeRecord, of_campaign(LineageEdge, campaign_id))

    def check_lineage(self, campaign_id: str | None = None) -> list[str]:
        """Check that every edge's ends exist; return one message per dangling end.

        `link()` checks this on insert; this re-checks a database that was
        written by other means. An empty list means all is well.
        """
        problems = []
        with self._sessions() as session:
            for kind, model in MODELS.items():
                key = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
                for end in ("source", "target"):
                    id_col = getattr(LineageEdge, f"{end}_id")
                    statement = sa.select(LineageEdge).where(
                        getattr(LineageEdge, f"{end}_kind") == kind,
                        ~sa.exists().where(key == id_col),
                    )
                    if campaign_id is not None:
                        statement = statement.where(
                            LineageEdge.campaign_id == campaign_id
                        )
                    for edge in session.scalars(statement.order_by(LineageEdge.seq)):
                        problems.append(
                            f"Edge `{edge.id}` ({edge.relation.value}): {end} "
                            f"{kind.value} `{getattr(edge, f'{end}_id')}` does not exist."
                        )
        return problems

    def dump_campaign(
        self, campaign_id: str, *, drop: Sequence[str] = _dump.DEFAULT_DROP
    ) -> dict[str, list[dict[str, Any]]]:
        """A canonical dump of every row of a campaign, ids replaced by ordinals.

        See `storage._dump` for the ordering; two campaigns run with the same
        configuration and seed give equal dumps.

        Args:
            campaign_id: The campaign id or a unique prefix of it.
            drop: Column names left out of every row (timestamps, durations...).

        Returns:
            Table name to list of rows (plain dicts), plus `artifact` metadata.
        """
        with self._sessions() as session:
            campaign = self._resolve(session, Campaign, campaign_id, "campaign")
            return _dump.dump_campaign(session, campaign.id, drop=frozenset(drop))
