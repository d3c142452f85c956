"""`Store` methods of the live run: lease, heartbeat, stop requests (rows in `storage._lease`)."""

from __future__ import annotations

from typing import Any

from lawloop.storage import _lease
from lawloop.storage._records import LeaseRecord
from lawloop.storage._store_base import UNSET, StoreBase

__all__ = ["LeaseMixin"]


class LeaseMixin(StoreBase):
    """`Store.acquire_lease`, `renew_lease`, `release_lease`, `request_stop`, `get_lease`."""

    # -- the live run: lease, heartbeat, stop requests (see `storage._lease`) --

    def acquire_lease(
        self,
        campaign_id: str,
        token: str,
        *,
        host: str,
        pid: int,
        node: str = "",
        ttl_s: float,
        log_path: str | None = None,
        replace: str | None = None,
    ) -> bool:
        """Take the right to run a campaign, atomically, if no live process holds it.

        One conditional UPDATE: it succeeds when the lease is free, has
        lapsed (`expires_at` is past on the database clock), is already
        `token`'s, or is held by `replace` (a token the caller found held by
        a dead process). It also clears a stop request left by an earlier run.

        Args:
            campaign_id: The campaign id (exact).
            token: The caller's secret for this run (a UUID string).
            host: The caller's host name, shown to anyone refused.
            pid: The caller's process id.
            node: The caller's process namespace (see `LeaseRecord.node`).
            ttl_s: Seconds the lease lasts unless renewed.
            log_path: The run's log file, recorded if given.
            replace: Take the lease over from this token.

        Returns:
            Whether the caller now holds the lease; if not, `get_lease` names the holder.

        Raises:
            NotFoundError: No such campaign.
            InvalidValueError: `ttl_s` is not positive.
        """
        with self._transaction() as session:
            if _lease.acquire(
                session,
                campaign_id,
                token,
                host=host,
                pid=pid,
                node=node,
                ttl_s=ttl_s,
                log_path=log_path,
                replace=replace,
            ):
                return True
            _lease.read(session, campaign_id)  # NotFoundError for an unknown id
            return False

    def renew_lease(
        self, campaign_id: str, token: str, *, ttl_s: float, progress: Any = UNSET
    ) -> LeaseRecord | None:
        """Heartbeat: push the lease's expiry on, if `token` still holds it.

        Args:
            campaign_id: The campaign id (exact).
            token: The holder's token.
            ttl_s: Seconds from now the lease lasts.
            progress: A JSON-serializable progress snapshot to store with it.

        Returns:
            The lease after the renewal (with any pending stop request), or
            `None` when `token` no longer holds it (another process took it over).
        """
        with self._transaction() as session:
            if not _lease.renew(
                session, campaign_id, token, ttl_s=ttl_s, progress=progress
            ):
                return None
            return _lease.read(session, campaign_id)

    def release_lease(
        self, campaign_id: str, token: str, *, progress: Any = UNSET
    ) -> bool:
        """Give the lease up (if `token` holds it), storing a last progress snapshot.

        Returns:
            Whether `token` held it.
        """
        with self._transaction() as session:
            return _lease.release(session, campaign_id, token, progress=progress)

    def request_stop(self, campaign_id: str) -> bool:
        """Ask the process that runs a campaign to stop after its current step.

        Returns:
            Whether a live lease was there to ask (`False`: nothing runs it).

        Raises:
            NotFoundError: No such campaign.
        """
        with self._transaction() as session:
            if _lease.request_stop(session, campaign_id):
                return True
            _lease.read(session, campaign_id)
            return False

    def get_lease(self, campaign_id: str) -> LeaseRecord:
        """The lease of a campaign (exact id): holder, heartbeat, stop request, log, progress.

        Raises:
            NotFoundError: No such campaign.
        """
        with self._sessions() as session:
            return _lease.read(session, campaign_id)
