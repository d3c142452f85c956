"""Who runs a campaign, and how it is told to stop: lease, heartbeat, signals, stop requests.

A runner holds the campaign's lease (`Store.acquire_lease`, one conditional
UPDATE) while it runs, so that no second process runs the same campaign. A
daemon thread renews it every `heartbeat_s` seconds; the lease lapses after
`LEASE_BEATS` missed beats, after which anyone may take it over, and
`campaign status` shows a `running` campaign without a live holder as
`interrupted`. On the same machine a dead holder is seen at once: its pid is
gone (checked only within one kernel and PID namespace, where pids mean the
same thing).

Stopping is cooperative: SIGINT, SIGTERM or `campaign stop` (a flag on the
campaign row, which the heartbeat reads, so it works from any machine that
reaches the database) set a stop flag, and the graph checks it before each
node, so the node in progress finishes and its checkpoint is written. A
second signal stops at once.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from lawloop.agent._liveness import holder_alive, holder_text, process_node, run_status
from lawloop.agent.errors import CampaignInterrupted, CampaignStateError, LeaseHeldError
from lawloop.storage import Store, open_store

__all__ = ["LEASE_BEATS", "RunControl", "stop_campaign"]

log = logging.getLogger(__name__)

LEASE_BEATS = 10
"""A lease lasts this many heartbeat intervals: a runner busy in a long
C call (which holds the GIL and so delays its heartbeat thread) keeps it."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
DUMP_SIGNAL = signal.SIGUSR1
"""Prints the stacks of a running campaign's threads on stderr (`faulthandler`)."""


class RunControl:
    """The lease, heartbeat and stop flag of one run of a campaign; a context manager.

    Entering takes the lease (or raises `LeaseHeldError` naming the live
    holder), starts the heartbeat thread and, with `handle_signals`, turns
    the first SIGINT or SIGTERM into a stop request (the second raises at
    once). Leaving restores the signal handlers, stops the thread and gives
    the lease back with the last progress snapshot. The graph calls
    `check()` before each node.

    Example:
        >>> with RunControl(store, campaign_id, heartbeat_s=2.0, handle_signals=True) as control:  # doctest: +SKIP
        ...     control.check()  # raises CampaignInterrupted once asked to stop
    """

    def __init__(
        self,
        store: Store,
        campaign_id: str,
        *,
        heartbeat_s: float,
        handle_signals: bool = False,
        heartbeat: bool = True,
        log_path: str | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare the run's control; nothing happens until it is entered.

        Args:
            store: The campaign's store.
            campaign_id: The campaign (exact id).
            heartbeat_s: Seconds between heartbeats; the lease lasts `LEASE_BEATS` of them.
            handle_signals: Catch SIGINT and SIGTERM (main thread only).
            heartbeat: Run the heartbeat thread (off for a private in-memory
                database, which no other process can see and whose one
                connection a second thread must not share).
            log_path: The run's log file, recorded on the campaign row.
            notify: Called with a line of text on events (a signal, a stop
                request, a lost lease); from the signal handler or the
                heartbeat thread.
        """
        self.store = store
        self.campaign_id = campaign_id
        self.heartbeat_s = float(heartbeat_s)
        self.ttl_s = max(LEASE_BEATS * self.heartbeat_s, 1.0)
        self.token = str(uuid.uuid4())
        self.snapshot: Callable[[], Any] | None = None
        """Returns the JSON-ready progress snapshot stored with each heartbeat and at the end."""
        self.stop_reason: str | None = None
        self.lease_lost = False
        self._handle_signals = handle_signals
        self._heartbeat = heartbeat
        self._log_path = log_path
        self._notify = notify
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: dict[int, Any] = {}
        self._signals = 0
        self._dumping = False

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> RunControl:
        """Take the lease, start the heartbeat, catch signals."""
        self._acquire()
        try:
            if self._heartbeat:
                self._thread = threading.Thread(
                    target=self._beat,
                    name=f"lawloop-heartbeat-{self.campaign_id[:8]}",
                    daemon=True,
                )
                self._thread.start()
            if (
                self._handle_signals
                and threading.current_thread() is threading.main_thread()
            ):
                for sig in _SIGNALS:
                    self._previous[sig] = signal.signal(sig, self._on_signal)
                # `kill -USR1 PID` prints every thread's stack on stderr: what a
                # campaign that seems stuck is waiting for, without stopping it.
                faulthandler.register(DUMP_SIGNAL, all_threads=True)
                self._dumping = True
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the signal handlers, stop the heartbeat, give the lease back."""
        self._restore_signals()
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.heartbeat_s))
        if not self.lease_lost:
            self.store.release_lease(self.campaign_id, self.token, **self._progress())

    def _acquire(self) -> None:
        """Take the lease; take it over from a holder found dead on this machine; else refuse."""
        args: dict[str, Any] = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "node": process_node(),
            "ttl_s": self.ttl_s,
            "log_path": self._log_path,
        }
        if self.store.acquire_lease(self.campaign_id, self.token, **args):
            return
        lease = self.store.get_lease(self.campaign_id)
        if lease.token is not None and not holder_alive(lease):
            if self.store.acquire_lease(
                self.campaign_id, self.token, replace=lease.token, **args
            ):
                log.info(
                    "took over campaign %s from a dead process (%s)",
                    self.campaign_id,
                    holder_text(lease),
                )
                return
            lease = self.store.get_lease(self.campaign_id)
        msg = (
            f"Campaign `{self.campaign_id}` is being run by another process "
            f"({holder_text(lease)}). Wait for it to end, or stop it with "
            f"`python run.py campaign stop {self.campaign_id[:8]}`; once stopped, resume it."
        )
        raise LeaseHeldError(msg)

    # -- stopping ----------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """Whether the run has been asked to stop."""
        return self._stop.is_set()

    def stop(self, reason: str, hint: str = "") -> None:
        """Ask the run to stop before its next node (the first reason wins).

        `hint` is told now (what a second Ctrl-C does) but is not part of
        the reason the stopped run reports, when it no longer applies.
        """
        if self._stop.is_set():
            return
        self.stop_reason = reason
        self._stop.set()
        self._tell(f"{reason}{hint}: stopping after the current step")

    def check(self) -> None:
        """Raise `CampaignInterrupted` if the run has been asked to stop.

        Reads the stored stop request too, not only what the heartbeat has
        seen: a heartbeat starved by a busy machine or a locked SQLite file
        could otherwise let a short campaign finish past a `campaign stop`
        that was asked for in time.
        """
        if not self._stop.is_set():
            self._read_stop_request()
        if self._stop.is_set():
            raise CampaignInterrupted(
                self.campaign_id,
                self.stop_reason or "stopped",
                lease_lost=self.lease_lost,
            )

    def _read_stop_request(self) -> None:
        try:
            lease = self.store.get_lease(self.campaign_id)
        except Exception as exc:  # the heartbeat reads it again soon
            log.warning(
                "campaign %s: reading the stop request failed: %s",
                self.campaign_id,
                exc,
            )
            return
        if lease.stop_requested_at is not None:
            self.stop("stop requested (`campaign stop`)")

    def _progress(self) -> dict[str, Any]:
        """`progress=` for the store: the snapshot now, or nothing (keep the stored one)."""
        return {} if self.snapshot is None else {"progress": self.snapshot()}

    def _tell(self, line: str) -> None:
        log.info("campaign %s: %s", self.campaign_id, line)
        if self._notify is not None:
            self._notify(line)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First signal: stop after the current node. Second: stop now."""
        name = signal.Signals(signum).name
        self._signals += 1
        if self._signals > 1:
            self._restore_signals()  # a third one gets Python's own handling
            self._tell(f"{name} again: stopping at once")
            raise CampaignInterrupted(self.campaign_id, f"{name} received twice")
        hint = (
            " (press Ctrl-C again to stop at once)" if signum == signal.SIGINT else ""
        )
        if self._stop.is_set():
            self._tell(f"{name} received; already stopping{hint}")
            return
        self.stop(f"{name} received", hint=hint)

    def _restore_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if self._dumping:
            faulthandler.unregister(DUMP_SIGNAL)
            self._dumping = False
        previous, self._previous = self._previous, {}
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    # -- heartbeat ---------------------------------------------------------------

    def _beat(self) -> None:
        """Renew the lease every `heartbeat_s` until the run ends; notice stop requests and takeovers."""
        while not self._done.wait(self.heartbeat_s):
            try:
                lease = self.store.renew_lease(
                    self.campaign_id,
                    self.token,
                    ttl_s=self.ttl_s,
                    **self._progress(),
                )
            except Exception as exc:
                # A database hiccup must not end the thread silently: the lease
                # then only ages, and the next beat tries again.
                log.warning("campaign %s: heartbeat failed: %s", self.campaign_id, exc)
                continue
            if lease is None:
                self.lease_lost = True
                holder = self.store.get_lease(self.campaign_id)
                self.stop(
                    f"another process took the campaign over ({holder_text(holder)})"
                )
                return
            if lease.stop_requested_at is not None:
                self.stop("stop requested (`campaign stop`)")


def stop_campaign(
    db_url: str,
    campaign: str,
    *,
    wait: bool = True,
    timeout_s: float | None = None,
    poll_s: float = 0.2,
) -> dict[str, Any]:
    """Ask the process running a campaign to stop after its current step, from anywhere.

    Sets the campaign's stop request, which the runner's heartbeat reads; so
    it works from another shell, and on PostgreSQL from another machine.

    Args:
        db_url: SQLAlchemy URL of the provenance database.
        campaign: Campaign id, unique id prefix, or name.
        wait: Wait until the runner has let go of the campaign.
        timeout_s: Stop waiting after this many seconds (`None`: no limit).
        poll_s: Seconds between looks while waiting.

    Returns:
        `campaign_id`, `holder` (host, pid), `stopped` (whether it has let go),
        and `status`.

    Raises:
        CampaignStateError: Nothing runs the campaign (finished, interrupted, or its process died).
    """
    store = open_store(db_url)
    try:
        c = store.get_campaign(campaign)
        lease = store.get_lease(c.id)
        if not holder_alive(lease) or not store.request_stop(c.id):
            status = run_status(store.get_lease(c.id))
            died = (
                f" Its process ({holder_text(lease)}) stopped without finishing."
                if c.status == "running"
                else ""
            )
            resume = (
                f" Continue it with `python run.py campaign resume {c.id[:8]}`."
                if status != "finished"
                else ""
            )
            msg = f"Campaign `{c.id}` is not running (status `{status}`); nothing to stop.{died}{resume}"
            raise CampaignStateError(msg)
        holder = {"host": lease.host, "pid": lease.pid}
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        now = store.get_lease(c.id)
        while wait and now.token == lease.token and holder_alive(now):
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
            now = store.get_lease(c.id)
        stopped = not (now.token == lease.token and holder_alive(now))
        return {
            "campaign_id": c.id,
            "holder": holder,
            "stopped": stopped,
            "status": run_status(now),
        }
    finally:
        store.close()
