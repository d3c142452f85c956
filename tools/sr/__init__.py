"""Symbolic regression engines behind one protocol.

`make_engine(name)` builds an engine; `engine.search(X, y, variable_names=...,
seed=...)` returns an `SRResult`: the Pareto front as `SRCandidate`s whose
`expression` is sympy-readable text in the caller's units, and the index
picked by `select_candidate`. Engines import their packages (pyoperon, pysr,
gplearn) only when they search, and this package imports nothing else from
the project, so it can be used on its own.

* `"operon"` (default): pyoperon NSGA-II, deterministic for a seed.
* `"pysr"`: PySR in a subprocess; needs Julia (`pysr_status()` says why not).
* `"gplearn"`: a weak baseline (`pip install 'lawloop[baselines]'`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from ._api import SRCandidate, SRResult, SRUnits, SymbolicRegressor
from ._errors import EngineUnavailableError, SRError
from ._gplearn import GplearnEngine
from ._operon import DEFAULT_SYMBOLS, OperonEngine
from ._pysr import PySREngine, pysr_status
from ._selection import MSE_TOLERANCE, pareto_filter, select_candidate

__all__ = [
    "DEFAULT_SYMBOLS",
    "ENGINES",
    "MSE_TOLERANCE",
    "EngineUnavailableError",
    "GplearnEngine",
    "OperonEngine",
    "PySREngine",
    "SRCandidate",
    "SRError",
    "SRResult",
    "SRUnits",
    "SymbolicRegressor",
    "make_engine",
    "pareto_filter",
    "pysr_status",
    "select_candidate",
]

ENGINES: dict[str, Callable[..., SymbolicRegressor]] = {
    "operon": OperonEngine,
    "pysr": PySREngine,
    "gplearn": GplearnEngine,
}
"""Engine constructors by name; `make_engine` looks names up here."""


def make_engine(name: str = "operon", **kwargs: Any) -> SymbolicRegressor:
    """Build a symbolic-regression engine by name.

    Args:
        name: `"operon"` (default), `"pysr"` or `"gplearn"`.
        **kwargs: Settings passed to the engine's constructor.

    Returns:
        An engine; nothing heavy is imported until its `search` runs.

    Raises:
        SRError: `name` is unknown (with a "did you mean") or a setting is bad.
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        close = difflib.get_close_matches(name, ENGINES, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        msg = f"Unknown SR engine `{name}`.{hint} Choose one of {sorted(ENGINES)}."
        raise SRError(msg) from None
    return factory(**kwargs)
