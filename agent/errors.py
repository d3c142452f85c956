"""Errors raised by `agent`.

* AgentError
  + ConfigError             (a campaign setting is invalid; names the field)
  + CampaignStateError      (resume of a finished campaign, missing checkpoint, ...)
    + LeaseHeldError        (another live process runs the campaign; names its host and pid)
  + QueryError              (a filter or sort of the hypothesis log is invalid; names the option)

* KeyboardInterrupt
  + CampaignInterrupted     (a signal or `campaign stop` stopped a campaign between two steps)
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "CampaignInterrupted",
    "CampaignStateError",
    "ConfigError",
    "LeaseHeldError",
    "QueryError",
]


class AgentError(Exception):
    """Root of every error raised by `agent`."""


class ConfigError(AgentError, ValueError):
    """A campaign setting is invalid; the message names the field and the fix."""


class CampaignStateError(AgentError):
    """The campaign cannot do what was asked in the state it is in."""


class QueryError(AgentError, ValueError):
    """A filter or sort of the hypothesis log is invalid.

    `option` is the parameter at fault (`status`, `min_score`, ...), so that
    the CLI can name its own flag (`--status`) and the Python API its keyword.
    """

    def __init__(self, problem: str, *, option: str) -> None:
        """Record what was wrong with the value and the option at fault.

        Args:
            problem: What was wrong, what was received and what is allowed.
            option: The parameter name, e.g. `status`.
        """
        super().__init__(problem)
        self.option = option
        self.problem = problem

    def __str__(self) -> str:
        """The problem, prefixed with the option's name."""
        return f"`{self.option}`: {self.problem}"


class LeaseHeldError(CampaignStateError):
    """Another live process holds the campaign's lease; the message names its host and pid."""


class CampaignInterrupted(KeyboardInterrupt):
    """A campaign was stopped between two steps: a signal, `campaign stop`, or a lost lease.

    A `KeyboardInterrupt`, so that whatever already cleans up after Ctrl-C
    treats it alike: the runner marks the campaign `interrupted`, the CLI
    exits with 130, and LangGraph, which records an `Exception` raised in a
    node as that node's failure, lets it through untouched.

    Example:
        >>> try:  # doctest: +SKIP
        ...     start_campaign(config, url, handle_signals=True)
        ... except CampaignInterrupted as stop:
        ...     print(stop.reason)
        SIGTERM received
    """

    def __init__(
        self, campaign_id: str, reason: str, *, lease_lost: bool = False
    ) -> None:
        """Record which campaign stopped and why.

        Args:
            campaign_id: The campaign.
            reason: What stopped it, in words (`SIGTERM received`, ...).
            lease_lost: Another process took the campaign over; its status is theirs.
        """
        super().__init__(f"campaign `{campaign_id}` interrupted: {reason}")
        self.campaign_id = campaign_id
        self.reason = reason
        self.lease_lost = lease_lost
