"""Provenance tables (SQLAlchemy 2.0 typed declarative) and their immutability rule."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from lawloop.storage._enums import (
    CampaignStatus,
    EntityKind,
    HypothesisStatus,
    Relation,
)
from lawloop.storage.errors import ImmutableRowError

__all__ = [
    "RECORD_TABLES",
    "RUN_STATE_COLUMNS",
    "Artifact",
    "Base",
    "Campaign",
    "CampaignStatus",
    "ChainEntry",
    "Decision",
    "EntityKind",
    "ExperimentRun",
    "Hypothesis",
    "HypothesisStatus",
    "Iteration",
    "LineageEdge",
    "ModelFit",
    "PlannerCall",
    "Relation",
    "StatusChange",
    "UTCDateTime",
    "now_utc",
]


def now_utc() -> datetime:
    """Return the current time, UTC-aware."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A datetime column that only accepts and only returns UTC-aware values.

    SQLite keeps no time zone, so values are stored as naive UTC and given
    `UTC` back on read; PostgreSQL stores `timestamptz`.

    Example:
        >>> created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        """Reject naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"Naive datetime `{value!r}` given; pass an aware one, e.g. `datetime.now(UTC)`."
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        """Attach UTC to the naive values SQLite returns."""
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


def _enum(enum: type[StrEnum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing values."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


# Reusable column types (SQLAlchemy docs, "Mapping Whole Column Declarations to Python Types").
uuidpk = Annotated[str, mapped_column(sa.String(36), primary_key=True)]
# `seq` records insertion order, which is deterministic for a seeded campaign even
# though ids (uuid5 of the campaign id) and timestamps are not; `dump_campaign`
# orders by it. It is filled by the store as max(seq) + 1 within the insert.
seqcol = Annotated[int, mapped_column(sa.Integer, index=True)]
utcnow = Annotated[datetime, mapped_column(UTCDateTime(), default=now_utc)]
JSONAny = Annotated[Any, mapped_column(sa.JSON)]
JSONOptional = Annotated[Any, mapped_column(sa.JSON(none_as_null=True), nullable=True)]
text = Annotated[str, mapped_column(sa.Text)]
name200 = Annotated[str, mapped_column(sa.String(200))]
campaign_fk = Annotated[str, mapped_column(sa.ForeignKey("campaign.id"), index=True)]
iteration_fk = Annotated[
    str | None, mapped_column(sa.ForeignKey("iteration.id"), index=True, nullable=True)
]


class Base(DeclarativeBase):
    """Declarative base: constraint naming convention and the immutability rule.

    Subclasses list the columns that may change after insert in `__updatable__`;
    every other column is frozen once the row is written.
    """

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s__%(column_0_N_name)s",
            "uq": "uq_%(table_name)s__%(column_0_N_name)s",
            "ck": "ck_%(table_name)s__%(constraint_name)s",
            "fk": "fk_%(table_name)s__%(column_0_N_name)s__%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        str: sa.String(200),
        int: sa.Integer,
        float: sa.Float,
        bool: sa.Boolean,
    }
    __updatable__: ClassVar[frozenset[str]] = frozenset()


RUN_STATE_COLUMNS = frozenset(
    {
        "lease_token",
        "lease_host",
        "lease_pid",
        "lease_node",
        "heartbeat_at",
        "lease_expires_at",
        "stop_requested_at",
        "log_path",
        "progress_json",
    }
)
"""Columns of `campaign` that describe the live run, not the record: which
process holds the campaign, its heartbeat, a stop request, its log file and
progress. They differ between two runs of the same campaign, so dumps and
replays leave them out. Added by migration 0003."""


class Campaign(Base):
    """One campaign: its frozen configuration, code version and environment.

    The last columns (`RUN_STATE_COLUMNS`) are the live run's state: the lease
    a runner holds (token, host, pid, process namespace), its heartbeat and the
    lease's expiry, a pending stop request, the log file and a progress
    snapshot. The store writes them with conditional UPDATEs
    (`Store.acquire_lease` and the methods after it).
    """

    __tablename__ = "campaign"
    __updatable__ = frozenset({"status", "finished_at", "result_json"}) | (
        RUN_STATE_COLUMNS
    )

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    name: Mapped[name200] = mapped_column(unique=True)
    backend_id: Mapped[name200]
    planner: Mapped[name200]
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status")
    )
    config_json: Mapped[JSONAny]
    code_version: Mapped[name200]
    environment_json: Mapped[JSONAny]
    created_at: Mapped[utcnow]
    finished_at: Mapped[datetime | None]
    result_json: Mapped[JSONOptional]
    # Migration 0003 appends these; they stay last so that a migrated table
    # and a created one list their columns in the same order.
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    lease_host: Mapped[str | None] = mapped_column(sa.String(200))
    lease_pid: Mapped[int | None]
    lease_node: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    stop_requested_at: Mapped[datetime | None]
    log_path: Mapped[str | None] = mapped_column(sa.Text)
    progress_json: Mapped[JSONOptional]


class Iteration(Base):
    """One pass of the loop within a campaign."""

    __tablename__ = "iteration"
    __updatable__ = frozenset({"summary_json", "finished_at"})
    __table_args__ = (sa.UniqueConstraint("campaign_id", "index"),)

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    index: Mapped[int]
    seeds_json: Mapped[JSONAny]
    started_at: Mapped[utcnow]
    summary_json: Mapped[JSONOptional]
    finished_at: Mapped[datetime | None]


class Artifact(Base):
    """Content-addressed bytes (arrays as deterministic `.npz`); never changes."""

    __tablename__ = "artifact"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[utcnow]


class ExperimentRun(Base):
    """One batch run on a backend: inputs, data and outcome."""

    __tablename__ = "experiment_run"

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    iteration_id: Mapped[iteration_fk]
    backend_id: Mapped[name200]
    design_reason: Mapped[text]
    inputs_sha256: Mapped[str] = mapped_column(
        sa.ForeignKey("artifact.sha256"), index=True
    )
    data_sha256: Mapped[str | None] = mapped_column(
        sa.ForeignKey("artifact.sha256"), index=True
    )
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    n_points: Mapped[int]
    device: Mapped[str] = mapped_column(sa.String(50))
    status_code: Mapped[int]
    status_message: Mapped[text]
    cost: Mapped[float]
    duration_s: Mapped[float]
    created_at: Mapped[utcnow]


class PlannerCall(Base):
    """One planner call: rendered prompt, raw reply, parsed output, cost."""

    __tablename__ = "planner_call"

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    iteration_id: Mapped[iteration_fk]
    planner: Mapped[name200]
    template_name: Mapped[name200]
    template_sha256: Mapped[str] = mapped_column(sa.String(64))
    prompt: Mapped[text]
    reply: Mapped[str | None] = mapped_column(sa.Text)
    parsed_json: Mapped[JSONOptional]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    latency_s: Mapped[float]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[utcnow]


class Hypothesis(Base):
    """A candidate law: an expression with free parameters and where it came from."""

    __tablename__ = "hypothesis"
    __updatable__ = frozenset({"status", "score"})
    # For `list_hypotheses(campaign, status)` (the loop asks for the open ones
    # every iteration): without it SQLite walks the status index over every
    # campaign in the file, then sorts. Added by migration 0002.
    __table_args__ = (sa.Index(None, "campaign_id", "status", "seq"),)

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    iteration_id: Mapped[iteration_fk]
    expression: Mapped[text]
    parameters_json: Mapped[JSONAny]
    source: Mapped[str] = mapped_column(sa.String(50))
    source_detail: Mapped[text]
    canonical_key: Mapped[str] = mapped_column(sa.Text, index=True)
    units_consistent: Mapped[bool | None]
    units_message: Mapped[text]
    status: Mapped[HypothesisStatus] = mapped_column(
        _enum(HypothesisStatus, "hypothesis_status"), index=True
    )
    score: Mapped[float | None]
    statement: Mapped[text]
    created_at: Mapped[utcnow]


class ModelFit(Base):
    """A fit of one hypothesis's parameters to recorded data, with its scores."""

    __tablename__ = "model_fit"

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    iteration_id: Mapped[iteration_fk]
    hypothesis_id: Mapped[str] = mapped_column(
        sa.ForeignKey("hypothesis.id"), index=True
    )
    method: Mapped[name200]
    parameters_json: Mapped[JSONAny]
    stderr_json: Mapped[JSONAny]
    covariance_json: Mapped[JSONAny]
    scores_json: Mapped[JSONAny]
    train_data_json: Mapped[JSONAny]
    test_data_json: Mapped[JSONAny]
    success: Mapped[bool]
    message: Mapped[text]
    created_at: Mapped[utcnow]


class Decision(Base):
    """What the agent decided, why, and on which evidence."""

    __tablename__ = "decision"

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    iteration_id: Mapped[iteration_fk]
    kind: Mapped[str] = mapped_column(sa.String(50))
    hypothesis_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("hypothesis.id"), index=True
    )
    reason: Mapped[text]
    evidence_json: Mapped[JSONAny]
    created_at: Mapped[utcnow]


class LineageEdge(Base):
    """A typed edge between two recorded rows, named by (kind, id).

    The ends carry no foreign key (they may point into any table); the store
    checks in `link()` that both rows exist, and `Store.check_lineage()`
    re-checks a whole database.
    """

    __tablename__ = "lineage_edge"
    __table_args__ = (sa.UniqueConstraint("source_id", "target_id", "relation"),)

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    source_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    source_kind: Mapped[EntityKind] = mapped_column(_enum(EntityKind, "source_kind"))
    target_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_kind: Mapped[EntityKind] = mapped_column(_enum(EntityKind, "target_kind"))
    relation: Mapped[Relation] = mapped_column(_enum(Relation, "relation"), index=True)
    created_at: Mapped[utcnow]


class StatusChange(Base):
    """A hypothesis's status changed: to what, on which decision (added by migration 0004).

    `hypothesis.status` is the one column of a hypothesis that changes, so
    each change is also recorded here, chained like every other row: the
    status a hypothesis shows must be the status of its last change (or
    `open` without one), which lets `db check` name a status edited by other
    means than the store.
    """

    __tablename__ = "status_change"

    id: Mapped[uuidpk]
    seq: Mapped[seqcol]
    campaign_id: Mapped[campaign_fk]
    hypothesis_id: Mapped[str] = mapped_column(
        sa.ForeignKey("hypothesis.id"), index=True
    )
    decision_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("decision.id"), index=True
    )
    """The decision behind the change; `None` for a status given at proposal or by hand."""
    status: Mapped[HypothesisStatus] = mapped_column(
        _enum(HypothesisStatus, "status_change_status")
    )
    created_at: Mapped[utcnow]


class ChainEntry(Base):
    """One row of a campaign's hash chain: which row, its content digest, the chain so far.

    Every row of a campaign (the campaign itself, its iterations, runs,
    planner calls, hypotheses, fits, decisions, edges and status changes)
    gets an entry when it is inserted, in the same transaction, at the next
    `position` of its campaign. `content_sha256` digests the row's frozen
    columns as stored; `chain_sha256` digests the previous entry's
    `chain_sha256` with this entry's position, row and content, so that
    editing, deleting, reordering or slipping in a row is named by
    `db check` (see `storage._chain`). Added by migration 0004.
    """

    __tablename__ = "chain_entry"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "position"),
        sa.UniqueConstraint("table_name", "row_id"),
    )

    id: Mapped[uuidpk]
    campaign_id: Mapped[campaign_fk]
    position: Mapped[int]
    """1, 2, ... within the campaign, in insertion order."""
    table_name: Mapped[str] = mapped_column(sa.String(50))
    row_id: Mapped[str] = mapped_column(sa.String(64))
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    chain_sha256: Mapped[str] = mapped_column(sa.String(64))


MODELS: dict[EntityKind, type[Base]] = {
    EntityKind.CAMPAIGN: Campaign,
    EntityKind.ITERATION: Iteration,
    EntityKind.ARTIFACT: Artifact,
    EntityKind.EXPERIMENT_RUN: ExperimentRun,
    EntityKind.PLANNER_CALL: PlannerCall,
    EntityKind.HYPOTHESIS: Hypothesis,
    EntityKind.MODEL_FIT: ModelFit,
    EntityKind.DECISION: Decision,
}
"""Each lineage kind's model; the key is also the table name."""


@sa.event.listens_for(Base, "before_update", propagate=True)
def _refuse_frozen_changes(
    mapper: Mapper[Any], connection: sa.Connection, target: Base
) -> None:
    """Raise if a flush would change a column outside the row's `__updatable__`."""
    state = sa.inspect(target)
    changed = sorted(
        attr.key
        for attr in mapper.column_attrs
        if attr.key not in target.__updatable__
        and state.attrs[attr.key].history.has_changes()
    )
    if changed:
        table = mapper.local_table.name  # type: ignore[attr-defined]
        allowed = ", ".join(f"`{a}`" for a in sorted(target.__updatable__)) or "none"
        msg = (
            f"Rows of `{table}` are immutable; tried to change {changed}. "
            f"Updatable columns: {allowed}. Record a new row instead."
        )
        raise ImmutableRowError(msg)


@sa.event.listens_for(Base, "before_delete", propagate=True)
def _refuse_delete(
    mapper: Mapper[Any], connection: sa.Connection, target: Base
) -> None:
    """Raise on any ORM delete: provenance is append-only."""
    table = mapper.local_table.name  # type: ignore[attr-defined]
    msg = f"Rows of `{table}` are never deleted; provenance is append-only."
    raise ImmutableRowError(msg)


RECORD_TABLES: tuple[type[Base], ...] = (
    Campaign,
    Iteration,
    PlannerCall,
    ExperimentRun,
    Hypothesis,
    ModelFit,
    Decision,
    LineageEdge,
    StatusChange,
)
"""The tables of a campaign's record (all but the shared artifacts and the
chain itself): what a dump lists, in this order, and what the chain covers."""
