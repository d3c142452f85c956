"""Read models: frozen snapshots of rows, returned by `Store` queries.

Field names and meanings are those of the table columns (see `_models.py`);
JSON columns keep their `_json` suffix. Datetimes are UTC-aware.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

__all__ = [
    "CampaignRecord",
    "DecisionRecord",
    "EdgeRecord",
    "FitRecord",
    "HypothesisRecord",
    "IterationRecord",
    "LeaseRecord",
    "PlannerCallRecord",
    "RunRecord",
    "to_record",
]

R = TypeVar("R")


def to_record(cls: type[R], row: Any) -> R:
    """Copy the attributes named by the dataclass `cls` off an ORM row."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # Enum columns come back as StrEnum members; hand out plain strings.
    values = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
    return cls(**values)


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A `campaign` row.

    Example:
        >>> store.get_campaign("3f2a").status  # doctest: +SKIP
        'running'
    """

    id: str
    name: str
    backend_id: str
    planner: str
    seed: int
    status: str
    config_json: Any
    code_version: str
    environment_json: Any
    created_at: datetime
    finished_at: datetime | None
    result_json: Any


@dataclasses.dataclass(frozen=True, slots=True)
class LeaseRecord:
    """Who runs a campaign now: its lease, heartbeat, stop request, log and progress.

    Read with `Store.get_lease`; the holder fields are all `None` when no
    process holds the campaign. Times are the database's clock (PostgreSQL's
    when the campaign runs on a server, so runners on several machines agree).

    Example:
        >>> lease = store.get_lease(campaign_id)  # doctest: +SKIP
        >>> (lease.held, lease.host, lease.pid)  # doctest: +SKIP
        (True, 'node17', 4242)
    """

    campaign_id: str
    """The campaign."""
    status: str
    """The campaign's recorded status."""
    token: str | None
    """The holder's secret: a runner renews or releases only its own lease."""
    host: str | None
    """Host name of the holder."""
    pid: int | None
    """Process id of the holder on its host."""
    node: str | None
    """The holder's process namespace (kernel boot and PID namespace), to tell
    whether its pid can be checked from here."""
    heartbeat_at: datetime | None
    """The holder's last sign of life (kept after release: when it ended)."""
    expires_at: datetime | None
    """When the lease lapses unless renewed; after it, anyone may take it over."""
    stop_requested_at: datetime | None
    """When `campaign stop` asked the holder to stop; `None`: not asked."""
    log_path: str | None
    """The campaign's log file, on the host that runs (or last ran) it."""
    progress_json: Any
    """The runner's latest progress snapshot (iteration, best law, budget use)."""
    checked_at: datetime
    """The database clock when this was read."""

    @property
    def held(self) -> bool:
        """Whether a process holds the lease and it has not lapsed."""
        return (
            self.token is not None
            and self.expires_at is not None
            and self.expires_at > self.checked_at
        )


@dataclasses.dataclass(frozen=True, slots=True)
class IterationRecord:
    """An `iteration` row."""

    id: str
    campaign_id: str
    index: int
    seeds_json: Any
    started_at: datetime
    summary_json: Any
    finished_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord:
    """An `experiment_run` row (arrays are fetched with `Store.get_arrays`)."""

    id: str
    campaign_id: str
    iteration_id: str | None
    backend_id: str
    design_reason: str
    inputs_sha256: str
    data_sha256: str | None
    seed: int
    n_points: int
    device: str
    status_code: int
    status_message: str
    cost: float
    duration_s: float
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class PlannerCallRecord:
    """A `planner_call` row."""

    id: str
    campaign_id: str
    iteration_id: str | None
    planner: str
    template_name: str
    template_sha256: str
    prompt: str
    reply: str | None
    parsed_json: Any
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float
    error: str | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class HypothesisRecord:
    """A `hypothesis` row."""

    id: str
    campaign_id: str
    iteration_id: str | None
    expression: str
    parameters_json: Any
    source: str
    source_detail: str
    canonical_key: str
    units_consistent: bool | None
    units_message: str
    status: str
    score: float | None
    statement: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class FitRecord:
    """A `model_fit` row."""

    id: str
    campaign_id: str
    iteration_id: str | None
    hypothesis_id: str
    method: str
    parameters_json: Any
    stderr_json: Any
    covariance_json: Any
    scores_json: Any
    train_data_json: Any
    test_data_json: Any
    success: bool
    message: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A `decision` row."""

    id: str
    campaign_id: str
    iteration_id: str | None
    kind: str
    hypothesis_id: str | None
    reason: str
    evidence_json: Any
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class EdgeRecord:
    """A `lineage_edge` row: "source RELATION target"."""

    id: str
    campaign_id: str
    source_id: str
    source_kind: str
    target_id: str
    target_kind: str
    relation: str
    created_at: datetime
