"""What a planner or a search hands to `formalize`: untrusted text plus its story."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Proposal", "Source"]


class Source(StrEnum):
    """Where a hypothesis came from."""

    POWER_LAW = "power-law"
    TEMPLATE = "template"
    MUTATION = "mutation"
    SR = "sr"
    LLM = "llm"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed law, not yet parsed: `expression` is untrusted text."""

    expression: str
    """The law for the target, in the backend's variable names and `parameters`."""
    parameters: tuple[str, ...]
    """Names of free constants to fit."""
    source: Source
    """Which rule or tool proposed it."""
    rationale: str
    """Why, in a sentence; shown in the hypothesis log."""
    initial: dict[str, float] = field(default_factory=dict)
    """Starting values for the fit, where the proposer has them."""
    parent_id: str | None = None
    """The hypothesis this one mutates, if any."""
