"""What `check_database` returns: one `IntegrityProblem` per fault, gathered in an `IntegrityReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CHECK_ORDER", "CheckName", "IntegrityProblem", "IntegrityReport"]

CheckName = Literal["schema", "foreign-key", "artifact", "lineage", "value", "chain"]
"""The check that found a problem."""

CHECK_ORDER: tuple[CheckName, ...] = (
    "schema",
    "foreign-key",
    "artifact",
    "lineage",
    "value",
    "chain",
)
"""The checks in the order they run and their problems are listed."""


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """One thing wrong with one row: where it is and what is wrong.

    Example:
        >>> problem = IntegrityProblem(
        ...     "foreign-key",
        ...     "model_fit",
        ...     "3f2a...",
        ...     "hypothesis_id",
        ...     "`ghost` names no row of `hypothesis`.",
        ... )
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
        >>> from lawloop.storage import check_database
        >>> report = check_database("sqlite:///lawloop.db")  # doctest: +SKIP
        >>> report.ok, report.rows["hypothesis"]  # doctest: +SKIP
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
