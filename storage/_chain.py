"""The tamper-evident record: a hash chain over every row of a campaign.

Each row a campaign writes gets a `chain_entry` in the same transaction: the
digest of the row's frozen columns *as stored* (read back raw, without the
column types' conversions, so that the writer and the checker digest the
same values on SQLite and on PostgreSQL) and a chain digest over the
previous entry's, the position and the row. `verify` recomputes both and
names the first row whose content, order or presence no longer matches;
hypothesis statuses, the one frozen-looking column that changes, must agree
with their last recorded `status_change`.

This guards against edits by other means than the store (raw SQL, a
hand-restored backup, a disk error), not against someone who rewrites the
chain too: for that, compare a campaign's head digest (`head`) with a copy
kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lawloop.storage._models import (
    RECORD_TABLES,
    RUN_STATE_COLUMNS,
    Base,
    Campaign,
    ChainEntry,
    Hypothesis,
    HypothesisStatus,
    StatusChange,
    now_utc,
)

__all__ = [
    "CHAINED",
    "GENESIS",
    "STATUS_NAMESPACE",
    "append",
    "backfill",
    "chain_digest",
    "content_digest",
    "entry_id",
    "head",
    "raw_rows",
    "verify",
]

CHAINED = RECORD_TABLES
"""The tables whose rows are chained; artifacts are not (their sha256 is their check)."""

_BY_NAME: dict[str, sa.Table] = {
    cast(sa.Table, m.__table__).name: cast(sa.Table, m.__table__) for m in CHAINED
}

GENESIS = "0" * 64
"""The chain digest "before" a campaign's first entry."""

_NAMESPACE = uuid.UUID("3b7f0f52-6a3e-4c35-9b7e-2f0d7c1e9a64")
"""Namespace of chain entry ids: uuid5(_NAMESPACE, "table|row id")."""

STATUS_NAMESPACE = uuid.UUID("8a4d2e61-3c5b-4f7a-b0e9-6d2c1f8a7b35")
"""Namespace of status change ids: uuid5(STATUS_NAMESPACE, "hypothesis|n"), n = changes before it."""

_LOCK_NAMESPACE = 0x6C61_7763  # "lawc": PostgreSQL advisory locks of the chain
"""First key of the advisory lock a writer holds while it appends to a campaign's chain."""


def entry_id(table_name: str, row_id: str) -> str:
    """The id of the chain entry of row `row_id` of `table_name`."""
    return str(uuid.uuid5(_NAMESPACE, f"{table_name}|{row_id}"))


def _frozen(model: type[Base]) -> list[str]:
    """The columns of `model` that never change once written (those the digest covers)."""
    updatable = model.__updatable__ | RUN_STATE_COLUMNS
    return [c.name for c in _BY_NAME[model.__tablename__].c if c.name not in updatable]


_FROZEN: dict[str, list[str]] = {m.__tablename__: _frozen(m) for m in CHAINED}
"""Frozen column names by chained table. Adding a column to a chained table
changes every digest: its migration must recompute the chains."""


def _canonical(value: Any) -> Any:
    """A JSON-ready, type-tagged form of a stored value (driver types vary by dialect)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, datetime):
        aware = value.astimezone(UTC) if value.tzinfo else value
        return {"$time": aware.isoformat()}
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return {"$repr": repr(value)}


def content_digest(table_name: str, row: Mapping[Any, Any]) -> str:
    """The sha256 of a row's frozen columns, from values as `raw_rows` reads them."""
    body = {name: _canonical(row.get(name)) for name in _FROZEN[table_name]}
    text = json.dumps([table_name, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def chain_digest(
    previous: str, position: int, table_name: str, row_id: str, content: str
) -> str:
    """The chain digest after appending one entry to a chain whose last digest is `previous`."""
    text = f"{previous}\n{position}\n{table_name}\n{row_id}\n{content}"
    return hashlib.sha256(text.encode()).hexdigest()


def _raw_select(table: sa.Table) -> sa.Select[Any]:
    """Select a table's frozen columns as the driver returns them (no type conversion)."""
    columns = [
        sa.type_coerce(table.c[n], sa.types.NullType()).label(n)
        for n in _FROZEN[table.name]
    ]
    return cast(sa.Select[Any], sa.select(*columns))


def raw_rows(
    connection: sa.Connection | Session, table: sa.Table, campaign_id: str
) -> Iterator[Mapping[Any, Any]]:
    """Every row of `table` in one campaign, frozen columns only, raw."""
    owner = table.c.id if table.name == Campaign.__tablename__ else table.c.campaign_id
    statement = _raw_select(table).where(owner == campaign_id)
    for row in connection.execute(statement, execution_options={"yield_per": 256}):
        yield row._mapping


def append(
    session: Session, table: sa.Table, row_id: str, campaign_id: str, *, postgres: bool
) -> None:
    """Add the chain entry of a row just inserted in `session`'s transaction.

    The caller holds the write: SQLite's database lock (taken by the row's
    INSERT); on PostgreSQL this takes an advisory lock on the campaign's
    chain, so that two writers of one campaign never take the same position.
    """
    row = session.execute(_raw_select(table).where(table.c.id == row_id)).one()
    content = content_digest(table.name, row._mapping)
    if postgres:
        key = zlib.crc32(campaign_id.encode()) % (2**31 - 1)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_NAMESPACE, key)))
    last, previous = head(session, campaign_id)
    _add_entry(session, campaign_id, last + 1, previous, table.name, row_id, content)


def _add_entry(
    connection: sa.Connection | Session,
    campaign_id: str,
    position: int,
    previous: str,
    table_name: str,
    row_id: str,
    content: str,
) -> str:
    """Insert one chain entry after the digest `previous`; return its chain digest."""
    link = chain_digest(previous, position, table_name, row_id, content)
    connection.execute(
        sa.insert(ChainEntry).values(
            id=entry_id(table_name, row_id),
            campaign_id=campaign_id,
            position=position,
            table_name=table_name,
            row_id=row_id,
            content_sha256=content,
            chain_sha256=link,
        )
    )
    return link


def head(connection: sa.Connection | Session, campaign_id: str) -> tuple[int, str]:
    """The position and chain digest of a campaign's last entry (`(0, GENESIS)` if none)."""
    last = connection.execute(
        sa.select(ChainEntry.position, ChainEntry.chain_sha256)
        .where(ChainEntry.campaign_id == campaign_id)
        .order_by(ChainEntry.position.desc())
        .limit(1)
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def verify(connection: sa.Connection) -> Iterator[tuple[str, str, str, str]]:
    """Recompute every campaign's chain and statuses; yield `(table, row id, column, message)`.

    Per campaign, in order: entries out of sequence or with a wrong chain
    digest (an entry deleted, edited or reordered), rows gone or changed
    since they were chained, rows of a table out of their chained order,
    rows on no chain (written by other means), then hypotheses whose status
    is not that of their last recorded change.
    """
    campaigns = connection.execute(
        sa.select(Campaign.__table__.c.id).order_by(Campaign.__table__.c.seq)
    ).scalars()
    for campaign_id in list(campaigns):
        yield from _verify_campaign(connection, str(campaign_id))


def _row_digests(
    connection: sa.Connection, campaign_id: str
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], Any]]:
    """The content digest and `seq` of each row of one campaign, by (table, id)."""
    digests: dict[tuple[str, str], str] = {}
    seqs: dict[tuple[str, str], Any] = {}
    for name, table in _BY_NAME.items():
        for row in raw_rows(connection, table, campaign_id):
            key = (name, str(row["id"]))
            digests[key] = content_digest(name, row)
            seqs[key] = row.get("seq")
    return digests, seqs


def _verify_campaign(
    connection: sa.Connection, campaign_id: str
) -> Iterator[tuple[str, str, str, str]]:
    """`verify` for one campaign."""
    digests, seqs = _row_digests(connection, campaign_id)
    entries = connection.execute(
        sa.select(
            ChainEntry.position,
            ChainEntry.table_name,
            ChainEntry.row_id,
            ChainEntry.content_sha256,
            ChainEntry.chain_sha256,
        )
        .where(ChainEntry.campaign_id == campaign_id)
        .order_by(ChainEntry.position)
    ).all()
    chain = ChainEntry.__tablename__
    previous, broken = GENESIS, False
    last_seq: dict[str, Any] = {}
    for expected, (position, name, row_id, content, link) in enumerate(entries, 1):
        where = f"position {position} of campaign `{campaign_id}`"
        if not broken and position != expected:
            yield (
                chain,
                f"{campaign_id}#{expected}",
                "position",
                f"entry {expected} of campaign `{campaign_id}` is missing "
                f"(the next is {position}); a row's entry was deleted.",
            )
            broken = True
        if not broken and link != chain_digest(
            previous, position, name, row_id, content
        ):
            yield (
                chain,
                f"{campaign_id}#{position}",
                "chain_sha256",
                f"the chain breaks at {where} ({name} `{row_id}`): "
                "this entry or the one before it was edited, inserted or deleted.",
            )
            broken = True  # later links all follow from this one; name only the first
        previous = link
        actual = digests.pop((name, row_id), None)
        if actual is None:
            yield (
                name,
                row_id,
                "",
                f"was recorded at {where} but is gone: the row was deleted.",
            )
            continue
        if actual != content:
            yield (
                name,
                row_id,
                "",
                f"its content no longer matches the digest recorded at {where}: "
                "the row was edited after it was written.",
            )
        seq = seqs[(name, row_id)]
        if seq is not None and name in last_seq and seq <= last_seq[name]:
            yield (
                name,
                row_id,
                "seq",
                f"seq {seq} is not after the seq of the {name} row chained before it "
                f"({last_seq[name]}): the rows were reordered.",
            )
        if seq is not None:
            last_seq[name] = seq
    for name, row_id in sorted(digests, key=lambda k: (str(seqs[k]), k)):
        yield (
            name,
            row_id,
            "",
            f"is on no chain of campaign `{campaign_id}`: it was written by other "
            "means than the store.",
        )
    yield from _verify_statuses(connection, campaign_id)


def _verify_statuses(
    connection: sa.Connection, campaign_id: str
) -> Iterator[tuple[str, str, str, str]]:
    """Each hypothesis's status is the status of its last `status_change` (else `open`)."""
    changes = StatusChange.__table__.c
    last: dict[str, str] = {}
    for hid, status in connection.execute(
        sa.select(changes.hypothesis_id, sa.type_coerce(changes.status, sa.String()))
        .where(changes.campaign_id == campaign_id)
        .order_by(changes.seq)
    ):
        last[str(hid)] = str(status)
    hypotheses = Hypothesis.__table__.c
    for hid, status in connection.execute(
        sa.select(hypotheses.id, sa.type_coerce(hypotheses.status, sa.String()))
        .where(hypotheses.campaign_id == campaign_id)
        .order_by(hypotheses.seq)
    ):
        expected = last.get(str(hid), HypothesisStatus.OPEN.value)
        if status != expected:
            yield (
                Hypothesis.__tablename__,
                str(hid),
                "status",
                f"is `{status}` but its recorded status changes end at "
                f"`{expected}`: the status was edited by other means than the store.",
            )


def backfill(connection: sa.Connection) -> None:
    """Chain the rows of every campaign that has no chain yet (migration 0004).

    A database from before 0004 has no record of its order across tables or
    of its status changes: rows are chained in the order of their clock
    (`created_at`, then table, then `seq`), and a hypothesis that is not
    `open` gets one `status_change` to its present status, naming no
    decision. From here on the chain vouches for what the database held when
    it was upgraded, not before.
    """
    changes = cast(sa.Table, StatusChange.__table__)
    hypotheses = cast(sa.Table, Hypothesis.__table__)
    campaigns = cast(sa.Table, Campaign.__table__)
    chained = set(
        connection.execute(sa.select(ChainEntry.campaign_id).distinct()).scalars()
    )
    seq = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))
    ).scalar_one()
    for campaign_id in list(
        connection.execute(
            sa.select(campaigns.c.id).order_by(campaigns.c.seq)
        ).scalars()
    ):
        if campaign_id in chained:
            continue
        for hid, status in connection.execute(
            sa.select(hypotheses.c.id, sa.type_coerce(hypotheses.c.status, sa.String()))
            .where(
                hypotheses.c.campaign_id == campaign_id, hypotheses.c.status != "open"
            )
            .order_by(hypotheses.c.seq)
        ).all():
            seq += 1
            connection.execute(
                sa.insert(changes).values(
                    id=str(uuid.uuid5(STATUS_NAMESPACE, f"{hid}|0")),
                    seq=seq,
                    campaign_id=campaign_id,
                    hypothesis_id=hid,
                    decision_id=None,
                    status=status,
                    created_at=now_utc(),
                )
            )
        rows: list[tuple[int, str, int, int, str, str, str]] = []
        for rank, (name, table) in enumerate(_BY_NAME.items()):
            for row in raw_rows(connection, table, campaign_id):
                clock = (
                    row.get("created_at")
                    if name != "iteration"
                    else row.get("started_at")
                )
                first = 0 if name == Campaign.__tablename__ else 1
                order = (first, str(_canonical(clock)), rank, int(row.get("seq") or 0))
                rows.append((*order, name, str(row["id"]), content_digest(name, row)))
        previous = GENESIS
        for position, (*_, name, row_id, content) in enumerate(sorted(rows), 1):
            previous = _add_entry(
                connection, campaign_id, position, previous, name, row_id, content
            )
