"""What a replay reports: each difference between the record and the replay, and the columns it leaves out.

`ReplayMismatch` is one difference, row and column; `ReplayReport` the
whole outcome; `IGNORED` the columns no replay compares, with the reason
for each (`agent.audit._compare` does the comparing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["IGNORED", "MismatchKind", "ReplayMismatch", "ReplayReport"]

IGNORED: dict[str, str] = {
    "*.created_at, iteration.started_at, *.finished_at": "clock readings",
    "experiment_run.duration_s, planner_call.latency_s": "measured by a clock",
    "*.seq": (
        "a per-table counter of the whole database file: a database holding "
        "other campaigns numbers the same rows differently"
    ),
    "planner_call.parsed_json.attempts, planner_call.parsed_json.reused": (
        "how an LLM reply was obtained (retries and waits of a live call); the "
        "replay reuses the recorded reply, whose text, tokens and parse are compared"
    ),
    "campaign.name, campaign.config_json": "the replay's inputs, copied from the record",
    "campaign.code_version, campaign.environment_json": (
        "the code and machine that ran, not results: differences are listed as notes"
    ),
    "campaign.status, campaign.result_json": (
        "compared only when a whole finished campaign is replayed"
    ),
    "campaign.lease_*, heartbeat_at, stop_requested_at, log_path, progress_json": (
        "the live run's state (which process holds it, when it last beat, its "
        "log file and progress), not the record"
    ),
    "hypothesis.status, hypothesis.score": (
        "compared only when the replay reaches the recorded last iteration: "
        "later iterations update them"
    ),
}
"""Columns a replay does not compare, with the reason for each."""

MismatchKind = Literal["value", "missing", "extra", "artifact"]
"""`value`: a column differs; `missing`: a recorded row the replay did not write;
`extra`: a replayed row the record lacks; `artifact`: stored bytes fail their hash."""


@dataclass(frozen=True, slots=True)
class ReplayMismatch:
    """One difference between the record and the replay.

    For `artifact` mismatches `recorded` is the sha256 the record names and
    `replayed` the hash of the stored bytes, recomputed now (or the two sizes).

    Example:
        >>> mismatch = ReplayMismatch(
        ...     "model_fit", "3f2a9c1e-77d4-5b1e-9a0c-2d1f6e8b4a10", 1,
        ...     "fit of `c0*sqrt(L/g)`", "parameters_json", "c0", 6.3, 6.2898,
        ... )
        >>> str(mismatch)
        'model_fit 3f2a9c1e (iteration 1, fit of `c0*sqrt(L/g)`) parameters_json.c0: recorded 6.3, replayed 6.2898'
    """

    table: str
    """The table of the row."""
    row_id: str
    """The row's id (an artifact's sha256), the same in the record and the replay."""
    iteration: int | None
    """The iteration the row belongs to; None for campaign-level rows."""
    label: str
    """What the row is, in words (a hypothesis's expression, a decision's kind)."""
    column: str | None
    """The column that differs; None when the whole row is missing or extra."""
    path: str
    """Where inside a JSON column (`c0`, `scores.bic`, `[2]`); empty for the whole value."""
    recorded: Any
    """The value on the record."""
    replayed: Any
    """The value the replay produced."""
    kind: MismatchKind = "value"
    """What sort of difference this is."""
    detail: str = ""
    """More about it where known (how two data artifacts differ)."""

    @property
    def where(self) -> str:
        """`column.path`, e.g. `parameters_json.c0`."""
        if not self.path:
            return self.column or ""
        sep = "" if self.path.startswith("[") else "."
        return f"{self.column}{sep}{self.path}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "table": self.table,
            "row_id": self.row_id,
            "iteration": self.iteration,
            "label": self.label,
            "column": self.column,
            "path": self.path,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "kind": self.kind,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        """One line: the row, then what differs."""
        where = f"iteration {self.iteration}, " if self.iteration is not None else ""
        row = f"{self.table} {self.row_id[:8]} ({where}{self.label})"
        if self.kind == "missing":
            text = f"{row}: on the record, not written by the replay"
        elif self.kind == "extra":
            text = f"{row}: written by the replay, not on the record"
        elif self.kind == "artifact":
            text = f"{row} {self.where}: recorded {_short(self.recorded)}, stored bytes give {_short(self.replayed)}"
        else:
            text = f"{row} {self.where}: recorded {_short(self.recorded)}, replayed {_short(self.replayed)}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The outcome of a replay: what was compared and every difference found.

    Example:
        >>> report = replay("sqlite:///lawloop.db", "pend")  # doctest: +SKIP
        >>> report.ok, report.iterations, report.compared_rows  # doctest: +SKIP
        (True, (0, 1), 240)
    """

    campaign_id: str
    """The replayed campaign."""
    name: str
    """Its name on the record."""
    iterations: tuple[int, ...]
    """The iterations whose rows were compared."""
    compared_rows: int
    """Rows compared (artifacts included), whether they matched or not."""
    mismatches: tuple[ReplayMismatch, ...]
    """Every difference, earliest iteration first."""
    notes: tuple[str, ...] = ()
    """Context that is not a mismatch: code version, environment, limits of the replay."""
    replay_db: str | None = None
    """URL of the kept replay database, when one was kept."""
    ignored: dict[str, str] = field(default_factory=lambda: dict(IGNORED))
    """Columns not compared, with the reason for each."""

    @property
    def ok(self) -> bool:
        """True when the replay matches the record."""
        return not self.mismatches

    @property
    def first_iteration(self) -> int | None:
        """The earliest iteration with a mismatch (later ones usually follow from it)."""
        its = [m.iteration for m in self.mismatches if m.iteration is not None]
        return min(its) if its else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: `campaign`, `iterations`, `compared_rows`, `mismatches`, ..."""
        return {
            "campaign": self.campaign_id,
            "name": self.name,
            "ok": self.ok,
            "iterations": list(self.iterations),
            "compared_rows": self.compared_rows,
            "first_mismatch_iteration": self.first_iteration,
            "mismatches": [m.to_dict() for m in self.mismatches],
            "notes": list(self.notes),
            "replay_db": self.replay_db,
            "ignored": dict(self.ignored),
        }


def _short(value: Any, limit: int = 160) -> str:
    """A value for one line of text, cut to `limit` characters."""
    text: str = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
