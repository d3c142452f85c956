"""Value objects and the `SymbolicRegressor` protocol shared by every engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["SRCandidate", "SRResult", "SRUnits", "SymbolicRegressor"]


@dataclass(frozen=True, slots=True)
class SRUnits:
    """Units of the columns of `X` and of `y`, for engines that use them.

    PySR turns them into a dimensional-constraint penalty; engines without
    such a feature ignore them and say so in `SRResult.params`.
    """

    inputs: tuple[str, ...]
    """One unit string per column of `X` (``"1"`` for dimensionless)."""
    target: str
    """Unit string of `y`."""


@dataclass(frozen=True, slots=True)
class SRCandidate:
    """One member of a symbolic-regression Pareto front, in the caller's units.

    Example:
        >>> SRCandidate("3.0*x**2", complexity=5, mse=1e-12, engine="operon")
        SRCandidate(expression='3.0*x**2', complexity=5, mse=1e-12, engine='operon')
    """

    expression: str
    """Infix text readable by `sympy`, over the given variable names only.

    Constants are plain decimal numbers, powers use `**`, and the only
    functions are `sqrt exp log sin cos tan abs`. It is text on purpose: the
    caller parses it with its own whitelisting parser.
    """
    complexity: int
    """Size of the expression as the engine counts it (nodes in the tree)."""
    mse: float
    """Mean squared error on the training data, in the units of `y`."""
    engine: str
    """Name of the engine that found it (`"operon"`, `"pysr"`, `"gplearn"`)."""


@dataclass(frozen=True, slots=True)
class SRResult:
    """The outcome of one search: the Pareto front and the selected member.

    Example:
        >>> c = SRCandidate("2.0*x", complexity=3, mse=0.0, engine="operon")
        >>> r = SRResult((c,), selected=0, engine="operon", engine_version="0.6.2",
        ...              params={}, seconds=1.0)
        >>> r.best.expression
        '2.0*x'
    """

    candidates: tuple[SRCandidate, ...]
    """The Pareto front, sorted by increasing complexity."""
    selected: int
    """Index into `candidates` chosen by `select_candidate`."""
    engine: str
    """Name of the engine that ran."""
    engine_version: str
    """Version of the engine's package, for provenance."""
    params: dict[str, Any] = field(default_factory=dict)
    """Resolved settings of the search, recorded verbatim in provenance."""
    seconds: float = 0.0
    """Wall-clock duration of the search."""

    @property
    def best(self) -> SRCandidate:
        """The selected candidate, `candidates[selected]`."""
        return self.candidates[self.selected]


@runtime_checkable
class SymbolicRegressor(Protocol):
    """The role every engine plays: search for formulas `y = f(X)`.

    Implementations are `OperonEngine`, `PySREngine` and `GplearnEngine`;
    `make_engine` builds one by name.

    Example:
        >>> from lawloop.tools.sr import make_engine
        >>> engine = make_engine("operon")
        >>> isinstance(engine, SymbolicRegressor)
        True
    """

    name: str
    """Engine name, recorded in every `SRCandidate`."""

    def search(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        variable_names: Sequence[str],
        seed: int,
        time_limit: float | None = None,
        max_evaluations: int | None = None,
        units: SRUnits | None = None,
    ) -> SRResult:
        """Search for formulas that map the columns of `X` to `y`.

        Args:
            X: Inputs, shape `(n_samples, n_variables)`.
            y: Target, shape `(n_samples,)`.
            variable_names: One name per column of `X`, used in the expressions.
            seed: Random seed; the same seed and data give the same front.
            time_limit: Safety cap in seconds; the evaluation budget is the
                normal stop, so the result stays deterministic.
            max_evaluations: Overrides the engine's evaluation budget.
            units: Units of the columns and the target, used where the
                engine supports dimensional constraints (PySR).

        Returns:
            The Pareto front and the index of the selected candidate.

        Raises:
            SRError: The input is malformed or the engine failed.
            EngineUnavailableError: The engine cannot run here.
        """
        ...
