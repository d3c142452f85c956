"""Process-level settings from the environment: read here and nowhere else."""

from __future__ import annotations

import os

from lawloop.agent.errors import ConfigError

__all__ = ["DEFAULT_DB", "DEFAULT_HEARTBEAT_S", "heartbeat_interval", "resolve_db_url"]

DEFAULT_DB = "sqlite:///lawloop.db"

DEFAULT_HEARTBEAT_S = 2.0
"""Seconds between a running campaign's heartbeats (its lease lasts ten of them)."""


def resolve_db_url(flag: str | None) -> tuple[str, str]:
    """The database URL and where it came from: `--db`, `LAWLOOP_DB`, or the default."""
    if flag:
        return flag, "--db"
    env = os.environ.get("LAWLOOP_DB")
    if env:
        return env, "LAWLOOP_DB"
    return DEFAULT_DB, "default"


def heartbeat_interval() -> tuple[float, str]:
    """Seconds between heartbeats and where that came from: `LAWLOOP_HEARTBEAT_S` or the default.

    Raises:
        ConfigError: `LAWLOOP_HEARTBEAT_S` is not a positive number.
    """
    env = os.environ.get("LAWLOOP_HEARTBEAT_S")
    if not env:
        return DEFAULT_HEARTBEAT_S, "default"
    try:
        value = float(env)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        msg = f"`LAWLOOP_HEARTBEAT_S` must be a positive number of seconds; received `{env}`."
        raise ConfigError(msg)
    return value, "LAWLOOP_HEARTBEAT_S"
