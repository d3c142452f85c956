"""Query the hypothesis log: filter and sort hypotheses, list campaigns, as plain rows.

Used by `run.py hypotheses list` and by the Python API (`lawloop.py`), so both
filter, sort and validate the same way.

The score of a hypothesis is the recorded `hypothesis.score`: the Bayesian
information criterion (BIC) of its latest successful fit, written by the
judge when it scores that fit (lower is better; `None` when no fit
succeeded). BICs compare laws fitted on the same data, so scores of
hypotheses last fitted in different iterations, or of different campaigns,
are not comparable. `chi2` (reduced chi-square of the latest successful fit;
about 1 for a law that fits to the noise) and `complexity` (the size of the
expression tree) come from the same fit.

Example:
    >>> with open_store("sqlite:///lawloop.db") as store:
    ...     rows = query_hypotheses(store, status="accepted,superseded", sort="-score", limit=3)
    >>> [(r.status, r.expression) for r in rows][:1]
    [('accepted', 'sqrt(L)*c0/sqrt(g)')]
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from lawloop.agent.errors import QueryError
from lawloop.agent.planners._proposal import Source
from lawloop.agent.views._summary import campaign_summary
from lawloop.storage import FitRecord, HypothesisRecord, HypothesisStatus, Store

__all__ = [
    "HYPOTHESIS_SORT_KEYS",
    "HYPOTHESIS_STATUSES",
    "CampaignRow",
    "HypothesisRow",
    "campaign_rows",
    "query_hypotheses",
]

HYPOTHESIS_STATUSES: tuple[str, ...] = tuple(s.value for s in HypothesisStatus)
"""The statuses a hypothesis can have: `open`, `accepted`, `rejected`, `superseded`."""

HYPOTHESIS_SORT_KEYS: tuple[str, ...] = (
    "created",
    "score",
    "chi2",
    "complexity",
    "status",
    "source",
    "iteration",
)
"""Keys `query_hypotheses` sorts by; `created` (insertion order) is the default."""

# Most promising first: what a person looks for at the top of an ascending list.
_STATUS_RANK = {"accepted": 0, "open": 1, "superseded": 2, "rejected": 3}


@dataclasses.dataclass(frozen=True, slots=True)
class HypothesisRow:
    """One line of the hypothesis log: the law, its status and its latest fit's scores.

    Example:
        >>> row = query_hypotheses(store, status="accepted")[0]
        >>> row.expression, row.score < 0
        ('sqrt(L)*c0/sqrt(g)', True)
    """

    id: str
    """The hypothesis id (a UUID string)."""
    campaign_id: str
    """Its campaign."""
    iteration: int | None
    """Index of the iteration that proposed it (`None` if proposed outside one)."""
    expression: str
    """The law with free parameters, in the backend's variable names."""
    parameters: tuple[str, ...]
    """Names of its free parameters."""
    status: str
    """`open`, `accepted`, `rejected` or `superseded`."""
    score: float | None
    """BIC of the latest successful fit, lower is better (see the module docstring)."""
    chi2: float | None
    """Reduced chi-square of the latest successful fit."""
    complexity: int | None
    """Expression-tree size recorded with the latest successful fit."""
    n_fits: int
    """How many fits were recorded (successful or not)."""
    source: str
    """Who proposed it: `power-law`, `template`, `mutation`, `sr`, `llm`, `user`, ..."""
    units_consistent: bool | None
    """Result of the units check at admission; `None` if not checked."""
    created_at: datetime
    """When it was recorded (UTC)."""

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (`parameters` a list, `created_at` ISO 8601)."""
        out = dataclasses.asdict(self)
        out["parameters"] = list(self.parameters)
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignRow:
    """One campaign: what ran, how far it got and its best law.

    Example:
        >>> [c.status for c in campaign_rows(store)]
        ['finished']
    """

    id: str
    """The campaign id (a UUID string)."""
    name: str
    """Its unique name."""
    backend: str
    """The full backend id, e.g. `core/Pendulum-v0`."""
    planner: str
    """`offline` or `llm:<model>`."""
    seed: int
    """The campaign seed."""
    status: str
    """`created`, `running`, `finished`, `failed` or `interrupted`."""
    iterations: int
    """Finished iterations."""
    measurements: int
    """Points measured (successful runs or not: the budget was spent)."""
    stop_reason: str | None
    """Why it stopped, once it has."""
    best_hypothesis_id: str | None
    """The best law's hypothesis, if any."""
    best_expression: str | None
    """The best law with its constants substituted."""
    best_score: float | None
    """The best law's score (BIC, lower is better)."""
    created_at: datetime
    """When it started (UTC)."""
    finished_at: datetime | None
    """When it finished (UTC), if it has."""

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (datetimes ISO 8601)."""
        out = dataclasses.asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return out


def campaign_rows(store: Store) -> list[CampaignRow]:
    """Every campaign of the store, oldest first.

    Args:
        store: The provenance store.

    Returns:
        One row per campaign.
    """
    out = []
    for c in store.list_campaigns():
        summary = campaign_summary(store, c.id)
        best = summary.get("best") or {}
        out.append(
            CampaignRow(
                id=c.id,
                name=c.name,
                backend=c.backend_id,
                planner=c.planner,
                seed=c.seed,
                status=c.status,
                iterations=int(summary["iterations"]),
                measurements=int(summary["measurements"]),
                stop_reason=summary.get("stop_reason"),
                best_hypothesis_id=best.get("hypothesis_id"),
                best_expression=best.get("expression"),
                best_score=best.get("score"),
                created_at=c.created_at,
                finished_at=c.finished_at,
            )
        )
    return out


def query_hypotheses(
    store: Store,
    *,
    campaign: str | None = None,
    status: str | Sequence[str] | None = None,
    source: str | Sequence[str] | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    sort: str | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> list[HypothesisRow]:
    """Hypotheses of the log, filtered and sorted.

    Args:
        store: The provenance store.
        campaign: Only this campaign (id, unique id prefix or name).
        status: Only these statuses: one, a comma-separated list or a sequence
            (of `HYPOTHESIS_STATUSES`).
        source: Only these sources, given like `status`: the sources lawloop
            records (`power-law`, `template`, `mutation`, `sr`, `llm`, `user`)
            or any source recorded in the store.
        min_score: Only scores (BIC) at least this; hypotheses without a
            score are left out when a score bound is given.
        max_score: Only scores at most this.
        sort: A key of `HYPOTHESIS_SORT_KEYS`, `-` in front for descending;
            `None` keeps insertion order. Missing values sort last either way.
        descending: Sort descending (as a `-` prefix does).
        limit: At most this many rows, after sorting.

    Returns:
        The matching rows.

    Raises:
        QueryError: An unknown status, source or sort key, a score bound that
            is not finite, `min_score` above `max_score`, or `limit` below 1.
        NotFoundError: No campaign matches `campaign`.
        AmbiguousIdError: The campaign prefix matches several campaigns.
    """
    statuses = _choices("status", status, HYPOTHESIS_STATUSES)
    key, reverse = _sort_key(sort, descending)
    _check_bounds(min_score, max_score)
    if limit is not None and limit < 1:
        msg = f"must be at least 1; received {limit}."
        raise QueryError(msg, option="limit")
    campaign_ids = (
        [store.get_campaign(campaign).id]
        if campaign is not None
        else [c.id for c in store.list_campaigns()]
    )
    hypotheses = [h for cid in campaign_ids for h in store.list_hypotheses(cid)]
    if source is not None:
        known = (*(s.value for s in Source), *sorted({h.source for h in hypotheses}))
        sources = _choices("source", source, tuple(dict.fromkeys(known)))
        hypotheses = [h for h in hypotheses if h.source in sources]
    if statuses:
        hypotheses = [h for h in hypotheses if h.status in statuses]
    if min_score is not None:
        hypotheses = [
            h for h in hypotheses if h.score is not None and h.score >= min_score
        ]
    if max_score is not None:
        hypotheses = [
            h for h in hypotheses if h.score is not None and h.score <= max_score
        ]
    rows = _rows(store, campaign_ids, hypotheses)
    if key is not None:
        rows = _sorted(rows, key, reverse)
    return rows[:limit] if limit is not None else rows


def _rows(
    store: Store, campaign_ids: Iterable[str], hypotheses: list[HypothesisRecord]
) -> list[HypothesisRow]:
    """Join each hypothesis with its fits and its iteration's index."""
    wanted = {h.id for h in hypotheses}
    index: dict[str, int] = {}
    fits: dict[str, list[FitRecord]] = {}
    if wanted:
        # One query per iteration, not one per hypothesis: the loop records
        # every fit in the iteration that made it.
        for cid in campaign_ids:
            for it in store.iterations_for(cid):
                index[it.id] = it.index
                for f in store.fits_in_iteration(it.id):
                    if f.hypothesis_id in wanted:
                        fits.setdefault(f.hypothesis_id, []).append(f)
    rows = []
    for h in hypotheses:
        mine = fits.get(h.id, [])
        ok = [f for f in mine if f.success]
        scores = dict(ok[-1].scores_json) if ok else {}
        rows.append(
            HypothesisRow(
                id=h.id,
                campaign_id=h.campaign_id,
                iteration=index.get(h.iteration_id) if h.iteration_id else None,
                expression=h.expression,
                parameters=tuple(h.parameters_json),
                status=h.status,
                score=h.score,
                chi2=_number(scores.get("chi2")),
                complexity=(
                    int(scores["complexity"])
                    if scores.get("complexity") is not None
                    else None
                ),
                n_fits=len(mine),
                source=h.source,
                units_consistent=h.units_consistent,
                created_at=h.created_at,
            )
        )
    return rows


def _number(value: Any) -> float | None:
    """A recorded score as a float, `None` when absent."""
    return None if value is None else float(value)


_KEYS: dict[str, Callable[[HypothesisRow], Any]] = {
    "score": lambda r: r.score,
    "chi2": lambda r: r.chi2,
    "complexity": lambda r: r.complexity,
    "status": lambda r: _STATUS_RANK.get(r.status, len(_STATUS_RANK)),
    "source": lambda r: r.source,
    "iteration": lambda r: r.iteration,
}


def _sorted(rows: list[HypothesisRow], key: str, reverse: bool) -> list[HypothesisRow]:
    """Rows sorted by `key` (stable: ties keep insertion order), missing values last."""
    if key == "created":
        return rows[::-1] if reverse else rows
    get = _KEYS[key]
    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    return sorted(present, key=get, reverse=reverse) + missing


def _sort_key(sort: str | None, descending: bool) -> tuple[str | None, bool]:
    """The sort key and direction of `sort` (`-score`), checked."""
    if sort is None:
        return ("created", True) if descending else (None, False)
    text = sort.strip()
    reverse = descending or text.startswith("-")
    key = text.lstrip("-").strip()
    if key not in HYPOTHESIS_SORT_KEYS:
        msg = _unknown(
            "sort key", sort, HYPOTHESIS_SORT_KEYS, "; `-` in front sorts descending"
        )
        raise QueryError(msg, option="sort")
    return key, reverse


def _choices(
    option: str, value: str | Sequence[str] | None, allowed: Sequence[str]
) -> set[str]:
    """The values of a multi-valued filter (comma-separated or a sequence), checked."""
    if value is None:
        return set()
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = {str(v).strip() for v in items if str(v).strip()}
    for v in sorted(chosen) or [str(value)]:
        if v not in allowed:
            raise QueryError(_unknown(option, v, allowed), option=option)
    return chosen


def _unknown(what: str, value: str, allowed: Sequence[str], extra: str = "") -> str:
    """'Unknown X `v`; expected one of ... Did you mean ...?'."""
    names = ", ".join(f"`{a}`" for a in allowed)
    close = difflib.get_close_matches(value.strip().lstrip("-"), allowed, n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return f"unknown {what} `{value}`; expected one of {names}{extra}.{hint}"


def _check_bounds(low: float | None, high: float | None) -> None:
    """Score bounds must be finite and in order."""
    for option, value in (("min_score", low), ("max_score", high)):
        if value is not None and not math.isfinite(value):
            msg = f"must be a finite number; received {value}."
            raise QueryError(msg, option=option)
    if low is not None and high is not None and low > high:
        msg = f"{low:g} is above the maximum score {high:g}; no score can satisfy both."
        raise QueryError(msg, option="min_score")
