"""What a campaign ran on: code version, packages, device (recorded once per campaign)."""

from __future__ import annotations

import getpass
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["code_version", "environment"]

_PACKAGES = (
    "lawloop",
    "numpy",
    "scipy",
    "sympy",
    "torch",
    "pyoperon",
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "sqlalchemy",
    "alembic",
    "openai",
    "pydantic",
)
_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The git commit of the project, with `+dirty` when the tree has changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        try:
            return f"lawloop {metadata.version('lawloop')} (not a git checkout)"
        except metadata.PackageNotFoundError:
            return "unknown"
    return sha + ("+dirty" if dirty else "")


def _user() -> str | None:
    """The login running the campaign, for the record's agent (None where unknown)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry or login name (some containers)
        return None


def environment(device: str) -> dict[str, Any]:
    """Python, platform, host, user, package versions and the simulation device."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node() or None,
        "user": _user(),
        "device": device,
        "packages": versions,
    }
