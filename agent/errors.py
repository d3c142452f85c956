"""Errors raised by `agent`.

* AgentError
  + ConfigError             (a campaign setting is invalid; names the field)
  + CampaignStateError      (resume of a finished campaign, missing checkpoint, ...)
"""

from __future__ import annotations

__all__ = ["AgentError", "CampaignStateError", "ConfigError"]


class AgentError(Exception):
    """Root of every error raised by `agent`."""


class ConfigError(AgentError, ValueError):
    """A campaign setting is invalid; the message names the field and the fix."""


class CampaignStateError(AgentError):
    """The campaign cannot do what was asked in the state it is in."""
