"""What a campaign runs with, built from its configuration: the backend, the SR engine, the LLM planner."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lawloop import experiments
from lawloop.agent.errors import ConfigError
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.planners._llm_planner import LLMPlanner
from lawloop.agent.planners._offline import is_angle
from lawloop.prompts import load as load_prompt

if TYPE_CHECKING:
    pass

__all__ = ["describe_backend", "llm_planner", "make_backend", "regressor_factory"]

log = logging.getLogger(__name__)


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


def make_backend(config: CampaignConfig) -> experiments.ExperimentBackend:
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


def regressor_factory(
    config: CampaignConfig, backend: experiments.ExperimentBackend
) -> Callable[[], Any]:
    """Build the SR engine when first needed, with sin/cos only where an input is an angle.

    Trigonometric primitives widen the search space a lot; offering them
    only when a dimensionless input spans an angle range keeps searches on
    other problems as sharp as without them.
    """
    angles = any(is_angle(v) for v in backend.inputs)

    def make() -> Any:
        from lawloop.tools.sr import DEFAULT_SYMBOLS, make_engine  # noqa: PLC0415 - loads pyoperon lazily

        if config.sr_engine != "operon":
            return make_engine(config.sr_engine)
        symbols = DEFAULT_SYMBOLS + (",sin,cos" if angles else "")
        return make_engine(
            "operon", allowed_symbols=symbols, n_threads=config.sr_threads
        )

    return make


def llm_planner(
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
        return config, LLMPlanner(
            None,
            model=model,
            template=template,
            max_reply_bytes=config.llm_max_reply_bytes,
        )
    from lawloop.agent.planners._llm_client import ChatClient, endpoint_from_env  # noqa: PLC0415 - imports openai

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
    return resolved, LLMPlanner(
        client,
        model=model,
        template=template,
        max_reply_bytes=config.llm_max_reply_bytes,
    )
