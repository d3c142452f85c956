"""The agent: the LangGraph loop, its planners, experiment design and judging.

`agent` is the only package that knows the others: it drives `experiments`
backends, uses `tools` to parse, fit and search, and records everything
through `storage`.

Example:
    >>> from agent import CampaignConfig, start_campaign
    >>> summary = start_campaign(CampaignConfig(backend="core/Pendulum-v0", seed=1), "sqlite:///lawloop.db")
    >>> summary["best"]["expression"]  # amplitudes to 0.2 rad: the corrected period
    '2*pi*sqrt(L)*(0.0626514*theta0**2 + 1)/sqrt(g)'
"""

from __future__ import annotations

from agent._attack import scale_words
from agent._bench import bench_feynman, judge_recovery, law_with_intervals, problem_ids
from agent._checkpoints import CHECKPOINT_SCHEMA, checkpoint_path, open_checkpointer
from agent._config import CampaignConfig, load_config
from agent._control import stop_campaign
from agent._dashboard import create_dashboard, make_dashboard_server
from agent._hypotheses import (
    HYPOTHESIS_SORT_KEYS,
    HYPOTHESIS_STATUSES,
    CampaignRow,
    HypothesisRow,
    campaign_rows,
    query_hypotheses,
)
from agent._hypothesis_detail import (
    format_uncertain,
    hypothesis_detail,
    hypothesis_text,
)
from agent._replay import replay
from agent._replay_compare import ReplayMismatch, ReplayReport
from agent._report import render_report
from agent._runner import (
    describe_backend,
    resume_campaign,
    start_campaign,
)
from agent._settings import DEFAULT_DB, resolve_db_url
from agent._summary import (
    OUTCOMES,
    campaign_outcome,
    campaign_summary,
    hypothesis_view,
    law_with_constants,
)
from agent._why import explain as explain_hypothesis
from agent._why import to_dot as why_dot
from agent._why import to_text as why_text
from agent.errors import (
    AgentError,
    CampaignInterrupted,
    CampaignStateError,
    ConfigError,
    LeaseHeldError,
    QueryError,
)

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
