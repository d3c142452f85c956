"""Read-only integrity check of a whole provenance database (`check_database`).

The store checks references when it writes; this re-checks a database that
may have been changed by other means (raw SQL, a restored backup, a disk
error). It trusts no constraint of the database itself: SQLite does not
enforce foreign keys unless asked to, so every reference is checked with an
explicit query. Checks, in this order:

* `schema`: every table and column of the models is present (otherwise the
  other checks cannot run and are skipped);
* `foreign-key`: every reference column names an existing row, and a row's
  iteration or hypothesis belongs to the row's own campaign;
* `artifact`: every sha256 a row names (`experiment_run.inputs_sha256` and
  `data_sha256`, the `model_fit` train and test lists) is in the artifact
  store, and every stored artifact's bytes hash to its sha256 again;
* `lineage`: both ends of every edge exist in the table of their declared
  kind (as `Store.check_lineage`), and the edge id is the one `Store.link`
  derives from its ends and relation;
* `value`: enum columns hold declared values and JSON columns parse;
* `chain`: each campaign's hash chain (`storage._chain`) recomputes: the
  first row whose content, order or presence no longer matches what was
  chained is named, and so is every row on no chain and every hypothesis
  whose status is not that of its last recorded status change.

Nothing is written. A SQLite file named by URL is opened with
`file:...?mode=ro` and `PRAGMA query_only=ON`; a given engine or store gets
`query_only` for the duration of the check. (In WAL mode SQLite may leave the
empty `-wal`/`-shm` side files of a read-only reader beside the database; the
database file itself is never written.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import sqlalchemy as sa
from lawloop.storage import _chain
from lawloop.storage._engine import BUSY_TIMEOUT_MS
from lawloop.storage._models import (
    MODELS,
    RUN_STATE_COLUMNS,
    Artifact,
    Base,
    ChainEntry,
    LineageEdge,
    ModelFit,
    Relation,
    StatusChange,
)
from lawloop.storage._store import EDGE_NAMESPACE, Store
from lawloop.storage.errors import NotFoundError
from sqlalchemy.pool import NullPool

__all__ = ["IntegrityProblem", "IntegrityReport", "check_database"]

CheckName = Literal["schema", "foreign-key", "artifact", "lineage", "value", "chain"]
"""The check that found a problem."""

_CHECK_ORDER: tuple[CheckName, ...] = (
    "schema",
    "foreign-key",
    "artifact",
    "lineage",
    "value",
    "chain",
)

_ARTIFACT_LISTS: dict[str, tuple[str, ...]] = {
    ModelFit.__tablename__: ("train_data_json", "test_data_json"),
}
"""JSON columns that hold lists of artifact sha256s, by table."""

_CHAIN_TABLES = frozenset({ChainEntry.__tablename__, StatusChange.__tablename__})
"""Tables migration 0004 adds; a database without them predates the chain."""

_IN_CHUNK = 500
"""Bound parameters per `IN (...)` query (SQLite allows 999 in old builds)."""


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """One thing wrong with one row: where it is and what is wrong.

    Example:
        >>> str(problem)
        'model_fit `3f2a...` hypothesis_id: `ghost` names no row of `hypothesis`.'
    """

    check: CheckName
    """The check that found it."""
    table: str
    """The table of the faulty row."""
    row_id: str
    """Its primary key (`id`, or `sha256` for artifacts); empty for schema problems."""
    column: str
    """The faulty column; empty when the whole table is missing."""
    message: str
    """What is wrong, with the offending value."""

    def __str__(self) -> str:
        """`table `row` column: message`, one line."""
        row = f"`{self.row_id}`" if self.row_id else ""
        where = " ".join(part for part in (self.table, row, self.column) if part)
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """The fields as a JSON-ready dict."""
        return {
            "check": self.check,
            "table": self.table,
            "row_id": self.row_id,
            "column": self.column,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """The outcome of `check_database`: what was checked and every problem found.

    Example:
        >>> report = check_database("sqlite:///lawloop.db")
        >>> report.ok, report.rows["hypothesis"]
        (True, 42)
    """

    database: str
    """The database URL, password hidden."""
    revision: str | None
    """Its Alembic revision (`None` if it has no `alembic_version` table)."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows checked, by table."""
    problems: tuple[IntegrityProblem, ...] = ()
    """Every problem, by check, then table, then row order."""

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: `ok`, `database`, `revision`, `rows`, `problems`."""
        return {
            "ok": self.ok,
            "database": self.database,
            "revision": self.revision,
            "rows": dict(self.rows),
            "problems": [p.to_dict() for p in self.problems],
        }


def check_database(target: Store | sa.Engine | str | sa.URL) -> IntegrityReport:
    """Check every campaign of a database without writing to it.

    Args:
        target: A `Store`, an engine, or a database URL. A URL is opened
            read-only (SQLite: `mode=ro`) and never upgraded, so it can check
            a database at any revision; a store or engine is used as is with
            writes refused for the duration.

    Returns:
        The report; `report.ok` when nothing is wrong.

    Raises:
        NotFoundError: A SQLite URL names a file that does not exist.
    """
    if isinstance(target, Store | sa.Engine):
        engine = target.engine if isinstance(target, Store) else target
        name = engine.url.render_as_string(hide_password=True)
        with _read_only(engine) as connection:
            return _Checker(connection, name).run()
    url = sa.make_url(target)
    engine = _read_only_engine(url)
    try:
        with _read_only(engine) as connection:
            return _Checker(connection, url.render_as_string(hide_password=True)).run()
    finally:
        engine.dispose()


def _read_only_engine(parsed: sa.URL) -> sa.Engine:
    """An engine opening a SQLite file with `mode=ro`; other URLs plainly, unpooled."""
    database = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or "uri" in parsed.query  # already a `file:` URI: taken as given
    ):
        # Not `make_engine`: its connect hook would switch the journal to WAL.
        return sa.create_engine(parsed, poolclass=NullPool)
    path = Path(database).resolve()  # relative to the working directory, as sqlite3
    if not path.is_file():
        msg = f"No database file at `{path}`; check `--db` (a URL such as `sqlite:///lawloop.db`)."
        raise NotFoundError(msg)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        # Bytes that are not UTF-8 in a text column are damage to report, not
        # a reason for the check to stop: they decode, and fail their digest.
        connection.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
        return connection

    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)


@contextmanager
def _read_only(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in one read-only transaction, rolled back at the end."""
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # One read transaction: a snapshot, even while a campaign writes.
            connection.exec_driver_sql("BEGIN")
        elif dialect == "postgresql":
            connection.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
        try:
            yield connection
        finally:
            connection.rollback()
            if dialect == "sqlite":
                # The connection may go back to a store's pool: writable again.
                connection.exec_driver_sql("PRAGMA query_only=OFF")
                connection.rollback()


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


class _Checker:
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
        problems = sorted(self.problems, key=lambda p: _CHECK_ORDER.index(p.check))
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
