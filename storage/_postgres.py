"""What the store does differently on PostgreSQL, where SQLite's habits do not hold.

SQLite serialises writers with one database lock and stores JSON as text;
PostgreSQL lets writers run side by side (`READ COMMITTED`) and validates
JSON. So on PostgreSQL:

* inserts are `INSERT ... ON CONFLICT DO NOTHING`: two writers adding the
  same content-addressed artifact (or re-running the same node) at once must
  both succeed, not fail on the primary key;
* `seq` (insertion order, `max(seq) + 1`) is assigned under a per-table
  transaction-level advisory lock, so that concurrent writers never compute
  the same value;
* schema upgrades hold an advisory lock, so that two processes opening a new
  database at once do not both create the tables;
* JSON goes through `json_dumps`/`json_loads`, which carry non-finite floats
  (`inf` in a failed fit's scores) that PostgreSQL's `json` type refuses.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

__all__ = [
    "constraint_kind",
    "insert_if_absent",
    "json_dumps",
    "json_loads",
    "lock_schema",
    "with_next_seq",
]

_LOCK_NAMESPACE = 0x6C61_776C  # "lawl": the first key of every advisory lock we take
"""First key of lawloop's advisory locks, so that they do not collide with other users'."""

_SCHEMA_LOCK = 0
"""Second key of the lock held while the schema is upgraded (table locks use crc32 > 0)."""

_FLOAT_TAG = "$float"
"""The key of the object that stands for a non-finite float in JSON: `{"$float": "inf"}`."""

_SQLSTATE_KINDS = {
    "23502": "NOT NULL",
    "23503": "FOREIGN KEY",
    "23505": "UNIQUE",
    "23514": "CHECK",
}
"""Integrity-violation SQLSTATEs, named as SQLite names them in its messages."""


def json_dumps(value: Any) -> str:
    """Serialise `value`, writing each non-finite float as `{"$float": "inf"}` (or `-inf`, `nan`).

    Python writes them as the bare tokens `Infinity` and `NaN`, which SQLite
    keeps as text but PostgreSQL's `json` type refuses ("Token "Infinity" is
    invalid"); a fit whose predictions are not finite scores `rss = inf`.
    """
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_tag_floats(value), allow_nan=False)


def json_loads(text: str | bytes) -> Any:
    """Parse JSON written by `json_dumps`, turning `{"$float": ...}` back into floats."""
    return json.loads(text, object_hook=_untag_float)


def _tag_floats(value: Any) -> Any:
    """`value` with every non-finite float replaced by its tag object."""
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_TAG: str(value)}  # "inf", "-inf" or "nan"
    if isinstance(value, dict):
        return {k: _tag_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tag_floats(v) for v in value]
    return value


def _untag_float(obj: dict[str, Any]) -> Any:
    """The float a tag object stands for; any other object unchanged."""
    if len(obj) == 1 and isinstance(obj.get(_FLOAT_TAG), str):
        return float(obj[_FLOAT_TAG])
    return obj


def _table_key(name: str) -> int:
    """The second advisory-lock key of a table: a stable positive int32 from its name."""
    return zlib.crc32(name.encode()) % (2**31 - 1) + 1


def lock_schema(connection: sa.Connection) -> None:
    """Hold the schema lock until `connection`'s transaction ends.

    Alembic checks the revision and then creates tables; two processes doing
    so at once on a new database would both try to create them, and one would
    fail. The second now waits and then finds the schema at head.
    """
    connection.execute(
        sa.select(sa.func.pg_advisory_xact_lock(_LOCK_NAMESPACE, _SCHEMA_LOCK))
    )


def insert_if_absent(session: Session, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert one row unless its primary key exists (also when a concurrent writer adds it).

    Where the table has `seq`, it is `max(seq) + 1` computed inside the
    insert (`with_next_seq`), under a transaction-level advisory
    lock on the table: without it, two writers committing at once would
    compute the same value, as `READ COMMITTED` shows neither the other's
    uncommitted row. The insert is a statement of its own after the lock is
    granted, so its snapshot includes the row of the writer that held the
    lock before.

    Returns:
        Whether the row was written.
    """
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - only for PostgreSQL stores

    if "seq" in table.c:
        session.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(_LOCK_NAMESPACE, _table_key(table.name))
            )
        )
    key = list(table.primary_key.columns)
    statement = (
        postgresql.insert(table)
        .values(**with_next_seq(table, values))
        .on_conflict_do_nothing(index_elements=key)
        # The driver's rowcount of an INSERT is not to be relied on (SQLAlchemy
        # reports -1 here); a returned key means the row was written.
        .returning(*key)
    )
    return session.execute(statement).first() is not None


def with_next_seq(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with `seq` (insertion order) as `max(seq) + 1`, computed inside the INSERT.

    Tables without `seq` get `values` as they are. The caller makes the
    INSERT exclusive (SQLite's write lock, PostgreSQL's advisory lock).
    """
    if "seq" not in table.c:
        return values
    seq = sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1)
    return {**values, "seq": seq.scalar_subquery()}


def constraint_kind(error: sa.exc.DBAPIError) -> str | None:
    """`FOREIGN KEY`, `UNIQUE`, ... for a PostgreSQL integrity error, from its SQLSTATE.

    SQLite's messages name the constraint kind ("UNIQUE constraint failed");
    PostgreSQL's name only the constraint ("violates unique constraint
    "uq_campaign__name""), so the store adds the kind to keep its messages
    the same on both.
    """
    return _SQLSTATE_KINDS.get(getattr(error.orig, "sqlstate", None) or "")
