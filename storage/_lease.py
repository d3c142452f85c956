"""A campaign's live run: its lease, heartbeat and stop requests, as conditional UPDATEs.

One process at a time may run a campaign. It takes the lease with one
`UPDATE campaign SET lease_token = ... WHERE id = ... AND <lease is free>`
and reads the row count: the database decides between racing processes,
whether they share a SQLite file (its writer lock serialises the two
statements) or a PostgreSQL server (the second UPDATE waits for the first
to commit, then re-checks its WHERE against the new row, under `READ
COMMITTED`). A lease is free when no one holds it, when it has lapsed (its
holder stopped renewing it), when it is the caller's own, or when the caller
names the token it found held by a dead process (compare-and-swap).

Times come from the database's clock, not the caller's: on PostgreSQL
runners on several machines compare expiry times with one clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lawloop.storage._models import Campaign, CampaignStatus, UTCDateTime, now_utc
from lawloop.storage._records import LeaseRecord
from lawloop.storage.errors import InvalidValueError, NotFoundError

__all__ = [
    "UNSET",
    "acquire",
    "database_now",
    "read",
    "release",
    "renew",
    "request_stop",
]

_TABLE: sa.Table = Campaign.__table__  # type: ignore[assignment]
_C = _TABLE.c
UNSET: Any = object()
"""Leave `progress_json` as it is (`None` is a value: clear it)."""


def database_now(session: Session) -> datetime:
    """The database server's clock (PostgreSQL), else this machine's (SQLite), UTC."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(sa.select(sa.func.clock_timestamp(type_=UTCDateTime())))
        if isinstance(value, datetime):
            return value
    return now_utc()


def _ttl(ttl_s: float) -> timedelta:
    """The lease's lifetime as a timedelta; refuses what could never be renewed in time."""
    if not ttl_s > 0:
        msg = f"A lease lifetime must be positive seconds; received `ttl_s={ttl_s}`."
        raise InvalidValueError(msg)
    return timedelta(seconds=float(ttl_s))


def read(session: Session, campaign_id: str) -> LeaseRecord:
    """The lease of one campaign (exact id), with the database clock of the read.

    Raises:
        NotFoundError: No such campaign.
    """
    now = database_now(session)
    row = session.execute(
        sa.select(
            _C.status,
            _C.lease_token,
            _C.lease_host,
            _C.lease_pid,
            _C.lease_node,
            _C.heartbeat_at,
            _C.lease_expires_at,
            _C.stop_requested_at,
            _C.log_path,
            _C.progress_json,
        ).where(_C.id == campaign_id)
    ).one_or_none()
    if row is None:
        msg = f"No campaign with id `{campaign_id}`."
        raise NotFoundError(msg)
    status = row.status
    return LeaseRecord(
        campaign_id=campaign_id,
        status=status.value if isinstance(status, CampaignStatus) else str(status),
        token=row.lease_token,
        host=row.lease_host,
        pid=row.lease_pid,
        node=row.lease_node,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.lease_expires_at,
        stop_requested_at=row.stop_requested_at,
        log_path=row.log_path,
        progress_json=row.progress_json,
        checked_at=now,
    )


def acquire(
    session: Session,
    campaign_id: str,
    token: str,
    *,
    host: str,
    pid: int,
    node: str,
    ttl_s: float,
    log_path: str | None,
    replace: str | None,
) -> bool:
    """Take the lease if it is free, lapsed, ours, or held by `replace`; see the module doc."""
    ttl = _ttl(ttl_s)
    now = database_now(session)
    free = [
        _C.lease_token.is_(None),
        _C.lease_expires_at < now,
        _C.lease_token == token,
    ]
    if replace is not None:
        free.append(_C.lease_token == replace)
    values: dict[str, Any] = {
        "lease_token": token,
        "lease_host": host,
        "lease_pid": int(pid),
        "lease_node": node,
        "heartbeat_at": now,
        "lease_expires_at": now + ttl,
        # A request addressed to an earlier run must not stop this one.
        "stop_requested_at": None,
    }
    if log_path is not None:
        values["log_path"] = log_path
    result = session.execute(
        sa.update(_TABLE).where(_C.id == campaign_id, sa.or_(*free)).values(values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew(
    session: Session,
    campaign_id: str,
    token: str,
    *,
    ttl_s: float,
    progress: Any = UNSET,
) -> bool:
    """Push the lease's expiry on, if `token` still holds it; also store `progress`."""
    ttl = _ttl(ttl_s)
    now = database_now(session)
    values: dict[str, Any] = {"heartbeat_at": now, "lease_expires_at": now + ttl}
    if progress is not UNSET:
        values["progress_json"] = progress
    result = session.execute(
        sa.update(_TABLE)
        .where(_C.id == campaign_id, _C.lease_token == token)
        .values(values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(
    session: Session, campaign_id: str, token: str, *, progress: Any = UNSET
) -> bool:
    """Give the lease up, if `token` holds it; the last heartbeat stays as the end time."""
    values: dict[str, Any] = {
        "lease_token": None,
        "lease_host": None,
        "lease_pid": None,
        "lease_node": None,
        "lease_expires_at": None,
        "heartbeat_at": database_now(session),
    }
    if progress is not UNSET:
        values["progress_json"] = progress
    result = session.execute(
        sa.update(_TABLE)
        .where(_C.id == campaign_id, _C.lease_token == token)
        .values(values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def request_stop(session: Session, campaign_id: str) -> bool:
    """Ask the holder of a live lease to stop; `False` when no live lease exists."""
    now = database_now(session)
    result = session.execute(
        sa.update(_TABLE)
        .where(
            _C.id == campaign_id,
            _C.lease_token.is_not(None),
            _C.lease_expires_at > now,
        )
        .values(stop_requested_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
