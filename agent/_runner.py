"""Start and resume campaigns: the graph, its checkpointer, the store, the backend."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import experiments
from agent._checkpoints import open_checkpointer
from agent._config import CampaignConfig
from agent._data import Dataset
from agent._environment import code_version, environment
from agent._llm_planner import LLMPlanner
from agent._loop import Loop
from agent._offline import is_angle
from agent._summary import campaign_summary, law_with_constants
from agent.errors import CampaignStateError, ConfigError
from prompts import load as load_prompt
from storage import Store, open_store

__all__ = ["describe_backend", "resume_campaign", "start_campaign"]

log = logging.getLogger(__name__)

_RECURSION_LIMIT = 10_000  # steps; the budget stops a campaign long before this guard


def describe_backend(backend: experiments.ExperimentBackend) -> dict[str, Any]:
    """What the agent sees of a backend: ids, variables with units and ranges."""

    def var(v: Any) -> dict[str, Any]:
        return {
            "name": v.name,
            "unit": v.unit,
            "low": v.low,
            "high": v.high,
            "sampling": getattr(v, "sampling", "uniform"),
            "sign": getattr(v, "sign", "positive"),
            "integer": getattr(v, "integer", False),
        }

    return {
        "id": backend.id,
        "inputs": [var(v) for v in backend.inputs],
        "observables": [{"name": o.name, "unit": o.unit} for o in backend.observables],
        "deterministic": bool(getattr(backend, "deterministic", True)),
    }


def _make_backend(config: CampaignConfig) -> experiments.ExperimentBackend:
    try:
        return experiments.make(
            config.backend,
            noise=config.noise,
            noise_model=config.noise_model,
            noise_offset=config.noise_offset,
            options=dict(config.backend_options),
            device=config.device,
        )
    except experiments.ExperimentError as exc:
        raise ConfigError(str(exc)) from exc


def _regressor_factory(
    config: CampaignConfig, backend: experiments.ExperimentBackend
) -> Callable[[], Any]:
    """Build the SR engine when first needed, with sin/cos only where an input is an angle.

    Trigonometric primitives widen the search space a lot; offering them
    only when a dimensionless input spans an angle range keeps searches on
    other problems as sharp as without them.
    """
    angles = any(is_angle(v) for v in backend.inputs)

    def make() -> Any:
        from tools.sr import DEFAULT_SYMBOLS, make_engine  # noqa: PLC0415 - loads pyoperon lazily

        if config.sr_engine != "operon":
            return make_engine(config.sr_engine)
        symbols = DEFAULT_SYMBOLS + (",sin,cos" if angles else "")
        return make_engine(
            "operon", allowed_symbols=symbols, n_threads=config.sr_threads
        )

    return make


def _llm_planner(
    config: CampaignConfig, *, check: bool
) -> tuple[CampaignConfig, LLMPlanner | None]:
    """The LLM planner a campaign asks for, with its endpoint resolved and checked.

    A replay (`llm_replay_from`) gets a planner without a client: it reuses
    recorded replies and makes no network call. Otherwise the endpoint comes
    from the config or `OPENAI_BASE_URL`, the key from the environment (never
    stored), and `check` asks the endpoint before anything else happens.

    Returns:
        The config with the resolved base URL (what gets recorded) and the planner.

    Raises:
        ConfigError: No endpoint configured, no key for a remote one, or it does not answer.
    """
    if config.planner != "llm":
        return config, None
    template = load_prompt("propose_hypotheses")
    model = str(config.llm_model)
    if config.llm_replay_from:
        return config, LLMPlanner(None, model=model, template=template)
    from agent._llm_client import ChatClient, endpoint_from_env  # noqa: PLC0415 - imports openai

    base_url, api_key = endpoint_from_env(config.llm_base_url, config.llm_api_key_env)
    client = ChatClient(
        base_url=base_url,
        api_key=api_key,
        model=model,
        timeout_s=config.llm_timeout_s,
        max_attempts=config.llm_max_attempts,
        backoff_s=config.llm_backoff_s,
    )
    if check:
        try:
            client.check_endpoint()
        except ConfigError:
            client.close()
            raise
    resolved = config.model_copy(update={"llm_base_url": base_url})
    return resolved, LLMPlanner(client, model=model, template=template)


def _run(store: Store, db_url: str, loop: Loop, initial: dict[str, Any] | None) -> None:
    """Invoke the graph until it ends; record interruption and failure."""
    from langchain_core.runnables import RunnableConfig  # noqa: PLC0415 - comes with langgraph

    from agent._graph import build_graph  # noqa: PLC0415 - imports langgraph

    cfg = RunnableConfig(
        configurable={"thread_id": loop.campaign_id}, recursion_limit=_RECURSION_LIMIT
    )
    with open_checkpointer(db_url) as saver:
        graph = build_graph().compile(checkpointer=saver)
        if initial is None and not graph.get_state(cfg).values:
            initial = _initial_state(
                loop.campaign_id
            )  # killed before the first checkpoint
        store.set_campaign_status(loop.campaign_id, "running")
        try:
            graph.invoke(initial, cfg, context=loop, durability="sync")
        except KeyboardInterrupt:
            store.set_campaign_status(loop.campaign_id, "interrupted")
            raise
        except Exception:
            store.set_campaign_status(loop.campaign_id, "failed")
            raise
        state = graph.get_state(cfg).values
    _finish(store, loop, state.get("stop_reason", ""))


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
    ev = loop.judgement(last) or {}
    best = None
    leader = ev.get("leader")
    if leader:
        h = store.get_hypothesis(leader)
        fit = next(
            (f for f in store.fits_for(leader) if f.id == ev.get("leader_fit")), None
        )
        values = dict(fit.parameters_json) if fit else {}
        data: Dataset = loop.data(until=last)
        text, snapped = law_with_constants(
            h.expression,
            loop.variables,
            list(h.parameters_json),
            values,
            data=data,
            tolerance=loop.tolerance,
            noise_sd=data.noise_sd(),
            adequacy_chi2=float(fit.scores_json.get("bound", loop.config.adequacy_chi2))
            if fit
            else loop.config.adequacy_chi2,
        )
        best = {
            "hypothesis_id": h.id,
            "expression": text,
            "snapped": snapped,
            "law": h.expression,
            "parameters": values,
            "stderr": dict(fit.stderr_json) if fit else {},
            "score": h.score,
            "status": h.status,
            "scores": dict(fit.scores_json) if fit else {},
        }
    store.set_campaign_status(
        loop.campaign_id,
        "finished",
        result={"best": best, "stop_reason": stop_reason},
        finished=True,
    )


def start_campaign(config: CampaignConfig, db_url: str) -> dict[str, Any]:
    """Create a campaign and run it to the end.

    Args:
        config: The resolved configuration.
        db_url: SQLAlchemy URL of the provenance database.

    Returns:
        The campaign summary (see `campaign_summary`).

    Raises:
        ConfigError: Unknown backend, bad option, name already used.
        KeyboardInterrupt: Interrupted; the campaign is marked `interrupted` and can be resumed.
    """
    config, llm = _llm_planner(config, check=True)  # fail before anything is written
    backend = _make_backend(config)
    store = open_store(db_url)
    try:
        if config.llm_replay_from:
            config = config.model_copy(
                update={
                    "llm_replay_from": store.get_campaign(config.llm_replay_from).id
                }
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
        loop = Loop(
            store,
            backend,
            config,
            campaign_id,
            _regressor_factory(config, backend),
            llm,
        )
        _run(store, db_url, loop, _initial_state(campaign_id))
        return campaign_summary(store, campaign_id)
    finally:
        backend.close()
        store.close()
        if llm is not None:
            llm.close()


def resume_campaign(campaign: str, db_url: str) -> dict[str, Any]:
    """Continue a campaign from its last checkpoint.

    Args:
        campaign: Campaign id, unique id prefix, or name.
        db_url: SQLAlchemy URL of the provenance database.

    Returns:
        The campaign summary.

    Raises:
        CampaignStateError: The campaign has finished already.
    """
    store = open_store(db_url)
    try:
        c = store.get_campaign(campaign)
        if c.status == "finished":
            msg = f"Campaign `{c.id}` has finished; nothing to resume. See `campaign status {c.id[:8]}`."
            raise CampaignStateError(msg)
        config, llm = _llm_planner(CampaignConfig(**c.config_json), check=True)
        backend = _make_backend(config)
        try:
            loop = Loop(
                store, backend, config, c.id, _regressor_factory(config, backend), llm
            )
            _run(store, db_url, loop, None)
        finally:
            backend.close()
            if llm is not None:
                llm.close()
        return campaign_summary(store, c.id)
    finally:
        store.close()
