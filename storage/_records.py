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
        >>> store.get_campaign("3f2a").status
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
