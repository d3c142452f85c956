"""Process-level settings from the environment: read here and nowhere else."""

from __future__ import annotations

import os

__all__ = ["DEFAULT_DB", "resolve_db_url"]

DEFAULT_DB = "sqlite:///lawloop.db"


def resolve_db_url(flag: str | None) -> tuple[str, str]:
    """The database URL and where it came from: `--db`, `LAWLOOP_DB`, or the default."""
    if flag:
        return flag, "--db"
    env = os.environ.get("LAWLOOP_DB")
    if env:
        return env, "LAWLOOP_DB"
    return DEFAULT_DB, "default"
