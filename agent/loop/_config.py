"""The campaign configuration: one pydantic model, frozen into the campaign row."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lawloop.agent.errors import ConfigError
from lawloop.agent.planners._llm_schema import MAX_REPLY_BYTES

__all__ = ["CampaignConfig", "load_config"]


class CampaignConfig(BaseModel):
    """Everything that decides what a campaign does.

    The resolved values are stored verbatim in `campaign.config_json`, so a
    campaign can be re-run from its provenance row alone.

    Example:
        >>> cfg = CampaignConfig(backend="core/Pendulum-v0", seed=1)
        >>> cfg.max_iterations
        8
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(
        description="Backend id `namespace/Name-vN` or `module:Class`."
    )
    backend_options: dict[str, str] = Field(
        default_factory=dict, description="Backend options (`--option KEY=VALUE`)."
    )
    noise: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "Noise level added to the measurements: for `gaussian` the standard "
            "deviation in units of the RMS of the clean observable, for "
            "`heteroscedastic` relative to each value."
        ),
    )
    noise_model: Literal["gaussian", "heteroscedastic", "poisson"] = Field(
        default="gaussian",
        description="Distribution of the added noise (`poisson`: counts drawn from the value).",
    )
    noise_offset: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="Systematic shift of every measurement, in units of the observable's RMS.",
    )
    device: str | None = Field(
        default=None,
        description="Torch device for simulations; None picks CUDA when present.",
    )
    planner: Literal["offline", "llm"] = Field(
        default="offline",
        description="Who proposes hypotheses: `offline` rules alone, or an LLM whose proposals join them.",
    )
    llm_model: str | None = Field(
        default=None, description="Model name for the LLM planner (`--model`)."
    )
    llm_base_url: str | None = Field(
        default=None,
        description=(
            "OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8000/v1`; None reads `OPENAI_BASE_URL` "
            "(the resolved URL is what gets recorded)."
        ),
    )
    llm_api_key_env: str = Field(
        default="OPENAI_API_KEY",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Name of the environment variable holding the API key; the key itself is never stored.",
    )
    llm_timeout_s: float = Field(
        default=120.0, gt=0, description="Timeout of one LLM request, seconds."
    )
    llm_max_attempts: int = Field(
        default=4,
        ge=1,
        description="Attempts per LLM call (timeouts, 429, 5xx retried).",
    )
    llm_backoff_s: float = Field(
        default=1.0,
        ge=0,
        description="First wait before retrying an LLM call; doubles per attempt (Retry-After wins).",
    )
    llm_max_calls: int = Field(
        default=40, ge=0, description="LLM calls per campaign (repairs count)."
    )
    llm_max_tokens: int = Field(
        default=400_000, ge=0, description="LLM tokens per campaign (prompt + reply)."
    )
    llm_max_proposals: int = Field(
        default=6, ge=1, le=12, description="Laws asked of the LLM per turn."
    )
    llm_max_reply_bytes: int = Field(
        default=MAX_REPLY_BYTES,
        ge=1024,
        description=(
            "Longest LLM reply read, in bytes (UTF-8); a longer one is refused unread, "
            "recorded cut to this size with its full size, and repaired once."
        ),
    )
    llm_replay_from: str | None = Field(
        default=None,
        description="Campaign id whose recorded LLM replies are reused instead of calling a model (no network).",
    )
    seed: int = Field(
        default=0,
        ge=0,
        description="Campaign seed; every random stream derives from it.",
    )
    name: str | None = Field(
        default=None, description="Campaign name; unique in the database."
    )
    max_iterations: int = Field(
        default=8, ge=1, description="Stop after this many iterations."
    )
    max_measurements: int = Field(
        default=5000,
        ge=1,
        description="Stop before exceeding this many measured points.",
    )
    time_limit: float | None = Field(
        default=None,
        gt=0,
        description="Stop after this many seconds of campaign work (wall clock).",
    )
    initial_points: int = Field(
        default=96, ge=8, description="Space-filling points of the first design."
    )
    batch_points: int = Field(default=64, ge=4, description="Points per later design.")
    design: Literal["active", "random"] = Field(
        default="active",
        description=(
            "`active`: a space-filling start, then disagreement, repeats and probes; "
            "`random`: every design drawn at random over the declared ranges (the "
            "baseline of the design benchmark)."
        ),
    )
    initial_span: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description=(
            "Fraction of each input range (centred, in its sampling scale) the first "
            "design covers; later designs probe beyond it to stress the leading law."
        ),
    )
    probe_fraction: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Share of a later design spent beyond the range measured so far.",
    )
    replicates: int = Field(
        default=12,
        ge=0,
        description="Points of each design measured twice, to estimate the noise.",
    )
    chunk_points: int = Field(
        default=65_536,
        ge=1,
        description=(
            "Most points the executor gives the backend in one call (memory); larger "
            "designs run as several chunks, each with its own seed and record."
        ),
    )
    run_timeout_s: float | None = Field(
        default=600.0,
        gt=0,
        description=(
            "Wall-clock limit per chunk of measurements; a backend past it is recorded "
            "as timed out and the campaign goes on (None: no limit)."
        ),
    )
    tolerance: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Relative precision to which a law must hold when the data show no noise. "
            "Default: the backend's declared `precision`, else 1e-3 (the precision "
            "the equivalence rule rounds constants to)."
        ),
    )
    claim_precision: float = Field(
        default=1e-3,
        gt=0,
        lt=1,
        description=(
            "Relative precision an accepted law is shown to hold to: before accepting, "
            "the loop attacks the leading law until a smooth correction larger than "
            "this would have been seen (95 %); a budget that ends first ends "
            "'consistent', with the precision reached."
        ),
    )
    bootstrap: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description=(
            "Case-resampling bootstrap refits per fit, for 95% percentile intervals "
            "of the constants next to the covariance errors (0: off; 200 is typical)."
        ),
    )
    adequacy_chi2: float = Field(
        default=2.0,
        gt=1.0,
        description=(
            "A law is adequate when its reduced chi-square is at most this, where the "
            "relative precision dominates the uncertainty (where measured noise does, "
            "the lack-of-fit F test's 99% point decides)."
        ),
    )
    noisy_batch_growth: float = Field(
        default=2.0,
        ge=1.0,
        le=4.0,
        description=(
            "When the data show noise, each later design is this many times the last "
            "(from `batch_points`, up to 4 x `batch_points` and a quarter of the budget "
            "left) and every point is measured twice: measurements are what beats "
            "noise (1: off)."
        ),
    )
    confirmations: int = Field(
        default=1,
        ge=1,
        description="Fresh batches the leading law must predict before it is accepted.",
    )
    max_fit_hypotheses: int = Field(
        default=40, ge=1, description="Open hypotheses fitted per iteration."
    )
    sr_engine: str = Field(
        default="operon", description="Symbolic-regression engine (`operon`, `pysr`)."
    )
    sr_time_limit: float = Field(
        default=30.0, gt=0, description="Safety cap on one SR search, seconds."
    )
    sr_max_evaluations: int = Field(
        default=300_000,
        ge=1000,
        description="Evaluation budget of one SR search (the normal stop).",
    )
    sr_threads: int = Field(
        default=1,
        ge=1,
        description=(
            "Threads of the pyoperon search. More is faster, but its parallel search stops "
            "its evaluation budget at timing-dependent points, so runs with one seed can differ."
        ),
    )
    sr_max_points: int = Field(
        default=600, ge=20, description="At most this many points go to SR."
    )

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> CampaignConfig:
        if self.planner == "llm" and not self.llm_model:
            msg = "`planner = llm` needs a model name: pass `--model NAME` (or set `llm_model`)."
            raise ValueError(msg)
        return self

    @property
    def campaign_name(self) -> str:
        """The name to store: the given one or one built from backend and seed."""
        return self.name or f"{self.backend.replace('/', '-')}-s{self.seed}"


def load_config(path: Path | None, overrides: dict[str, Any]) -> CampaignConfig:
    """Build a config from a TOML file and CLI overrides (CLI wins).

    Args:
        path: A TOML file with the fields of `CampaignConfig` at top level, or None.
        overrides: Values given on the command line; None values are ignored.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file cannot be read or a value is invalid.
    """
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"Cannot read campaign config `{path}`: {exc}."
            raise ConfigError(msg) from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return CampaignConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}" for e in exc.errors()
        )
        msg = f"Invalid campaign config: {problems}."
        raise ConfigError(msg) from exc
