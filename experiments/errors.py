"""Errors raised by `experiments`.

* ExperimentError
  + BackendNotFoundError        (unknown id; suggests the closest match)
  + BackendRegistrationError    (bad id, duplicate, entry point not a backend)
  + InvalidDesignError          (inputs outside the declared ranges)
  + BackendContractError        (raised by `check_backend`)
  + DependencyNotInstalledError (optional extra missing; message gives the pip command)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BackendContractError",
    "BackendNotFoundError",
    "BackendRegistrationError",
    "DependencyNotInstalledError",
    "ExperimentError",
    "InvalidDesignError",
]


class ExperimentError(Exception):
    """Root of every error raised by `experiments`."""


class BackendNotFoundError(ExperimentError, LookupError):
    """A backend id is neither registered nor an entry point nor `module:Class`."""


class BackendRegistrationError(ExperimentError):
    """A backend cannot be registered or loaded (bad id, duplicate, wrong type)."""


class InvalidDesignError(ExperimentError, ValueError):
    """Inputs given to a backend lie outside its declared variables' ranges."""


class BackendContractError(ExperimentError):
    """A backend violates the backend contract (raised by `check_backend`)."""


class DependencyNotInstalledError(ExperimentError, ImportError):
    """An optional dependency that a backend needs is not installed."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return `" Did you mean `x`?"` for the closest candidate, or `""`."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean `{matches[0]}`?" if matches else ""
