"""The checks of `check_database`, run on one read-only connection (see `storage._integrity`)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, cast

import sqlalchemy as sa

from lawloop.storage import _chain
from lawloop.storage._edges import describe_allowed, is_allowed
from lawloop.storage._integrity_report import (
    CHECK_ORDER,
    CheckName,
    IntegrityProblem,
    IntegrityReport,
)
from lawloop.storage._models import (
    MODELS,
    RUN_STATE_COLUMNS,
    Artifact,
    Base,
    ChainEntry,
    EntityKind,
    LineageEdge,
    ModelFit,
    Relation,
    StatusChange,
)
from lawloop.storage._store_base import EDGE_NAMESPACE

__all__ = ["Checker"]

_ARTIFACT_LISTS: dict[str, tuple[str, ...]] = {
    ModelFit.__tablename__: ("train_data_json", "test_data_json"),
}
"""JSON columns that hold lists of artifact sha256s, by table."""

_CHAIN_TABLES = frozenset({ChainEntry.__tablename__, StatusChange.__tablename__})
"""Tables migration 0004 adds; a database without them predates the chain."""

_IN_CHUNK = 500
"""Bound parameters per `IN (...)` query (SQLite allows 999 in old builds)."""


def _table(model: type[Base]) -> sa.Table:
    """A model's table."""
    return cast(sa.Table, model.__table__)


def _key(table: sa.Table) -> sa.Column[Any]:
    """The single primary-key column of a model table."""
    return next(iter(table.primary_key.columns))


def _order(table: sa.Table) -> sa.Column[Any]:
    """Insertion order (`seq`) where the table has it, else the primary key."""
    return table.c.seq if "seq" in table.c else _key(table)


def _as_text(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The column's stored value as text, bypassing its type's result processing."""
    return sa.cast(column, sa.Text)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    """`items` in slices of at most `_IN_CHUNK`."""
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class Checker:
    """Runs the checks on one connection and collects the problems."""

    def __init__(self, connection: sa.Connection, database: str) -> None:
        self.connection = connection
        self.database = database
        self.problems: list[IntegrityProblem] = []
        self.tables = list(Base.metadata.sorted_tables)
        self.skipped: set[tuple[str, str]] = set()
        self.chained = True

    def add(
        self, check: CheckName, table: str, row_id: Any, column: str, message: str
    ) -> None:
        """Record one problem."""
        self.problems.append(
            IntegrityProblem(
                check, table, "" if row_id is None else str(row_id), column, message
            )
        )

    def rows(self, statement: sa.Executable) -> Iterator[Any]:
        """Execute `statement`, fetching rows in batches."""
        yield from self.connection.execute(
            statement, execution_options={"yield_per": 256}
        )

    def run(self) -> IntegrityReport:
        """Run every check; the schema check gates the others."""
        revision = self.revision()
        if self.check_schema():
            for check in (
                self.check_foreign_keys,
                self.check_artifacts,
                self.check_lineage,
                self.check_edge_kinds,
                self.check_values,
                self.check_chain,
            ):
                check()
            counts = {
                t.name: self.connection.execute(
                    sa.select(sa.func.count()).select_from(t)
                ).scalar_one()
                for t in self.tables
            }
        else:
            counts = {}
        # Stable: within a check, problems stay in table and row order.
        problems = sorted(self.problems, key=lambda p: CHECK_ORDER.index(p.check))
        return IntegrityReport(self.database, revision, counts, tuple(problems))

    def revision(self) -> str | None:
        """The Alembic revision recorded in the database, if any."""
        if not sa.inspect(self.connection).has_table("alembic_version"):
            return None
        version = self.connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version"
        ).scalar()
        return None if version is None else str(version)

    def check_schema(self) -> bool:
        """Every model table and column exists; return whether the rest can run."""
        inspector = sa.inspect(self.connection)
        present = set(inspector.get_table_names())
        hint = "open the database with `storage.open_store` (or `alembic upgrade head`) to create or upgrade its schema"
        if not present & _CHAIN_TABLES and "campaign" in present:
            # A database from before 0004 has no chain yet: whole, but what
            # only the chain would show (edits, statuses) goes unchecked.
            self.tables = [t for t in self.tables if t.name not in _CHAIN_TABLES]
            self.chained = False
        for table in self.tables:
            if table.name not in present:
                self.add("schema", table.name, None, "", f"table is missing; {hint}.")
                continue
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.c:
                if table.name == "campaign" and column.name in RUN_STATE_COLUMNS:
                    # The live run's state, not the record: a database from
                    # before 0003 lacks it and is whole; nothing checks it.
                    self.skipped.add((table.name, column.name))
                    continue
                if column.name not in columns:
                    self.add(
                        "schema",
                        table.name,
                        None,
                        column.name,
                        f"column is missing; {hint}.",
                    )
        return not self.problems

    def check_foreign_keys(self) -> None:
        """Every reference column names an existing row of the same campaign."""
        for table in self.tables:
            key = _key(table)
            for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
                column, referred = fk.parent, fk.column
                target = referred.table
                check: CheckName = (
                    "artifact"
                    if target.name == Artifact.__tablename__
                    else "foreign-key"
                )
                what = (
                    "is not in the artifact store"
                    if check == "artifact"
                    else f"names no row of `{target.name}`"
                )
                statement = (
                    sa.select(key, column)
                    .where(column.is_not(None), ~sa.exists().where(referred == column))
                    .order_by(_order(table))
                )
                for row_id, value in self.rows(statement):
                    self.add(
                        check, table.name, row_id, column.name, f"`{value}` {what}."
                    )
                if (
                    "campaign_id" in table.c
                    and "campaign_id" in target.c
                    and column.name != "campaign_id"
                ):
                    self.check_same_campaign(table, column, target, referred)

    def check_same_campaign(
        self,
        table: sa.Table,
        column: sa.Column[Any],
        target: sa.Table,
        referred: sa.Column[Any],
    ) -> None:
        """The row `column` names belongs to the referring row's campaign."""
        other = target.alias("referred")
        other_key = other.c[referred.key]
        statement = (
            sa.select(_key(table), column, table.c.campaign_id, other.c.campaign_id)
            .join_from(table, other, other_key == column)
            .where(other.c.campaign_id != table.c.campaign_id)
            .order_by(_order(table))
        )
        for row_id, value, mine, theirs in self.rows(statement):
            self.add(
                "foreign-key",
                table.name,
                row_id,
                column.name,
                f"`{value}` is a {target.name} of campaign `{theirs}`, not of this row's campaign `{mine}`.",
            )

    def check_artifacts(self) -> None:
        """Artifact lists name stored artifacts; stored bytes match their sha256."""
        for table in self.tables:
            for name in _ARTIFACT_LISTS.get(table.name, ()):
                self.check_artifact_list(table, table.c[name])
        # A blob rewritten as TEXT (or NULL) is reported, never decoded: SQLite
        # would hand back text that need not be UTF-8, and the column type's
        # result processing expects bytes. So read bytes and the stored type.
        column = Artifact.__table__.c.data
        stored: sa.ColumnElement[Any]
        if self.connection.dialect.name == "sqlite":
            stored = sa.func.typeof(column)
            data_raw = sa.type_coerce(
                sa.cast(column, sa.LargeBinary), sa.types.NullType()
            )
        else:
            stored = sa.case((column.is_(None), "null"), else_="blob")
            data_raw = sa.type_coerce(column, sa.types.NullType())
        statement = sa.select(
            Artifact.sha256, Artifact.size_bytes, data_raw, stored
        ).order_by(Artifact.sha256)
        for sha, size, data, kind in self.rows(statement):
            if kind != "blob" or data is None:
                self.add(
                    "artifact",
                    Artifact.__tablename__,
                    sha,
                    "data",
                    f"holds {kind}, not bytes; the blob was rewritten.",
                )
                continue
            data = bytes(data)
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha:
                self.add(
                    "artifact",
                    Artifact.__tablename__,
                    sha,
                    "data",
                    f"the stored bytes hash to `{actual}`, not to the row's sha256; they were altered.",
                )
            if size != len(data):
                self.add(
                    "artifact",
                    Artifact.__tablename__,
                    sha,
                    "size_bytes",
                    f"is {size} but the stored bytes are {len(data)} long.",
                )

    def check_artifact_list(self, table: sa.Table, column: sa.Column[Any]) -> None:
        """Each sha256 in the JSON list `column` is a stored artifact."""
        named: list[tuple[Any, int, str]] = []
        statement = sa.select(_key(table), _as_text(column)).order_by(_order(table))
        for row_id, text in self.rows(statement):
            try:
                items = json.loads(text)
            except (TypeError, ValueError):
                continue  # reported by `check_values`
            if not isinstance(items, list) or not all(
                isinstance(i, str) for i in items
            ):
                shown = text if text is None or len(text) <= 80 else text[:77] + "..."
                self.add(
                    "artifact",
                    table.name,
                    row_id,
                    column.name,
                    f"`{shown}` is not a JSON list of sha256 strings.",
                )
                continue
            named.extend((row_id, i, sha) for i, sha in enumerate(items))
        wanted = sorted({sha for _, _, sha in named})
        stored: set[str] = set()
        for chunk in _chunks(wanted):
            stored.update(
                self.connection.execute(
                    sa.select(Artifact.sha256).where(Artifact.sha256.in_(chunk))
                ).scalars()
            )
        for row_id, i, sha in named:
            if sha not in stored:
                self.add(
                    "artifact",
                    table.name,
                    row_id,
                    column.name,
                    f"item {i}, `{sha}`, is not in the artifact store.",
                )

    def check_lineage(self) -> None:
        """Both ends of every edge exist as their kind; edge ids are as `link` makes them."""
        edges = _table(LineageEdge)
        for kind, model in MODELS.items():
            key = _key(_table(model))
            for end in ("source", "target"):
                id_col = edges.c[f"{end}_id"]
                statement = (
                    sa.select(edges.c.id, id_col)
                    .where(
                        edges.c[f"{end}_kind"] == kind,
                        ~sa.exists().where(key == id_col),
                    )
                    .order_by(edges.c.seq)
                )
                for edge_id, value in self.rows(statement):
                    self.add(
                        "lineage",
                        edges.name,
                        edge_id,
                        f"{end}_id",
                        f"{end} {kind.value} `{value}` does not exist.",
                    )
        relation = sa.type_coerce(edges.c.relation, sa.String())
        statement = (
            sa.select(edges.c.id, edges.c.source_id, edges.c.target_id, relation)
            # An unknown relation is reported by `check_values`, once.
            .where(relation.in_([r.value for r in Relation]))
            .order_by(edges.c.seq)
        )
        for edge_id, source, target_id, relation in self.rows(statement):
            expected = str(
                uuid.uuid5(EDGE_NAMESPACE, f"{source}|{target_id}|{relation}")
            )
            if edge_id != expected:
                self.add(
                    "lineage",
                    edges.name,
                    edge_id,
                    "id",
                    f"is not the id `Store.link` gives these ends and relation (`{expected}`); the edge was edited.",
                )

    def check_edge_kinds(self) -> None:
        """Every edge's (source kind, relation, target kind) is in `ALLOWED_EDGES`.

        `Store.link` refuses any other since the table was introduced; an
        older database or one written by other means may hold one.
        """
        edges = _table(LineageEdge)
        raw = {
            name: sa.type_coerce(edges.c[name], sa.String())
            for name in ("source_kind", "relation", "target_kind")
        }
        kinds = [k.value for k in EntityKind]
        statement = (
            sa.select(edges.c.id, *raw.values())
            # An unknown kind or relation is reported by `check_values`, once.
            .where(
                raw["source_kind"].in_(kinds),
                raw["target_kind"].in_(kinds),
                raw["relation"].in_([r.value for r in Relation]),
            )
            .order_by(edges.c.seq)
        )
        for edge_id, source, relation, target in self.rows(statement):
            if not is_allowed(source, relation, target):
                self.add(
                    "lineage",
                    edges.name,
                    edge_id,
                    "relation",
                    f"`{source} {relation} {target}` is not an allowed edge; from "
                    f"{source} the allowed edges are: {describe_allowed(EntityKind(source))}.",
                )

    def check_chain(self) -> None:
        """Every campaign's hash chain and hypothesis statuses recompute (`storage._chain`)."""
        if not self.chained:
            return
        for table, row_id, column, message in _chain.verify(self.connection):
            self.add("chain", table, row_id, column, message)

    def check_values(self) -> None:
        """Enum columns hold declared values; JSON columns parse."""
        for table in self.tables:
            key = _key(table)
            for column in table.c:
                if (table.name, column.name) in self.skipped:
                    continue
                if isinstance(column.type, sa.Enum):
                    allowed = list(column.type.enums)
                    raw = sa.type_coerce(column, sa.String())
                    statement = (
                        sa.select(key, raw)
                        .where(raw.is_not(None), raw.not_in(allowed))
                        .order_by(_order(table))
                    )
                    expected = ", ".join(f"`{a}`" for a in allowed)
                    for row_id, value in self.rows(statement):
                        self.add(
                            "value",
                            table.name,
                            row_id,
                            column.name,
                            f"`{value}` is not one of {expected}.",
                        )
                elif isinstance(column.type, sa.JSON):
                    statement = sa.select(key, _as_text(column)).order_by(_order(table))
                    for row_id, text in self.rows(statement):
                        if text is None:
                            continue
                        try:
                            json.loads(text)
                        except ValueError as error:
                            self.add(
                                "value",
                                table.name,
                                row_id,
                                column.name,
                                f"is not valid JSON ({error}).",
                            )
