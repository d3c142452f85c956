"""Compare two records of one campaign, row by row, and describe every difference.

The two records hold the same campaign id, so every row has the same id in
both (row ids derive from the campaign id; edges from their ends; artifacts
from their bytes) and rows are matched by id, not by position: a row one
record lacks is reported once instead of shifting every later row. Each
column is compared exactly (JSON columns key by key, NaN equal to NaN),
except those `IGNORED` lists; every artifact a compared run or fit names is
re-hashed from its stored bytes. Used by `agent.audit._replay`; the report
it returns is in `agent.audit._replay_report`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from enum import Enum
from typing import Any

import numpy as np
import sqlalchemy as sa

from lawloop.agent.audit._replay_report import (
    MismatchKind,
    ReplayMismatch,
    ReplayReport,
)
from lawloop.agent.errors import CampaignStateError
from lawloop.agent.record import SupersedeEvidence
from lawloop.storage import Base, StorageError, Store

__all__ = [
    "check_iteration",
    "compare_records",
    "finished_iterations",
]

_TABLES = (
    "campaign",
    "iteration",
    "planner_call",
    "experiment_run",
    "hypothesis",
    "model_fit",
    "decision",
    "lineage_edge",
)
_CLOCK = frozenset({"created_at", "started_at", "finished_at", "seq"})
_SKIP: dict[str, frozenset[str]] = {
    "campaign": frozenset(
        {"name", "config_json", "code_version", "environment_json"}
        | {
            "lease_token",
            "lease_host",
            "lease_pid",
            "lease_node",
            "heartbeat_at",
            "lease_expires_at",
            "stop_requested_at",
            "log_path",
            "progress_json",
        }
    ),
    "experiment_run": frozenset({"duration_s"}),
    "planner_call": frozenset({"latency_s"}),
}
_LLM_TRANSPORT = ("attempts", "reused")
_SHA_COLUMNS = ("inputs_sha256", "data_sha256")
_ABSENT = "(absent)"
_LAST = 2**31  # sorts campaign-level rows after every iteration


def compare_records(
    recorded: Store,
    replayed: Store,
    campaign_id: str,
    *,
    iteration: int | None = None,
) -> ReplayReport:
    """Compare two records of the same campaign id, row by row (see `IGNORED`).

    Args:
        recorded: The store holding the record.
        replayed: The store holding the replay (rows with the same ids).
        campaign_id: The campaign (exact id, prefix or name in `recorded`).
        iteration: Compare only the rows of this iteration.

    Returns:
        The report (`replay_db` unset).

    Raises:
        CampaignStateError: `iteration` is not a finished recorded iteration.
    """
    c = recorded.get_campaign(campaign_id)
    rec, rep = _rows(recorded, c.id), _rows(replayed, c.id)
    finished = finished_iterations(recorded, c.id)
    check_iteration(c.id, finished, iteration)
    incomplete = sorted(
        r["index"] for r in rec["iteration"].values() if r["finished_at"] is None
    )
    replayed_its = {r["index"] for r in rep["iteration"].values()}
    scope = {iteration} if iteration is not None else set(finished) | replayed_its
    final = not incomplete and (iteration is None or iteration == max(finished))
    skip = {k: set(v) for k, v in _SKIP.items()}
    if iteration is not None or c.status != "finished":
        skip["campaign"] |= {"status", "result_json"}
    if not final:
        skip["hypothesis"] = {"status", "score"}
    where = _Where(rec, rep)
    mismatches: list[tuple[tuple[int, int, int], ReplayMismatch]] = []
    compared = 0
    for t, table in enumerate(_TABLES):
        order = list(rec[table]) + [k for k in rep[table] if k not in rec[table]]
        for position, key in enumerate(order):
            k = where.iteration(table, key)
            if (k is None and iteration is not None) or (
                k is not None and k not in scope
            ):
                continue
            compared += 1
            # Campaign-level rows (the outcome) after the iterations that led to them.
            sort = (_LAST if k is None else k, t, position)
            for m in _compare_row(table, key, k, where, skip.get(table, set())):
                a, b = m.recorded, m.replayed
                if (
                    m.column in _SHA_COLUMNS
                    and isinstance(a, str)
                    and isinstance(b, str)
                ):
                    m = replace(m, detail=_array_detail(recorded, replayed, a, b))
                mismatches.append((sort, m))
    checked, bad = _check_artifacts(recorded, where, scope)
    compared += checked
    mismatches.extend(
        ((_LAST if m.iteration is None else m.iteration, len(_TABLES), i), m)
        for i, m in enumerate(bad)
    )
    notes = []
    if incomplete:
        notes.append(
            f"Iteration(s) {', '.join(map(str, incomplete))} did not finish on the record "
            "and were not compared."
        )
    return ReplayReport(
        c.id,
        c.name,
        tuple(sorted(scope)),
        compared,
        tuple(m for _, m in sorted(mismatches, key=lambda p: p[0])),
        tuple(notes),
    )


def finished_iterations(store: Store, campaign_id: str) -> list[int]:
    """Indices of the iterations that finished on the record."""
    return [
        it.index
        for it in store.iterations_for(campaign_id)
        if it.finished_at is not None
    ]


def check_iteration(
    campaign_id: str, finished: list[int], iteration: int | None
) -> None:
    """Raise unless there is something to replay (and `iteration` is a finished one)."""
    if not finished:
        msg = f"Campaign `{campaign_id}` has no finished iteration to replay."
        raise CampaignStateError(msg)
    if iteration is not None and iteration not in finished:
        shown = ", ".join(map(str, finished))
        msg = (
            f"Campaign `{campaign_id}` has no finished iteration {iteration}; "
            f"its finished iterations are {shown}."
        )
        raise CampaignStateError(msg)


def _rows(store: Store, campaign_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of one campaign, table by table, keyed by id, in insertion order."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    with store.engine.connect() as connection:
        for name in _TABLES:
            table = Base.metadata.tables[name]
            key = table.c.id if name == "campaign" else table.c.campaign_id
            result = connection.execute(
                sa.select(table).where(key == campaign_id).order_by(table.c.seq)
            )
            out[name] = {
                str(row["id"]): {
                    k: v.value if isinstance(v, Enum) else v for k, v in row.items()
                }
                for row in result.mappings()
            }
    return out


# -- comparing -------------------------------------------------------------------


class _Where:
    """Where each row belongs (its iteration) and what it is (its label), from both records."""

    def __init__(
        self,
        rec: dict[str, dict[str, dict[str, Any]]],
        rep: dict[str, dict[str, dict[str, Any]]],
    ) -> None:
        self.rec, self.rep = rec, rep
        index = {
            **{i: r["index"] for i, r in rep["iteration"].items()},
            **{i: r["index"] for i, r in rec["iteration"].items()},
        }
        self.of_row: dict[str, int | None] = {}
        for rows in (rep, rec):
            for table in _TABLES:
                for key, row in rows[table].items():
                    if table == "iteration":
                        self.of_row[key] = row["index"]
                    elif "iteration_id" in row:
                        self.of_row[key] = index.get(row["iteration_id"] or "")
        # A `replaced-by` edge joins two hypotheses that may both be older than
        # the supersede decision that wrote it: it belongs to the decision.
        self.superseded: dict[tuple[str, str], int | None] = {}
        for rows in (rep, rec):
            for key, d in rows["decision"].items():
                if d["kind"] == "supersede":
                    superseded = SupersedeEvidence.read(d["evidence_json"]).superseded
                    for rival in superseded:
                        self.superseded[(rival, d["hypothesis_id"])] = self.of_row[key]

    def row(
        self, table: str, key: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The row on the record and in the replay (None where absent)."""
        return self.rec[table].get(key), self.rep[table].get(key)

    def iteration(self, table: str, key: str) -> int | None:
        """The iteration a row belongs to; an edge to the later of its two ends."""
        if table != "lineage_edge":
            return self.of_row.get(key)
        rec, rep = self.row(table, key)
        edge = rec or rep or {}
        if edge["relation"] == "replaced-by":
            pair = (edge["source_id"], edge["target_id"])
            if pair in self.superseded:
                return self.superseded[pair]
        ends = [self.of_row.get(edge["source_id"]), self.of_row.get(edge["target_id"])]
        known = [k for k in ends if k is not None]
        return max(known) if known else None

    def name(self, kind: str, key: str) -> str:
        """A short name of a row: a hypothesis's expression, else its table and id."""
        for rows in (self.rec, self.rep):
            h = rows["hypothesis"].get(key) if kind == "hypothesis" else None
            if h is not None:
                return f"`{h['expression']}`"
        return f"{kind} {key[:8]}"

    def label(self, table: str, key: str) -> str:
        """What a row is, in words."""
        rec, rep = self.row(table, key)
        row = rec or rep or {}
        if table == "campaign":
            return str(row["name"])
        if table == "iteration":
            return f"iteration {row['index']}"
        if table == "planner_call":
            return f"{row['planner']} call, {row['template_name']}"
        if table == "experiment_run":
            return f"run of {row['n_points']} points on {row['backend_id']}"
        if table == "hypothesis":
            return self.name("hypothesis", key)
        if table == "model_fit":
            return f"fit of {self.name('hypothesis', row['hypothesis_id'])}"
        if table == "decision":
            about = row.get("hypothesis_id")
            return str(row["kind"]) + (
                f" {self.name('hypothesis', about)}" if about else ""
            )
        return (
            f"{self.name(row['source_kind'], row['source_id'])} {row['relation']} "
            f"{self.name(row['target_kind'], row['target_id'])}"
        )


def _compare_row(
    table: str, key: str, k: int | None, where: _Where, skip: set[str]
) -> Iterator[ReplayMismatch]:
    """The differences of one row: missing, extra, or column by column."""
    rec, rep = where.row(table, key)
    label = where.label(table, key)
    if rep is None:
        yield ReplayMismatch(
            table, key, k, label, None, "", "(row)", _ABSENT, "missing"
        )
        return
    if rec is None:
        yield ReplayMismatch(table, key, k, label, None, "", _ABSENT, "(row)", "extra")
        return
    llm = table == "planner_call" and str(rec["planner"]).startswith("llm:")
    for column in rec:
        if column in _CLOCK or column in skip:
            continue
        a, b = rec[column], rep.get(column)
        if llm and column == "parsed_json":
            a, b = _without(a, _LLM_TRANSPORT), _without(b, _LLM_TRANSPORT)
        for path, x, y in _diff(a, b, ""):
            yield ReplayMismatch(table, key, k, label, column, path, x, y)


def _check_artifacts(
    recorded: Store, where: _Where, scope: set[int]
) -> tuple[int, list[ReplayMismatch]]:
    """Re-hash every recorded artifact the compared runs and fits name."""
    named: dict[str, tuple[int | None, str]] = {}
    for key, run in where.rec["experiment_run"].items():
        k = where.iteration("experiment_run", key)
        if k in scope:
            for column in _SHA_COLUMNS:
                if run[column]:
                    role = f"{column.removesuffix('_sha256')} of run {key[:8]}"
                    named.setdefault(run[column], (k, role))
    for key, fit in where.rec["model_fit"].items():
        k = where.iteration("model_fit", key)
        if k in scope:
            for sha in [*fit["train_data_json"], *fit["test_data_json"]]:
                if isinstance(sha, str):
                    named.setdefault(sha, (k, f"data of fit {key[:8]}"))
    table = Base.metadata.tables["artifact"]
    stored: dict[str, Any] = {}
    shas = sorted(named)
    with recorded.engine.connect() as connection:
        for start in range(0, len(shas), 500):
            statement = sa.select(
                table.c.sha256, table.c.size_bytes, table.c.data
            ).where(table.c.sha256.in_(shas[start : start + 500]))
            stored.update((row.sha256, row) for row in connection.execute(statement))
    bad = []
    for sha in shas:
        k, role = named[sha]
        row = stored.get(sha)
        if row is None:
            why = "named on the record but not stored"
            bad.append(_artifact(sha, k, role, None, "(row)", _ABSENT, why, "missing"))
            continue
        actual = hashlib.sha256(row.data).hexdigest()
        if actual != sha:
            why = "the stored bytes no longer hash to their sha256"
            bad.append(_artifact(sha, k, role, "data", sha, actual, why))
        if row.size_bytes != len(row.data):
            why = "the stored size is not that of the bytes"
            bad.append(
                _artifact(
                    sha, k, role, "size_bytes", row.size_bytes, len(row.data), why
                )
            )
    return len(shas), bad


def _artifact(
    sha: str,
    k: int | None,
    role: str,
    column: str | None,
    recorded: Any,
    found: Any,
    why: str,
    kind: MismatchKind = "artifact",
) -> ReplayMismatch:
    """A mismatch of an artifact row."""
    return ReplayMismatch(
        "artifact", sha, k, role, column, "", recorded, found, kind, why
    )


def _array_detail(recorded: Store, replayed: Store, a: str, b: str) -> str:
    """How two array artifacts differ, name by name (empty if one cannot be read)."""
    try:
        x, y = recorded.get_arrays(a), replayed.get_arrays(b)
    except StorageError:
        return ""
    parts = []
    for name in list(x) + [n for n in y if n not in x]:
        if name not in x or name not in y:
            parts.append(
                f"`{name}` only {'on the record' if name in x else 'in the replay'}"
            )
            continue
        u, v = np.asarray(x[name]), np.asarray(y[name])
        if u.shape != v.shape:
            parts.append(f"`{name}` shape {u.shape} vs {v.shape}")
            continue
        differ = (
            ~((u == v) | (np.isnan(u) & np.isnan(v))) if u.dtype.kind == "f" else u != v
        )
        n = int(np.count_nonzero(differ))
        if n:
            gap = ""
            if u.dtype.kind in "fiu":
                gap = f", max |difference| {float(np.max(np.abs(u[differ] - v[differ]))):.3g}"
            parts.append(f"`{name}`: {n} of {u.size} values differ{gap}")
    return "; ".join(parts)


def _without(value: Any, keys: Iterable[str]) -> Any:
    """A JSON object without `keys` (other values as they are)."""
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if k not in set(keys)}


def _diff(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """The leaves where two JSON values differ, as (path, a, b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else str(key)
            yield from _diff(a.get(key, _ABSENT), b.get(key, _ABSENT), sub)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif not _same(a, b):
        yield path, a, b


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (a recorded NaN replayed is no difference)."""
    if (
        isinstance(a, float)
        and isinstance(b, float)
        and math.isnan(a)
        and math.isnan(b)
    ):
        return True
    return bool(type(a) is type(b) and a == b) or (_number(a) and _number(b) and a == b)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
