"""Errors raised by `tools.sr`.

* SRError                      (root: a search could not run or its input was bad)
  + EngineUnavailableError     (the engine's package or runtime is missing; the
                                message says what to install)
"""

from __future__ import annotations

__all__ = ["EngineUnavailableError", "SRError"]


class SRError(Exception):
    """Base class of every error raised by `tools.sr`."""


class EngineUnavailableError(SRError):
    """The requested engine cannot run here; the message names what to install."""
