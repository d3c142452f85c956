"""The agent: the LangGraph loop, its planners, experiment design and judging.

`agent` is the only package that knows the others: it drives `experiments`
backends, uses `tools` to parse, fit and search, and records everything
through `storage`.

Example:
    >>> from lawloop.agent import CampaignConfig, start_campaign
    >>> summary = start_campaign(CampaignConfig(backend="core/Pendulum-v0", seed=1), "sqlite:///lawloop.db")  # doctest: +SKIP
    >>> summary["best"]["expression"]  # amplitudes to 0.2 rad: the corrected period  # doctest: +SKIP
    '2*pi*sqrt(L)*(0.0626514*theta0**2 + 1)/sqrt(g)'
"""

from __future__ import annotations

from lawloop.agent._settings import DEFAULT_DB, resolve_db_url
from lawloop.agent.audit._bench import bench_feynman, problem_ids
from lawloop.agent.audit._recovery import judge_recovery, law_with_intervals
from lawloop.agent.audit._replay import replay
from lawloop.agent.audit._replay_report import ReplayMismatch, ReplayReport
from lawloop.agent.errors import (
    AgentError,
    CampaignInterrupted,
    CampaignStateError,
    ConfigError,
    LeaseHeldError,
    QueryError,
)
from lawloop.agent.loop._checkpoints import (
    CHECKPOINT_SCHEMA,
    checkpoint_path,
    open_checkpointer,
)
from lawloop.agent.loop._config import CampaignConfig, load_config
from lawloop.agent.loop._control import stop_campaign
from lawloop.agent.loop._runner import (
    describe_backend,
    resume_campaign,
    start_campaign,
)
from lawloop.agent.science._attack import scale_words
from lawloop.agent.views._dashboard import create_dashboard, make_dashboard_server
from lawloop.agent.views._hypotheses import (
    HYPOTHESIS_SORT_KEYS,
    HYPOTHESIS_STATUSES,
    CampaignRow,
    HypothesisQuery,
    HypothesisRow,
    campaign_rows,
    query_hypotheses,
)
from lawloop.agent.views._hypothesis_detail import (
    format_uncertain,
    hypothesis_detail,
    hypothesis_text,
)
from lawloop.agent.views._report import render_report
from lawloop.agent.views._summary import (
    OUTCOMES,
    campaign_outcome,
    campaign_summary,
    hypothesis_view,
    law_with_constants,
)
from lawloop.agent.views._why import explain as explain_hypothesis
from lawloop.agent.views._why import to_dot as why_dot
from lawloop.agent.views._why import to_text as why_text

__all__ = [
    "CHECKPOINT_SCHEMA",
    "DEFAULT_DB",
    "HYPOTHESIS_SORT_KEYS",
    "HYPOTHESIS_STATUSES",
    "OUTCOMES",
    "AgentError",
    "CampaignConfig",
    "CampaignInterrupted",
    "CampaignRow",
    "CampaignStateError",
    "ConfigError",
    "HypothesisQuery",
    "HypothesisRow",
    "LeaseHeldError",
    "QueryError",
    "ReplayMismatch",
    "ReplayReport",
    "bench_feynman",
    "campaign_outcome",
    "campaign_rows",
    "campaign_summary",
    "checkpoint_path",
    "create_dashboard",
    "describe_backend",
    "explain_hypothesis",
    "format_uncertain",
    "hypothesis_detail",
    "hypothesis_text",
    "hypothesis_view",
    "judge_recovery",
    "law_with_constants",
    "law_with_intervals",
    "load_config",
    "make_dashboard_server",
    "open_checkpointer",
    "problem_ids",
    "query_hypotheses",
    "render_report",
    "replay",
    "resolve_db_url",
    "resume_campaign",
    "scale_words",
    "start_campaign",
    "stop_campaign",
    "why_dot",
    "why_text",
]
