"""Query the hypothesis log: filter and sort hypotheses, list campaigns, as plain rows.

A `HypothesisQuery` holds the filters and the order; `lawloop hypotheses
list`, the Python API (`lawloop.Database.hypotheses`) and the dashboard's log
all build one, so they filter and validate the same way.

The score of a hypothesis is the recorded `hypothesis.score`: the Bayesian
information criterion (BIC) of its latest successful fit, written by the
judge when it scores that fit (lower is better; `None` when no fit
succeeded). BICs compare laws fitted on the same data, so scores of
hypotheses last fitted in different iterations, or of different campaigns,
are not comparable. `chi2` (reduced chi-square of the latest successful fit;
about 1 for a law that fits to the noise) and `complexity` (the size of the
expression tree) come from the same fit.

Example:
    >>> with open_store("sqlite:///lawloop.db") as store:  # doctest: +SKIP
    ...     query = HypothesisQuery(status="accepted", sort="score", limit=3)
    ...     rows = query_hypotheses(store, query)
    >>> [(r.status, r.expression) for r in rows]  # doctest: +SKIP
    [('accepted', 'sqrt(L)*c0*(c1*theta0**2 + 1)/sqrt(g)')]
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
from lawloop.agent.record import FitScores
from lawloop.agent.views._summary import campaign_summary
from lawloop.storage import FitRecord, HypothesisRecord, HypothesisStatus, Store

__all__ = [
    "HYPOTHESIS_SORT_KEYS",
    "HYPOTHESIS_STATUSES",
    "CampaignRow",
    "HypothesisQuery",
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HypothesisQuery:
    """Which hypotheses of the log to list, and in which order, checked when made.

    One value for the filters of `hypotheses list`, `Database.hypotheses`
    and the dashboard's log. `status` and `source` take one value, a
    comma-separated string or a sequence, and are kept as a sorted tuple;
    `sort="-score"` is kept as `sort="score", descending=True`. A bad value
    raises `QueryError` naming the field. Sources are checked when the query
    runs (`query_hypotheses`), as any source recorded in the store is allowed.

    Example:
        >>> query = HypothesisQuery(status="accepted, superseded", sort="-score")
        >>> query.status, query.sort, query.descending
        (('accepted', 'superseded'), 'score', True)
        >>> rows = query_hypotheses(store, query)  # doctest: +SKIP
    """

    campaign: str | None = None
    """Only this campaign (id, unique id prefix or name); resolved when the query runs."""
    status: Sequence[str] | None = None
    """Only these statuses (of `HYPOTHESIS_STATUSES`)."""
    source: Sequence[str] | None = None
    """Only these sources: `power-law`, `template`, `mutation`, `sr`, `llm`, `user` or any recorded."""
    min_score: float | None = None
    """Only scores (BIC) at least this; hypotheses without a score are left out."""
    max_score: float | None = None
    """Only scores at most this."""
    sort: str | None = None
    """A key of `HYPOTHESIS_SORT_KEYS` (`-` in front: descending); `None` keeps insertion order."""
    descending: bool = False
    """Sort descending (as a `-` prefix does)."""
    limit: int | None = None
    """At most this many rows, after sorting."""
    text: str | None = None
    """Only laws whose expression or statement contains this, ignoring case."""

    def __post_init__(self) -> None:
        """Check every field (in the order the CLI reports them) and normalise."""
        status = _choices("status", self.status, HYPOTHESIS_STATUSES)
        key, reverse = _sort_key(self.sort, self.descending)
        _check_bounds(self.min_score, self.max_score)
        if self.limit is not None and self.limit < 1:
            msg = f"must be at least 1; received {self.limit}."
            raise QueryError(msg, option="limit")
        source = _names(self.source)
        if self.source is not None and not source:
            # Nothing named at all: no recorded source can match that.
            known = tuple(s.value for s in Source)
            raise QueryError(
                _unknown("source", str(self.source), known), option="source"
            )
        # Frozen: the normalised values are set once, here.
        object.__setattr__(self, "status", tuple(sorted(status)) or None)
        object.__setattr__(self, "source", tuple(sorted(source)) or None)
        object.__setattr__(self, "sort", key)
        object.__setattr__(self, "descending", reverse)

    def admits(self, h: HypothesisRecord) -> bool:
        """Whether `h` passes the status, source, score and text filters.

        The campaign is not checked here: a name or prefix needs the store,
        and `query_hypotheses` reads only the campaign's hypotheses.
        """
        if self.status is not None and h.status not in self.status:
            return False
        if self.source is not None and h.source not in self.source:
            return False
        if not _in_bounds(h.score, self.min_score, self.max_score):
            return False
        if self.text is not None:
            needle = self.text.lower()
            return needle in h.expression.lower() or needle in h.statement.lower()
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class HypothesisRow:
    """One line of the hypothesis log: the law, its status and its latest fit's scores.

    Example:
        >>> row = query_hypotheses(store, status="accepted")[0]  # doctest: +SKIP
        >>> row.expression, row.score < 0  # doctest: +SKIP
        ('sqrt(L)*c0*(c1*theta0**2 + 1)/sqrt(g)', True)
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
        >>> [c.status for c in campaign_rows(store)]  # doctest: +SKIP
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
    store: Store, query: HypothesisQuery | None = None, /, **filters: Any
) -> list[HypothesisRow]:
    """Hypotheses of the log, filtered and sorted.

    Args:
        store: The provenance store.
        query: The filters and the order; `None` builds one from `filters`.
        **filters: The fields of `HypothesisQuery` (`campaign`, `status`,
            `source`, `min_score`, `max_score`, `sort`, `descending`,
            `limit`, `text`), when no `query` is given. Missing values sort
            last either way.

    Returns:
        The matching rows.

    Raises:
        QueryError: An unknown status, source or sort key, a score bound that
            is not finite, `min_score` above `max_score`, or `limit` below 1.
        NotFoundError: No campaign matches `campaign`.
        AmbiguousIdError: The campaign prefix matches several campaigns.
        TypeError: Both a `query` and keyword filters, or an unknown keyword.
    """
    if query is None:
        query = HypothesisQuery(**filters)
    elif filters:
        msg = f"give a HypothesisQuery or keyword filters, not both: {sorted(filters)}"
        raise TypeError(msg)
    campaign_ids = (
        [store.get_campaign(query.campaign).id]
        if query.campaign is not None
        else [c.id for c in store.list_campaigns()]
    )
    hypotheses = [h for cid in campaign_ids for h in store.list_hypotheses(cid)]
    if query.source is not None:
        known = (*(s.value for s in Source), *sorted({h.source for h in hypotheses}))
        _choices("source", query.source, tuple(dict.fromkeys(known)))
    hypotheses = [h for h in hypotheses if query.admits(h)]
    rows = _rows(store, campaign_ids, hypotheses)
    if query.sort is not None:
        rows = _sorted(rows, query.sort, query.descending)
    return rows[: query.limit] if query.limit is not None else rows


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
        scores = FitScores.read(ok[-1].scores_json) if ok else None
        rows.append(
            HypothesisRow(
                id=h.id,
                campaign_id=h.campaign_id,
                iteration=index.get(h.iteration_id) if h.iteration_id else None,
                expression=h.expression,
                parameters=tuple(h.parameters_json),
                status=h.status,
                score=h.score,
                chi2=_number(scores.chi2) if scores else None,
                complexity=scores.complexity if scores else None,
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
    chosen = _names(value)
    for v in sorted(chosen) or [str(value)]:
        if v not in allowed:
            raise QueryError(_unknown(option, v, allowed), option=option)
    return chosen


def _names(value: str | Sequence[str] | None) -> set[str]:
    """The names of a multi-valued filter: comma-separated or a sequence, stripped."""
    if value is None:
        return set()
    items = value.split(",") if isinstance(value, str) else list(value)
    return {str(v).strip() for v in items if str(v).strip()}


def _unknown(what: str, value: str, allowed: Sequence[str], extra: str = "") -> str:
    """'Unknown X `v`; expected one of ... Did you mean ...?'."""
    names = ", ".join(f"`{a}`" for a in allowed)
    close = difflib.get_close_matches(value.strip().lstrip("-"), allowed, n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return f"unknown {what} `{value}`; expected one of {names}{extra}.{hint}"


def _in_bounds(score: float | None, low: float | None, high: float | None) -> bool:
    """Whether `score` is within the bounds given; without a score (or NaN), never."""
    if low is None and high is None:
        return True
    return (
        score is not None
        and (low is None or score >= low)
        and (high is None or score <= high)
    )


def _check_bounds(low: float | None, high: float | None) -> None:
    """Score bounds must be finite and in order."""
    for option, value in (("min_score", low), ("max_score", high)):
        if value is not None and not math.isfinite(value):
            msg = f"must be a finite number; received {value}."
            raise QueryError(msg, option=option)
    if low is not None and high is not None and low > high:
        msg = f"{low:g} is above the maximum score {high:g}; no score can satisfy both."
        raise QueryError(msg, option="min_score")
