"""The constrained strings of the record: statuses, entity kinds and lineage relations.

Each is a `StrEnum`, so a member and its string are interchangeable: the
store accepts either and stores the string, byte for byte the same.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CampaignStatus", "EntityKind", "HypothesisStatus", "Relation"]


class CampaignStatus(StrEnum):
    """Life cycle of a campaign (`campaign.status`, updatable)."""

    CREATED = "created"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class HypothesisStatus(StrEnum):
    """Verdict on a hypothesis (`hypothesis.status`, updatable)."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class EntityKind(StrEnum):
    """The kinds of row a lineage edge may point at; each is its table's name."""

    CAMPAIGN = "campaign"
    ITERATION = "iteration"
    ARTIFACT = "artifact"
    EXPERIMENT_RUN = "experiment_run"
    PLANNER_CALL = "planner_call"
    HYPOTHESIS = "hypothesis"
    MODEL_FIT = "model_fit"
    DECISION = "decision"


class Relation(StrEnum):
    """Lineage edge types; an edge reads "source RELATION target"."""

    DERIVED_FROM = "derived-from"
    TESTED_BY = "tested-by"
    SUPPORTED_BY = "supported-by"
    REFUTED_BY = "refuted-by"
    REPLACED_BY = "replaced-by"
    PROPOSED_BY = "proposed-by"
    FITTED_ON = "fitted-on"
    PRODUCED_BY = "produced-by"
