"""Start and resume campaigns: the graph, its checkpointer, the store, the backend."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lawloop.agent._clock import Clock
from lawloop.agent._settings import heartbeat_interval
from lawloop.agent.errors import CampaignInterrupted, CampaignStateError, ConfigError
from lawloop.agent.loop._checkpoints import open_checkpointer
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.loop._control import RunControl
from lawloop.agent.loop._environment import code_version, environment
from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._progress import ProgressMode, ProgressView, campaign_log_path
from lawloop.agent.loop._wiring import (
    describe_backend,
    llm_planner,
    make_backend,
    regressor_factory,
)
from lawloop.agent.views._summary import best_law, campaign_summary
from lawloop.storage import CampaignStatus, Store, open_store

if TYPE_CHECKING:
    from lawloop.agent.loop._graph import NodeHook
    from lawloop.agent.planners._llm_planner import LLMPlanner
    from lawloop.experiments import ExperimentBackend

__all__ = ["describe_backend", "resume_campaign", "start_campaign"]

log = logging.getLogger(__name__)

_RECURSION_LIMIT = 10_000  # steps; the budget stops a campaign long before this guard


def _run(
    store: Store,
    db_url: str,
    loop: Loop,
    initial: dict[str, Any] | None,
    *,
    hook: NodeHook | None = None,
    started: float | None = None,
) -> str:
    """Invoke the graph until it ends; record interruption and failure.

    Args:
        store: The campaign's store.
        db_url: Its URL (the checkpointer lives beside it).
        loop: The campaign's nodes; its clock is set here.
        initial: The first state of a new campaign; `None` to go on from the checkpoint.
        hook: Called around every node.
        started: `time.monotonic()` when this run began (default: now), so that
            the time limit counts the setup before the graph too.

    Returns:
        Why the campaign stopped (`accepted`, a spent budget).
    """
    from langchain_core.runnables import RunnableConfig  # noqa: PLC0415 - comes with langgraph

    from lawloop.agent.loop._graph import build_graph  # noqa: PLC0415 - imports langgraph

    cfg = RunnableConfig(
        configurable={"thread_id": loop.campaign_id}, recursion_limit=_RECURSION_LIMIT
    )
    with open_checkpointer(db_url) as saver:
        graph = build_graph(hook).compile(checkpointer=saver)
        checkpoint = graph.get_state(cfg).values
        if initial is None and not checkpoint:
            initial = _initial_state(
                loop.campaign_id
            )  # killed before the first checkpoint
        # A resumed run goes on from the work time of the finished iterations:
        # the time the process was down (and the unfinished iteration's) is not counted.
        before = 0.0 if initial is not None else float(checkpoint.get("elapsed_s", 0.0))
        loop.clock = Clock(
            time.monotonic() if started is None else started,
            before_s=before,
            limit_s=loop.config.time_limit,
        )
        store.set_campaign_status(loop.campaign_id, CampaignStatus.RUNNING)
        try:
            graph.invoke(initial, cfg, context=loop, durability="sync")
        except KeyboardInterrupt as stop:
            # A runner that lost its lease leaves the status to the new holder.
            if not (isinstance(stop, CampaignInterrupted) and stop.lease_lost):
                store.set_campaign_status(loop.campaign_id, CampaignStatus.INTERRUPTED)
            raise
        except Exception:
            store.set_campaign_status(loop.campaign_id, CampaignStatus.FAILED)
            raise
        state = graph.get_state(cfg).values
    reason = str(state.get("stop_reason", ""))
    _finish(store, loop, reason)
    return reason


def _initial_state(campaign_id: str) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "iteration": 0,
        "design_sha": "",
        "design_reason": "",
        "iter_started": 0.0,
        "elapsed_s": 0.0,
        "done": False,
        "stop_reason": "",
    }


def _finish(store: Store, loop: Loop, stop_reason: str) -> None:
    """Record the final result: the best law with its constants, snapped if the data allow."""
    last = max((it.index for it in store.iterations_for(loop.campaign_id)), default=0)
    ev = loop.judgement(last)
    best = (
        best_law(
            store,
            ev,
            loop.variables,
            data=loop.data(until=last),
            tolerance=loop.tolerance,
            default_bound=loop.config.adequacy_chi2,
        )
        if ev is not None
        else None
    )
    store.set_campaign_status(
        loop.campaign_id,
        CampaignStatus.FINISHED,
        result={
            "best": best,
            "stop_reason": stop_reason,
            # The rivals a "consistent" ending could not exclude.
            **(
                {"rivals": (ev.rivals or []) if ev else []}
                if stop_reason == "consistent"
                else {}
            ),
        },
        finished=True,
    )


class _Supervision:
    """The node hook of a supervised run: the stop check, then the progress view."""

    def __init__(self, control: RunControl, view: ProgressView) -> None:
        self.control = control
        self.view = view

    def before(self, node: str, state: Mapping[str, Any], loop: Loop) -> None:
        """Stop here if asked to (the previous node's checkpoint is written), else note the node."""
        self.control.check()
        self.view.before(node, state, loop)

    def after(
        self,
        node: str,
        state: Mapping[str, Any],
        update: Mapping[str, Any],
        loop: Loop,
    ) -> None:
        """Note the node's end."""
        self.view.after(node, state, update, loop)


def _private(db_url: str) -> bool:
    """Whether the database is a private in-memory SQLite one (no other process sees it)."""
    url = sa.engine.make_url(db_url)
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    )


@contextmanager
def _supervised(
    store: Store,
    db_url: str,
    campaign_id: str,
    config: CampaignConfig,
    *,
    name: str,
    progress: ProgressMode,
    handle_signals: bool,
    heartbeat_s: float | None,
    resumed: bool,
) -> Iterator[_Supervision]:
    """Hold the campaign's lease, heartbeat, signal handlers and progress view for one run.

    Raises:
        LeaseHeldError: Another live process runs the campaign.
    """
    interval = heartbeat_s if heartbeat_s is not None else heartbeat_interval()[0]
    log_path = campaign_log_path(db_url, campaign_id)
    if log_path is not None:
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # A log is a convenience: a campaign runs without one rather than not at all.
            log.warning("campaign %s runs without a log file: %s", campaign_id, exc)
            log_path = None
    view = ProgressView(
        campaign_id, config, name=name, mode=progress, log_path=log_path
    )
    control = RunControl(
        store,
        campaign_id,
        heartbeat_s=interval,
        handle_signals=handle_signals,
        heartbeat=not _private(db_url),
        log_path=str(log_path) if log_path else None,
        notify=view.event,
    )
    # The lease first: a refused run must not open the panel or write the log.
    with control, view:
        control.snapshot = view.snapshot
        where = f"pid {os.getpid()} on {socket.gethostname()}"
        log_note = f"; log {log_path}" if log_path else ""
        view.event(
            f"{'resumed' if resumed else 'started'} campaign {campaign_id} "
            f"({name}, {config.backend}) in {where}{log_note}"
        )
        try:
            yield _Supervision(control, view)
        except CampaignInterrupted as stop:
            resume = f"python run.py campaign resume {campaign_id[:8]}"
            view.event(f"interrupted: {stop.reason}; continue with `{resume}`")
            raise
        except KeyboardInterrupt:
            view.event("interrupted (KeyboardInterrupt)")
            raise
        except Exception as exc:
            view.event(f"failed: {type(exc).__name__}: {exc}")
            raise


def _finished_line(store: Store, campaign_id: str, reason: str) -> str:
    """The last event of a finished run: why it stopped and the law it ended with."""
    best = (store.get_campaign(campaign_id).result_json or {}).get("best") or {}
    law = f"; best law {best['expression']}" if best.get("expression") else ""
    return f"finished: {reason or 'done'}{law}"


def _create_campaign(
    store: Store,
    config: CampaignConfig,
    backend: ExperimentBackend,
    llm: LLMPlanner | None,
) -> tuple[CampaignConfig, str, str]:
    """Write the campaign row; returns the config as recorded, the new id and the name."""
    if config.llm_replay_from:
        config = config.model_copy(
            update={"llm_replay_from": store.get_campaign(config.llm_replay_from).id}
        )
    campaign_id = str(uuid.uuid4())
    name = config.name or f"{config.campaign_name}-{campaign_id[:8]}"
    if config.name and any(c.name == name for c in store.list_campaigns()):
        msg = f"A campaign named `{name}` exists already; choose another `--name`."
        raise ConfigError(msg)
    env = environment(str(backend.device))
    env["backend"] = describe_backend(backend)
    store.add_campaign(
        campaign_id,
        name=name,
        backend_id=str(backend.id),
        planner=llm.name if llm else config.planner,
        seed=config.seed,
        config=config.model_dump(mode="json"),
        code_version=code_version(),
        environment=env,
    )
    log.info("campaign %s started (%s)", campaign_id, name)
    return config, campaign_id, name


def start_campaign(
    config: CampaignConfig,
    db_url: str,
    *,
    progress: ProgressMode = "none",
    handle_signals: bool = False,
    heartbeat_s: float | None = None,
) -> dict[str, Any]:
    """Create a campaign and run it to the end.

    The run holds the campaign's lease (see `agent._control`), writes its
    log file (`logs/<id>.log` beside a SQLite database, else in the working
    directory) and shows its progress on stderr as asked.

    Args:
        config: The resolved configuration.
        db_url: SQLAlchemy URL of the provenance database.
        progress: `live`, `lines`, `none` (the log file only) or `auto`.
        handle_signals: Turn SIGINT and SIGTERM into a stop after the current
            node (a second one stops at once); main thread only.
        heartbeat_s: Seconds between heartbeats (default: `LAWLOOP_HEARTBEAT_S`, else 2).

    Returns:
        The campaign summary (see `campaign_summary`).

    Raises:
        ConfigError: Unknown backend, bad option, name already used.
        CampaignInterrupted: A signal or `campaign stop` stopped it between two
            nodes; the campaign is marked `interrupted` and can be resumed.
        KeyboardInterrupt: Interrupted; the campaign is marked `interrupted` and can be resumed.
    """
    started = time.monotonic()  # the time limit counts from here
    config, llm = llm_planner(config, check=True)  # fail before anything is written
    backend = make_backend(config)
    store = open_store(db_url)
    try:
        config, campaign_id, name = _create_campaign(store, config, backend, llm)
        with _supervised(
            store,
            db_url,
            campaign_id,
            config,
            name=name,
            progress=progress,
            handle_signals=handle_signals,
            heartbeat_s=heartbeat_s,
            resumed=False,
        ) as supervision:
            loop = Loop(
                store,
                backend,
                config,
                campaign_id,
                regressor_factory(config, backend),
                llm,
            )
            reason = _run(
                store,
                db_url,
                loop,
                _initial_state(campaign_id),
                hook=supervision,
                started=started,
            )
            supervision.view.event(_finished_line(store, campaign_id, reason))
        return campaign_summary(store, campaign_id)
    finally:
        backend.close()
        store.close()
        if llm is not None:
            llm.close()


def resume_campaign(
    campaign: str,
    db_url: str,
    *,
    progress: ProgressMode = "none",
    handle_signals: bool = False,
    heartbeat_s: float | None = None,
) -> dict[str, Any]:
    """Continue a campaign from its last checkpoint.

    Also continues a campaign whose process died (its status `running`, its
    heartbeat stale), taking its lease over.

    Args:
        campaign: Campaign id, unique id prefix, or name.
        db_url: SQLAlchemy URL of the provenance database.
        progress: As for `start_campaign`.
        handle_signals: As for `start_campaign`.
        heartbeat_s: As for `start_campaign`.

    Returns:
        The campaign summary.

    Raises:
        CampaignStateError: The campaign has finished already.
        LeaseHeldError: Another live process runs it; the message names its host and pid.
        CampaignInterrupted: Stopped again between two nodes.
    """
    started = time.monotonic()  # the time limit counts from here
    store = open_store(db_url)
    try:
        c = store.get_campaign(campaign)
        _refuse_finished(c.id, c.status)
        config = CampaignConfig(**c.config_json)
        with _supervised(
            store,
            db_url,
            c.id,
            config,
            name=c.name,
            progress=progress,
            handle_signals=handle_signals,
            heartbeat_s=heartbeat_s,
            resumed=True,
        ) as supervision:
            # Another process may have finished it between the look and the lease.
            _refuse_finished(c.id, store.get_campaign(c.id).status)
            config, llm = llm_planner(config, check=True)
            backend = make_backend(config)
            try:
                loop = Loop(
                    store,
                    backend,
                    config,
                    c.id,
                    regressor_factory(config, backend),
                    llm,
                )
                reason = _run(
                    store, db_url, loop, None, hook=supervision, started=started
                )
                supervision.view.event(_finished_line(store, c.id, reason))
            finally:
                backend.close()
                if llm is not None:
                    llm.close()
        return campaign_summary(store, c.id)
    finally:
        store.close()


def _refuse_finished(campaign_id: str, status: str) -> None:
    """Raise `CampaignStateError` for a finished campaign: there is nothing to resume."""
    if status == "finished":
        msg = f"Campaign `{campaign_id}` has finished; nothing to resume. See `campaign status {campaign_id[:8]}`."
        raise CampaignStateError(msg)
