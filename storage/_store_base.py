"""The plumbing under `Store`: sessions, insert-if-absent, id lookup, enum checks.

Every part of `Store` (`storage._store_writes`, `_store_claims`,
`_store_lease`, `_store_queries`) is a mixin over `StoreBase`, which owns the
engine and the one-transaction-per-method helpers they share.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from lawloop.storage import _chain, _lease, _postgres
from lawloop.storage._models import (
    Base,
    Campaign,
    EntityKind,
    Hypothesis,
    HypothesisStatus,
    StatusChange,
)
from lawloop.storage._records import to_record
from lawloop.storage.errors import (
    AmbiguousIdError,
    IntegrityError,
    InvalidValueError,
    NotFoundError,
)

__all__ = [
    "EDGE_NAMESPACE",
    "STATUS_NAMESPACE",
    "UNSET",
    "StoreBase",
    "campaign_of",
    "check_int64",
    "enum_value",
    "of_campaign",
]

E = TypeVar("E", bound=StrEnum)
R = TypeVar("R")

EDGE_NAMESPACE = uuid.UUID("6d1c7a53-0b8e-4e0f-9a41-5f3b2c9e7d10")
"""Namespace of lineage edge ids: uuid5(EDGE_NAMESPACE, "source|target|relation")."""

STATUS_NAMESPACE = _chain.STATUS_NAMESPACE

_INT64 = (-(2**63), 2**63 - 1)
UNSET: Any = _lease.UNSET
"""`progress` default of the lease methods: leave progress as it is (`None` clears it)."""


def enum_value(enum: type[E], value: str, what: str) -> E:
    """Convert `value` (a member or its string) to `enum`, or raise naming the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(f"`{m.value}`" for m in enum)
        msg = f"Unknown {what} `{value}`; expected one of {allowed}."
        raise InvalidValueError(msg) from None


def check_int64(value: int, what: str) -> int:
    """Return `value` as `int` if it fits a signed 64-bit column."""
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        msg = f"`{what}` = {value} does not fit a signed 64-bit integer; use e.g. a 32-bit seed."
        raise InvalidValueError(msg)
    return value


class StoreBase:
    """The engine and the helpers every part of `Store` shares; see `storage.Store`."""

    def __init__(self, engine: sa.Engine) -> None:
        """Wrap an engine whose schema is at the latest revision.

        Args:
            engine: From `storage.make_engine`, already upgraded.
        """
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Concurrent writers need other insert semantics there; see `storage._postgres`.
        self._postgres = engine.dialect.name == "postgresql"

    # -- plumbing -----------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A session in one transaction; refused writes become `IntegrityError` or `InvalidValueError`."""
        try:
            with self._sessions.begin() as session:
                yield session
        except sa.exc.IntegrityError as error:
            kind = _postgres.constraint_kind(error)
            reason = str(error.orig).strip().rstrip(".")  # PostgreSQL's end in "."
            refused = f"{kind} constraint: {reason}" if kind else reason
            msg = f"The database refused the write: {refused}. Check the ids and foreign keys passed."
            raise IntegrityError(msg) from error
        except sa.exc.DataError as error:
            # Only a server database checks lengths and ranges (SQLite stores
            # a 300-character name in a VARCHAR(200) column as given).
            reason = str(error.orig).strip().rstrip(".")
            msg = f"The database refused a value: {reason}. Shorten or correct it."
            raise InvalidValueError(msg) from error

    def _insert(self, model: type[Base], key: str, values: dict[str, Any]) -> bool:
        """Insert a `model` row of `values` (columns) unless primary key `key` exists."""
        with self._transaction() as session:
            return self._insert_in(session, model, key, values)

    def _insert_in(
        self, session: Session, model: type[Base], key: str, values: dict[str, Any]
    ) -> bool:
        """`_insert` within `session`'s transaction; a written row joins its campaign's chain."""
        if session.get(model, key) is not None:
            return False
        table = cast(sa.Table, model.__table__)
        if self._postgres:
            wrote = _postgres.insert_if_absent(session, table, values)
        else:
            wrote = _insert_if_absent_sqlite(session, table, values)
        if wrote and model in _chain.CHAINED:
            campaign_id = key if model is Campaign else values["campaign_id"]
            _chain.append(session, table, key, campaign_id, postgres=self._postgres)
        return wrote

    def _change_status(
        self,
        session: Session,
        row: Hypothesis,
        status: HypothesisStatus,
        decision_id: str | None,
    ) -> None:
        """Set `row.status`, recording the change (chained) when it is one."""
        if row.status == status:
            return  # a node re-run after a crash sets what it set before
        count = session.execute(
            sa.select(sa.func.count()).where(StatusChange.hypothesis_id == row.id)
        ).scalar_one()
        change_id = str(uuid.uuid5(STATUS_NAMESPACE, f"{row.id}|{count}"))
        self._insert_in(
            session,
            StatusChange,
            change_id,
            dict(
                id=change_id,
                campaign_id=row.campaign_id,
                hypothesis_id=row.id,
                decision_id=decision_id,
                status=status,
            ),
        )
        row.status = status

    def _get(self, session: Session, model: type[Base], key: str, what: str) -> Any:
        """The row with primary key `key`, or `NotFoundError`."""
        row = session.get(model, key)
        if row is None:
            msg = f"No {what} with id `{key}`."
            raise NotFoundError(msg)
        return row

    def _resolve(
        self, session: Session, model: type[Base], id_or_prefix: str, what: str
    ) -> Any:
        """The row whose id is or starts with `id_or_prefix`."""
        if not id_or_prefix:
            msg = f"Empty {what} id; pass an id or a unique prefix of one."
            raise InvalidValueError(msg)
        row = session.get(model, id_or_prefix)
        if row is not None:
            return row
        column = model.__table__.c.id
        escaped = (
            id_or_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        rows: list[Any] = list(
            session.scalars(
                sa.select(model)
                .where(column.like(f"{escaped}%", escape="\\"))
                .order_by(column)
                .limit(11)
            )
        )
        if len(rows) == 1:
            return rows[0]
        if rows:
            shown = ", ".join(f"`{r.id}`" for r in rows[:10])
            more = " and more" if len(rows) > 10 else ""
            msg = f"{what.capitalize()} id prefix `{id_or_prefix}` is ambiguous: it matches {shown}{more}. Give more characters."
            raise AmbiguousIdError(msg)
        if model is Campaign:
            row = session.scalars(
                sa.select(Campaign).where(Campaign.name == id_or_prefix)
            ).first()
            if row is not None:
                return row
        msg = f"No {what} has an id starting with `{id_or_prefix}`."
        raise NotFoundError(msg)

    def _select(self, cls: type[R], statement: sa.Select[Any]) -> list[R]:
        """Run `statement` and copy each row into the record class `cls`."""
        with self._sessions() as session:
            return [to_record(cls, row) for row in session.scalars(statement)]


def campaign_of(kind: EntityKind, row: Any) -> str | None:
    """The campaign a row belongs to (`None` for artifacts)."""
    if kind is EntityKind.CAMPAIGN:
        return str(row.id)
    return getattr(row, "campaign_id", None)


def of_campaign(model: type[Base], campaign_id: str) -> sa.Select[Any]:
    """Rows of `model` in one campaign, in insertion order."""
    table = model.__table__
    return (
        sa.select(model).where(table.c.campaign_id == campaign_id).order_by(table.c.seq)
    )


def _insert_if_absent_sqlite(
    session: Session, table: sa.Table, values: dict[str, Any]
) -> bool:
    """SQLite: insert one row unless its primary key exists, also when another process just wrote it.

    The check before (`session.get`) runs outside the write lock (pysqlite
    starts no transaction for a SELECT), so two processes storing the same
    content-addressed artifact both pass it; `ON CONFLICT DO NOTHING` makes
    the second insert a no-op instead of a UNIQUE error. `seq` is computed
    inside the INSERT, under the write lock.

    Returns:
        Whether the row was written.
    """
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - only for SQLite stores

    key = list(table.primary_key.columns)
    statement = (
        sqlite.insert(table)
        .values(**_postgres.with_next_seq(table, values))
        .on_conflict_do_nothing(index_elements=key)
    )
    return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]
