"""One bench campaign, run in a child process under a wall-clock guard, and its judged row.

A campaign that overruns its time limit far (it should not: every node
stops at the deadline) is killed and the bench goes on. `DumpSignal` makes
`kill -USR1` on the bench print its stacks and the running campaign's.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa

from lawloop.agent.audit._recovery import (
    claim_check,
    law_with_intervals,
    verdict_on_problem,
)
from lawloop.agent.loop._config import load_config
from lawloop.agent.loop._control import DUMP_SIGNAL
from lawloop.agent.loop._runner import start_campaign
from lawloop.storage import StorageError, open_store

# `_bench` also runs `_guarded_campaign_row`: its name keeps the underscore it
# had there, because `kill -USR1` stack dumps show it (and a test reads them).
__all__ = ["DumpSignal"]

log = logging.getLogger(__name__)

_KILL_GRACE_S = 5.0
"""Seconds a campaign killed by the guard gets between SIGTERM and SIGKILL."""
_PRELOAD = [
    "lawloop.agent.audit._bench_campaign",
    "lawloop.agent.loop._graph",
    "lawloop.tools.sr",
]
"""Imported once by the fork server, so that each campaign's process starts at once."""


def _campaign_row(
    problems_file: Path,
    pid: str,
    *,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
    tolerance: float | None,
    db_url: str,
    name: str | None = None,
    claim_precision: float | None = None,
) -> dict[str, Any]:
    """One full campaign on a problem, judged."""
    settings: dict[str, Any] = {
        "backend": "core/Formula-v0",
        "backend_options": {
            "problem_file": str(problems_file.resolve()),
            "problem_id": pid,
        },
        "noise": noise,
        "seed": seed,
        "time_limit": time_limit,
        "max_measurements": max_measurements,
        "max_iterations": 1000,
        "device": "cpu",
        "name": name or _campaign_name(pid, noise, seed),
    }
    if tolerance is not None:
        settings["tolerance"] = tolerance
    if claim_precision is not None:
        settings["claim_precision"] = claim_precision
    config = load_config(None, settings)  # validated; a bad value is a ConfigError
    started = time.perf_counter()
    try:
        summary = start_campaign(config, db_url)
    except Exception as exc:  # a failed campaign is a result; the bench goes on
        log.exception("bench %s: campaign failed", pid)
        return dict(
            _failed_row(f"campaign failed: {type(exc).__name__}: {exc}", None),
            seconds=round(time.perf_counter() - started, 2),
        )
    seconds = time.perf_counter() - started
    best = summary.get("best") or {}
    law = law_with_intervals(best)
    verdict = verdict_on_problem(
        problems_file, pid, best.get("expression"), seed, law=law
    )
    return {
        "recovered": bool(verdict["recovered"]),
        "expression": best.get("expression"),
        "seconds": round(seconds, 2),
        "measurements": summary["measurements"],
        "points_used": None,
        "test_r2": verdict["test_r2"],
        "method": verdict["method"],
        "detail": verdict["detail"],
        "campaign_id": summary["campaign_id"],
        "status": summary["status"],
        "stop_reason": summary.get("stop_reason"),
        # The law with its constants free, and their 95 % intervals: enough to
        # judge the row again by a rule that reads the intervals.
        "law": best.get("law"),
        "constants": law[1] if law else {},
        "rivals": _rival_laws(db_url, summary.get("rivals") or []),
        **claim_check(best, verdict),
    }


def _rival_laws(db_url: str, ids: Sequence[str]) -> list[str]:
    """The laws a "consistent" ending could not exclude, as text."""
    if not ids:
        return []
    with open_store(db_url) as store:
        return [store.get_hypothesis(h).expression for h in ids]


def _campaign_name(pid: str, noise: float, seed: int) -> str:
    return f"bench-{pid}-noise{noise:g}-seed{seed}-{time.time_ns()}"


def _campaign_child(
    conn: Connection, problems_file: Path, pid: str, settings: dict[str, Any]
) -> None:
    """The body of a campaign's process: run it, send the row back."""
    faulthandler.register(DUMP_SIGNAL, all_threads=True)
    try:
        row = _campaign_row(problems_file, pid, **settings)
    except BaseException as exc:  # the parent records it; the bench goes on
        row = _failed_row(f"campaign failed: {type(exc).__name__}: {exc}", None)
    with contextlib.suppress(OSError):  # the bench has stopped waiting for it
        conn.send(row)
    conn.close()


def _failed_row(detail: str, campaign_id: str | None) -> dict[str, Any]:
    return {
        "recovered": False,
        "expression": None,
        "seconds": None,
        "measurements": None,
        "points_used": None,
        "test_r2": None,
        "method": "none",
        "detail": detail[-500:],
        "campaign_id": campaign_id,
        "status": "failed",
        "stop_reason": None,
    }


def _private(db_url: str) -> bool:
    """Whether no other process can see the database (in-memory SQLite)."""
    url = sa.engine.make_url(db_url)
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    )


def _guarded_campaign_row(
    problems_file: Path,
    pid: str,
    *,
    wall_limit: float,
    dump: DumpSignal,
    **settings: Any,
) -> dict[str, Any]:
    """`_campaign_row` in a child process, killed if it runs past `wall_limit` seconds.

    A private in-memory database cannot be shared with a child: the campaign
    then runs in this process, unguarded.
    """
    name = _campaign_name(pid, settings["noise"], settings["seed"])
    if _private(settings["db_url"]):
        return _campaign_row(problems_file, pid, name=name, **settings)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_campaign_child,
        args=(send, problems_file, pid, dict(settings, name=name)),
        name=f"lawloop-bench-{pid}",
    )
    started = time.perf_counter()
    child.start()
    send.close()
    dump.child = child.pid
    try:
        ended = receive.poll(wall_limit)  # a row, or EOF if the child died
        row = _received(receive) if ended else None
        if not ended:
            log.warning(
                "bench %s: over its %.0f s wall-clock guard; killed", pid, wall_limit
            )
            child.terminate()
            child.join(_KILL_GRACE_S)
            if child.is_alive():
                child.kill()
        child.join()
    finally:
        dump.child = None
        receive.close()
        if child.is_alive():  # interrupted while waiting: take the campaign along
            child.kill()
            child.join()
    seconds = round(time.perf_counter() - started, 2)
    if row is not None:
        return row if row["seconds"] is not None else dict(row, seconds=seconds)
    campaign_id = _campaign_id(settings["db_url"], name)
    if not ended:
        return dict(
            _failed_row(
                f"killed by the bench's wall-clock guard after {wall_limit:g} s "
                f"(time limit {settings['time_limit']:g} s)",
                campaign_id,
            ),
            seconds=seconds,
            status="killed",
            stop_reason=f"wall-clock guard ({wall_limit:g} s)",
        )
    return dict(
        _failed_row(
            f"campaign process ended without a result (exit code {child.exitcode})",
            campaign_id,
        ),
        seconds=seconds,
    )


def _received(conn: Connection) -> dict[str, Any] | None:
    """The row a campaign's process sent, or None if it died first."""
    try:
        row: dict[str, Any] = conn.recv()
    except (EOFError, OSError):
        return None
    return row


def _campaign_id(db_url: str, name: str) -> str | None:
    """The id of the campaign named `name`, if it got as far as being recorded."""
    try:
        with open_store(db_url) as store:
            return store.get_campaign(name).id
    except StorageError:
        return None


class DumpSignal:
    """`kill -USR1` on the bench: its threads' stacks on stderr, and the running campaign's.

    The stacks of this process are printed at once (`faulthandler`, even in
    a C call); the signal is then passed on to the campaign's process, which
    prints its own. Nothing stops. Installed in the main thread only.
    """

    def __init__(self) -> None:
        self.child: int | None = None
        """The pid of the running campaign's process, if any."""
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> DumpSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(DUMP_SIGNAL, self._forward)
            faulthandler.register(DUMP_SIGNAL, all_threads=True, chain=True)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            faulthandler.unregister(DUMP_SIGNAL)
            signal.signal(DUMP_SIGNAL, self._previous)
            self._installed = False

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        child = self.child
        if child is None:
            return
        sys.stderr.write(f"bench: passing SIGUSR1 to the campaign's process {child}\n")
        sys.stderr.flush()
        with contextlib.suppress(ProcessLookupError):  # it has just ended
            os.kill(child, signum)
