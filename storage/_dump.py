"""Canonical dumps of a campaign, for comparing two runs "ids aside".

Ids differ between two campaigns (the agent derives them from the campaign
id), so each id is replaced by a label `<table>:<ordinal>`. Within a table,
rows are ordered by (iteration index, `seq`), where rows without an
iteration come first and `seq` is the insertion order, which is
deterministic for a seeded campaign (a node re-run after a crash writes
nothing, so the order is that of an uninterrupted run). Every string value,
also inside JSON, that equals a known id is replaced by its label, and every
UUID-shaped substring that is a known id is too (prompts quoting ids).
Artifacts keep their sha256 (content-derived, so already comparable) and are
listed by hash, without their bytes. The internal `seq` column is left out,
and so is the live run's state on the campaign row (`RUN_STATE_COLUMNS`:
lease, heartbeat, progress), which differs between two runs of one record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lawloop.storage._models import (
    RECORD_TABLES,
    RUN_STATE_COLUMNS,
    Artifact,
    Base,
    Campaign,
    Iteration,
)

DEFAULT_DROP = (
    "name",
    "created_at",
    "started_at",
    "finished_at",
    "duration_s",
    "latency_s",
)
"""Columns `Store.dump_campaign` leaves out unless told otherwise: the campaign
name (unique per database) and everything measured by a clock."""

_TABLES = RECORD_TABLES
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def dump_campaign(
    session: Session, campaign_id: str, *, drop: frozenset[str]
) -> dict[str, list[dict[str, Any]]]:
    """Dump every row of one campaign; see the module docstring."""
    ordered, labels = _ordered_rows(session, campaign_id)
    shas: set[str] = set()
    for run in ordered["experiment_run"]:
        shas.update(s for s in (run.inputs_sha256, run.data_sha256) if s)
    for fit in ordered["model_fit"]:
        shas.update(
            s for s in [*fit.train_data_json, *fit.test_data_json] if isinstance(s, str)
        )
    artifacts = session.execute(
        sa.select(Artifact.sha256, Artifact.media_type, Artifact.size_bytes)
        .where(Artifact.sha256.in_(shas))
        .order_by(Artifact.sha256)
    ).all()

    dump: dict[str, list[dict[str, Any]]] = {}
    for name, rows in ordered.items():
        # The live run's state (lease, heartbeat, progress) is no part of the record.
        hidden = RUN_STATE_COLUMNS if name == "campaign" else frozenset()
        columns = [
            c.key
            for c in _columns(name)
            if c.key not in drop and c.key != "seq" and c.key not in hidden
        ]
        dump[name] = [
            {c: _relabel(getattr(row, c), labels) for c in columns} for row in rows
        ]
    dump["artifact"] = [
        {
            k: v
            for k, v in zip(("sha256", "media_type", "size_bytes"), a, strict=True)
            if k not in drop
        }
        for a in artifacts
    ]
    return dump


def _ordered_rows(
    session: Session, campaign_id: str
) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Each table's rows of one campaign in dump order, and each row id's ordinal label."""
    iteration_index = dict(
        session.execute(
            sa.select(Iteration.id, Iteration.index).where(
                Iteration.campaign_id == campaign_id
            )
        ).all()
    )
    ordered: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    for model in _TABLES:
        table = model.__table__
        key = table.c.id if model is Campaign else table.c.campaign_id
        name = model.__tablename__
        rows: list[Any] = list(
            session.scalars(
                sa.select(model).where(key == campaign_id).order_by(table.c.seq)
            )
        )
        if model is Iteration:
            rows.sort(key=lambda r: r.index)
        elif "iteration_id" in table.c:
            rows.sort(
                key=lambda r: (
                    -1
                    if r.iteration_id is None
                    else iteration_index.get(r.iteration_id, -1)
                )
            )
        ordered[name] = rows
        labels.update((row.id, f"{name}:{i}") for i, row in enumerate(rows))
    return ordered, labels


def _relabel(value: Any, labels: Mapping[str, str]) -> Any:
    """`value` with every id in `labels` replaced by its label, as plain JSON values."""
    if isinstance(value, str):
        if value in labels:
            return labels[value]
        return _UUID.sub(lambda m: labels.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {_relabel(k, labels): _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_relabel(v, labels) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _columns(table_name: str) -> list[sa.Column[Any]]:
    """The columns of a provenance table, in declaration order."""
    return list(Base.metadata.tables[table_name].columns)
