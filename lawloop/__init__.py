r"""lawloop for notebooks: open a provenance database, browse it, run campaigns.

A thin layer over `agent` and `storage`: listings come back as plain frozen
dataclasses (`CampaignRow`, `HypothesisRow`) or as pandas DataFrames, one
hypothesis in full as a JSON-ready dict, and `start`/`resume` run campaigns
exactly as `python run.py campaign start/resume` does. `import lawloop` is
cheap: the agent (torch, LangGraph), SQLAlchemy and pandas load on first use.

Without a URL, the database is `$LAWLOOP_DB`, else `sqlite:///lawloop.db` in
the working directory (as on the command line). The hypothesis score is the
BIC of its latest successful fit (lower is better), see `agent._hypotheses`.

Example:
    >>> import lawloop
    >>> summary = lawloop.start(backend="core/Pendulum-v0", seed=1, max_iterations=4)
    >>> summary["best"]["expression"]
    '2*pi*sqrt(L)/sqrt(g)'
    >>> with lawloop.open() as db:
    ...     frame = db.hypotheses_frame(status="accepted")
    ...     law = db.hypothesis(frame.loc[0, "id"])
    >>> law["latex"]
    '\\frac{\\sqrt{L} c_{0}}{\\sqrt{g}}'
    >>> db = lawloop.open("sqlite:///lawloop.db")
    >>> [c.status for c in db.campaigns()]
    ['finished']
    >>> db.campaign(summary["campaign_id"][:8]).summary()["status"]
    'finished'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names only: importing them at run time is what costs
    import pandas as pd

    from lawloop.agent import CampaignRow, HypothesisQuery, HypothesisRow
    from lawloop.storage import Store

__all__ = [
    "Campaign",
    "CampaignRow",
    "Database",
    "HypothesisQuery",
    "HypothesisRow",
    "open",
    "resume",
    "start",
]


def _url(url: str | None) -> str:
    """`url`, else `$LAWLOOP_DB`, else the default SQLite file."""
    from lawloop.agent import resolve_db_url  # noqa: PLC0415 - keeps `import lawloop` cheap

    return resolve_db_url(url)[0]


class Database:
    """An open provenance database: campaigns, hypotheses and their details.

    Close it when done (or use it as a context manager). Listings accept the
    filters of `python run.py hypotheses list`; a bad value raises
    `agent.QueryError` naming the keyword and the values allowed.

    Example:
        >>> with lawloop.open("sqlite:///lawloop.db") as db:
        ...     rows = db.hypotheses(status="accepted,superseded", sort="score", limit=5)
        ...     frame = db.campaigns_frame()
        >>> rows[0].status, list(frame.columns)[:3]
        ('superseded', ['id', 'name', 'backend'])
    """

    def __init__(self, url: str | None = None) -> None:
        """Open (creating or upgrading the schema of) the database at `url`.

        Args:
            url: A SQLAlchemy URL; `None` for `$LAWLOOP_DB`, else `sqlite:///lawloop.db`.
        """
        from lawloop.storage import open_store  # noqa: PLC0415 - keeps `import lawloop` cheap

        self.url = _url(url)
        """The database's SQLAlchemy URL."""
        self.store: Store = open_store(self.url)
        """The underlying `storage.Store`, for queries this class does not offer."""

    def close(self) -> None:
        """Close the database's connections."""
        self.store.close()

    def __enter__(self) -> Database:
        """Return the database itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the database."""
        self.close()

    def __repr__(self) -> str:
        """`Database('sqlite:///lawloop.db')`."""
        return f"Database({self.url!r})"

    def campaigns(self) -> list[CampaignRow]:
        """Every campaign, oldest first, with its status, budget use and best law."""
        from lawloop.agent import campaign_rows  # noqa: PLC0415

        return campaign_rows(self.store)

    def campaign(self, campaign: str) -> Campaign:
        """One campaign by id, unique id prefix or name.

        Raises:
            storage.NotFoundError: No campaign matches.
            storage.AmbiguousIdError: The prefix matches several campaigns.
        """
        return Campaign(self, self.store.get_campaign(campaign).id)

    def hypotheses(
        self,
        campaign: str | None = None,
        query: HypothesisQuery | None = None,
        **filters: Any,
    ) -> list[HypothesisRow]:
        """Hypotheses, filtered and sorted as `agent.query_hypotheses` does.

        Args:
            campaign: Only this campaign (id, unique id prefix or name).
            query: An `agent.HypothesisQuery`; or give its fields as keywords.
            **filters: The fields of `agent.HypothesisQuery`: `status`
                (`open`, `accepted`, `rejected`, `superseded`: one, a
                comma-separated list or a sequence), `source` (`power-law`,
                `template`, `mutation`, `sr`, `llm`, ... or any recorded
                source, given like `status`), `min_score` and `max_score`
                (BIC bounds), `sort` (`created`, `score`, `chi2`,
                `complexity`, `status`, `source` or `iteration`; `-score`
                sorts descending; missing values last), `descending`,
                `limit` (at most this many rows, after sorting) and `text`.

        Returns:
            The rows, plain frozen dataclasses.

        Raises:
            agent.QueryError: A bad filter or sort value (names the keyword).
            TypeError: An unknown keyword, or a `query` with keywords.
        """
        from lawloop.agent import HypothesisQuery, query_hypotheses  # noqa: PLC0415

        if query is None:
            query = HypothesisQuery(campaign=campaign, **filters)
        elif filters:
            msg = f"give a HypothesisQuery or keyword filters, not both: {sorted(filters)}"
            raise TypeError(msg)
        elif campaign is not None:
            query = dataclasses.replace(query, campaign=campaign)
        return query_hypotheses(self.store, query)

    def hypothesis(self, hypothesis: str) -> dict[str, Any]:
        """One hypothesis in full: LaTeX, constants ± errors, fits, lineage, decisions.

        Args:
            hypothesis: A hypothesis id or unique id prefix.

        Returns:
            The JSON-ready dict `python run.py hypotheses show --json` prints
            (see `agent.hypothesis_detail` for its keys).
        """
        from lawloop.agent import hypothesis_detail  # noqa: PLC0415

        return hypothesis_detail(self.store, hypothesis)

    def hypotheses_frame(
        self,
        campaign: str | None = None,
        query: HypothesisQuery | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """`hypotheses(...)` as a DataFrame, one row per hypothesis, columns the row's fields.

        Args:
            campaign: Only this campaign.
            query: An `agent.HypothesisQuery`, as for `hypotheses`.
            **filters: The keywords of `hypotheses`.

        Returns:
            The frame (with its columns even when no row matches).
        """
        from lawloop.agent import HypothesisRow  # noqa: PLC0415

        return _frame(HypothesisRow, self.hypotheses(campaign, query, **filters))

    def campaigns_frame(self) -> pd.DataFrame:
        """`campaigns()` as a DataFrame, one row per campaign, columns the row's fields."""
        from lawloop.agent import CampaignRow  # noqa: PLC0415

        return _frame(CampaignRow, self.campaigns())


class Campaign:
    """One campaign of a `Database`: its summary, its hypotheses, and resuming it.

    Example:
        >>> c = db.campaign("pend")
        >>> c.summary()["best"]["expression"]
        '2*pi*sqrt(L)/sqrt(g)'
        >>> len(c.hypotheses(status="accepted"))
        1
    """

    def __init__(self, database: Database, campaign_id: str) -> None:
        """Bind a campaign id (exact) to its database; see `Database.campaign`."""
        self.database = database
        """The database it lives in."""
        self.id = campaign_id
        """The campaign id."""

    def __repr__(self) -> str:
        """`Campaign('3f2a9c1e-...')`."""
        return f"Campaign({self.id!r})"

    def summary(self) -> dict[str, Any]:
        """Status, budget use and best law, as `campaign status --json` prints them."""
        from lawloop.agent import campaign_summary  # noqa: PLC0415

        return campaign_summary(self.database.store, self.id)

    def hypotheses(self, **filters: Any) -> list[HypothesisRow]:
        """This campaign's hypotheses; keywords as for `Database.hypotheses`."""
        return self.database.hypotheses(self.id, **filters)

    def hypotheses_frame(self, **filters: Any) -> pd.DataFrame:
        """This campaign's hypotheses as a DataFrame; keywords as for `Database.hypotheses`."""
        return self.database.hypotheses_frame(self.id, **filters)

    def resume(self) -> dict[str, Any]:
        """Continue this campaign from its last checkpoint; see `lawloop.resume`."""
        return resume(self.id, db=self.database.url)


def _frame(cls: type[Any], rows: Sequence[Any]) -> pd.DataFrame:
    """Rows of the dataclass `cls` as a DataFrame with one column per field."""
    import pandas as pd  # noqa: PLC0415 - pandas takes ~0.3 s to import

    columns = [f.name for f in dataclasses.fields(cls)]
    return pd.DataFrame([dataclasses.astuple(r) for r in rows], columns=columns)


# Shadows the builtin inside this module on purpose: users write `lawloop.open(...)`.
def open(url: str | None = None) -> Database:
    """Open a provenance database.

    Args:
        url: A SQLAlchemy URL; `None` for `$LAWLOOP_DB`, else `sqlite:///lawloop.db`.

    Returns:
        The open database; close it, or use it in a `with` block.

    Example:
        >>> with lawloop.open("sqlite:///lawloop.db") as db:
        ...     db.campaigns_frame()[["name", "status", "best_expression"]]
    """
    return Database(url)


def start(backend: str, *, db: str | None = None, **config: Any) -> dict[str, Any]:
    """Run a new campaign to its end (offline planner unless `planner="llm"`).

    Args:
        backend: Backend id, e.g. `core/Pendulum-v0`, or `module:Class`.
        db: A SQLAlchemy URL; `None` for `$LAWLOOP_DB`, else `sqlite:///lawloop.db`.
        **config: Any field of `agent.CampaignConfig`: `seed`,
            `max_iterations`, `max_measurements`, `time_limit`, `noise`,
            `backend_options`, `planner`, `llm_model`, `name`, ...

    Returns:
        The campaign summary (`campaign_id`, `status`, `iterations`,
        `measurements`, `best`), as `campaign start --json` prints it.

    Raises:
        agent.ConfigError: An unknown backend or an invalid setting.
        KeyboardInterrupt: Interrupted; the campaign can be resumed.

    Example:
        >>> lawloop.start(backend="core/Pendulum-v0", seed=2, max_iterations=3)["status"]
        'finished'
    """
    from lawloop.agent import load_config, start_campaign  # noqa: PLC0415

    return start_campaign(load_config(None, {**config, "backend": backend}), _url(db))


def resume(campaign: str, *, db: str | None = None) -> dict[str, Any]:
    """Continue an interrupted campaign from its last checkpoint, to its end.

    Args:
        campaign: Campaign id, unique id prefix or name.
        db: A SQLAlchemy URL; `None` for `$LAWLOOP_DB`, else `sqlite:///lawloop.db`.

    Returns:
        The campaign summary.

    Raises:
        agent.CampaignStateError: The campaign has finished already.
        storage.NotFoundError: No campaign matches.
    """
    from lawloop.agent import resume_campaign  # noqa: PLC0415

    return resume_campaign(campaign, _url(db))


def __getattr__(name: str) -> Any:
    """The row and query classes, imported from `agent` on first use (PEP 562)."""
    if name in ("CampaignRow", "HypothesisQuery", "HypothesisRow"):
        from lawloop import agent  # noqa: PLC0415

        return getattr(agent, name)
    msg = f"module `lawloop` has no attribute `{name}`"
    raise AttributeError(msg)
