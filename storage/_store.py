"""`Store`: the provenance API, primitives in and frozen records out.

One writer per database file is the intended use on SQLite (the campaign
runner); readers (the CLI) may run alongside thanks to WAL. On PostgreSQL
several campaigns may write one database at once (see `storage._postgres`).
Each method is one short transaction.

`Store` is assembled from one mixin per concern, each in its own module:
`storage._store_writes` (campaign, iterations, artifacts, runs, planner
calls), `_store_claims` (hypotheses, statuses, fits, decisions, lineage
edges), `_store_lease` (the live run) and `_store_queries` (reads), over the
shared plumbing of `_store_base`.
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar

from lawloop.storage import _dump
from lawloop.storage._store_base import EDGE_NAMESPACE, STATUS_NAMESPACE
from lawloop.storage._store_claims import ClaimsMixin
from lawloop.storage._store_lease import LeaseMixin
from lawloop.storage._store_queries import QueriesMixin
from lawloop.storage._store_writes import WritesMixin

__all__ = ["EDGE_NAMESPACE", "STATUS_NAMESPACE", "Store"]


class Store(WritesMixin, ClaimsMixin, LeaseMixin, QueriesMixin):
    """The provenance database: insert-if-absent writes, frozen reads.

    Every `add_*` takes the row's id from the caller and writes nothing if a
    row with that id exists (so a node re-run after a crash writes nothing
    twice); it returns whether it wrote. Rows never change afterwards, except
    through `set_campaign_status`, `finish_iteration`,
    `set_hypothesis_status` and the live run's lease methods
    (`acquire_lease`, `renew_lease`, `release_lease`, `request_stop`).
    Queries return frozen dataclasses, never live ORM objects: `get_run`,
    `get_fit`, `get_decision`, ... look one row up by its exact id
    (`NotFoundError` if there is none), `*_for` list a campaign's rows in
    order. `link` writes only the edges `storage.ALLOWED_EDGES` lists.
    Open one with `storage.open_store`.

    Example:
        >>> import numpy as np
        >>> from lawloop.storage import open_store
        >>> with open_store("sqlite://") as store:  # in memory
        ...     sha = store.put_arrays({"x": np.arange(3.0)})
        ...     store.get_arrays(sha)["x"]
        array([0., 1., 2.])
    """

    DEFAULT_DUMP_DROP: ClassVar[tuple[str, ...]] = _dump.DEFAULT_DROP
    """Columns `dump_campaign` leaves out by default: `name` and clock readings."""

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()
