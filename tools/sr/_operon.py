"""`OperonEngine`: symbolic regression with pyoperon's NSGA-II (the default engine)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._api import SRCandidate, SRResult, SRUnits
from ._data import Scaling, check_inputs, scale_data
from ._errors import EngineUnavailableError, SRError
from ._selection import pareto_filter, select_candidate

__all__ = ["DEFAULT_SYMBOLS", "OperonEngine"]

DEFAULT_SYMBOLS = "add,sub,mul,div,sqrt,exp,log,square,constant,variable"
"""Primitives searched by default.

Measured on 2 cores, 500 points (see the module notes): adding `sin,cos`
doubles the search space and lost `x*exp(-y/z)` within the same budget, so
trigonometric functions are opt-in (`allowed_symbols=DEFAULT_SYMBOLS + ",sin,cos"`).
"""

SUPPORTED_SYMBOLS = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "sqrt",
        "exp",
        "log",
        "sin",
        "cos",
        "tan",
        "abs",
        "square",
        "pow",
        "constant",
        "variable",
    }
)
"""pyoperon primitives whose printed form is plain sympy text (`square` and `pow`
print as `^`). Others (`logabs`, `aq`, `tanh` ...) would need a translator."""


class OperonEngine:
    """Multi-objective (accuracy, length) genetic programming with pyoperon.

    Runs `pyoperon.sklearn.SymbolicRegressor` with NSGA-II on the objectives
    `("r2", "length")` and Levenberg-Marquardt fitting of the constants. The
    evaluation budget (`generations`, `max_evaluations`) ends a search, so the
    same seed and data give the same front; `time_limit` is only a safety cap.
    Inputs and target are divided by powers of ten before the search and the
    formulas are mapped back, so candidates are in the caller's units.

    The defaults recover `2*pi*sqrt(L/g)` and `x*exp(-y/z)` from 500 clean
    points in about 6 s on 2 cores.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(1.0, 2.0, 100)
        >>> result = OperonEngine().search(x[:, None], 3 * x**2, variable_names=["x"], seed=0)  # doctest: +SKIP
        >>> result.best.expression  # 3*x**2, in the form the search found  # doctest: +SKIP
        '((-0.00000191) + (43.96933365 * (((-0.26120755) * x) ** 2)))'
    """

    name = "operon"

    def __init__(
        self,
        *,
        allowed_symbols: str = DEFAULT_SYMBOLS,
        max_length: int = 20,
        population_size: int = 500,
        generations: int = 200,
        max_evaluations: int = 1_000_000,
        optimizer_iterations: int = 10,
        n_threads: int = 2,
        objectives: Sequence[str] = ("r2", "length"),
        precision: int = 8,
    ) -> None:
        """Store and check the settings; nothing is imported until `search`.

        Args:
            allowed_symbols: Comma-separated pyoperon primitives, from
                `SUPPORTED_SYMBOLS`; must include `constant` and `variable`.
            max_length: Largest tree, in nodes.
            population_size: Individuals per generation.
            generations: Generation budget.
            max_evaluations: Evaluation budget (the normal stop).
            optimizer_iterations: Levenberg-Marquardt steps on the constants of
                each individual; 0 disables constant fitting, which ruins results.
            n_threads: Worker threads; the front does not depend on it.
            objectives: pyoperon objectives; two of them give a Pareto front.
            precision: Decimal places of the constants in the printed formulas.

        Raises:
            SRError: A setting is out of range or a symbol is not supported.
        """
        symbols = [s.strip() for s in allowed_symbols.split(",") if s.strip()]
        unknown = sorted(set(symbols) - SUPPORTED_SYMBOLS)
        if unknown or not {"constant", "variable"} <= set(symbols):
            msg = (
                f"`allowed_symbols` must come from {sorted(SUPPORTED_SYMBOLS)} and include "
                f"`constant` and `variable`; got {allowed_symbols!r} (unsupported: {unknown})."
            )
            raise SRError(msg)
        positive = {
            "max_length": max_length,
            "population_size": population_size,
            "generations": generations,
            "max_evaluations": max_evaluations,
            "n_threads": n_threads,
            "precision": precision,
        }
        for key, value in positive.items():
            if value < 1:
                msg = f"`{key}` must be a positive integer, got {value!r}."
                raise SRError(msg)
        if optimizer_iterations < 0:
            msg = f"`optimizer_iterations` must be >= 0, got {optimizer_iterations!r}."
            raise SRError(msg)
        self.allowed_symbols = ",".join(symbols)
        self.max_length = max_length
        self.population_size = population_size
        self.generations = generations
        self.max_evaluations = max_evaluations
        self.optimizer_iterations = optimizer_iterations
        self.n_threads = n_threads
        self.objectives = tuple(objectives)
        self.precision = precision

    def __repr__(self) -> str:
        """Show the settings, as provenance records them."""
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"OperonEngine({settings})"

    def _settings(self) -> dict[str, Any]:
        """Return the constructor settings as a plain dict."""
        return {
            "allowed_symbols": self.allowed_symbols,
            "max_length": self.max_length,
            "population_size": self.population_size,
            "generations": self.generations,
            "max_evaluations": self.max_evaluations,
            "optimizer_iterations": self.optimizer_iterations,
            "n_threads": self.n_threads,
            "objectives": list(self.objectives),
            "precision": self.precision,
        }

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
        """Search for formulas `y = f(X)`; see `SymbolicRegressor.search`.

        Args:
            X: Inputs, shape `(n_samples, n_variables)`.
            y: Target, shape `(n_samples,)`.
            variable_names: One identifier per column of `X`.
            seed: Random seed (pyoperon `random_state`).
            time_limit: Safety cap in seconds; pyoperon counts whole seconds, so
                it is rounded down (a cap is a limit), to at least one.
            max_evaluations: Overrides the engine's evaluation budget.
            units: Ignored (pyoperon has no dimensional constraints); noted in `params`.

        Returns:
            The Pareto front in original units, sorted by complexity, and the
            index chosen by `select_candidate`.

        Raises:
            EngineUnavailableError: pyoperon is not installed.
            SRError: The data or arguments are malformed.
        """
        X, y, names = check_inputs(X, y, variable_names)
        _check_runnable(time_limit)
        from pyoperon.sklearn import SymbolicRegressor  # heavy: import on use  # noqa: PLC0415 - loaded only when used (heavy or optional)

        params = self._run_params(seed, time_limit, max_evaluations, units)
        Xs, ys, scaling = scale_data(X, y)
        params["x_scales"] = list(scaling.x)
        params["y_scale"] = scaling.y

        start = time.perf_counter()
        reg = SymbolicRegressor(
            allowed_symbols=self.allowed_symbols,
            objectives=list(self.objectives),
            optimizer_iterations=self.optimizer_iterations,
            max_length=self.max_length,
            population_size=self.population_size,
            generations=self.generations,
            max_evaluations=params["max_evaluations"],
            n_threads=self.n_threads,
            random_state=params["random_state"],
            max_time=params["max_time"],
        )
        reg.fit(Xs, ys)
        seconds = time.perf_counter() - start
        params["generations_run"] = int(reg.stats_["generations"])

        front = pareto_filter(self._candidates(reg, names, scaling))
        selected = select_candidate(front, mse_floor=1e-10 * float(np.mean(y**2)))
        return SRResult(
            candidates=front,
            selected=selected,
            engine=self.name,
            engine_version=importlib.metadata.version("pyoperon"),
            params=params,
            seconds=seconds,
        )

    def _run_params(
        self,
        seed: int,
        time_limit: float | None,
        max_evaluations: int | None,
        units: SRUnits | None,
    ) -> dict[str, Any]:
        """The settings of one search, as provenance records them (scales and counts come later)."""
        params = self._settings()
        if max_evaluations is not None:
            params["max_evaluations"] = int(max_evaluations)
        params["random_state"] = int(seed)
        if units is not None:
            params["units"] = (
                "given but ignored: pyoperon has no dimensional constraints"
            )
        params["max_time"] = (
            None if time_limit is None else max(1, math.floor(time_limit))
        )
        return params

    def _candidates(
        self, reg: Any, names: Sequence[str], scaling: Scaling
    ) -> list[SRCandidate]:
        """The fitted regressor's Pareto front as candidates in the caller's units."""
        texts = scaling.variable_texts(names)
        candidates: list[SRCandidate] = []
        for member in reg.pareto_front_:
            with warnings.catch_warnings():
                # A constant-only member is legitimate on a front; pyoperon warns about it.
                warnings.filterwarnings("ignore", message="Model contains no variables")
                raw = reg.get_model_string(member["tree"], self.precision, names=texts)
            candidates.append(
                SRCandidate(
                    expression=scaling.unscale_expression(raw.replace("^", "**")),
                    complexity=int(member["length"]),
                    mse=float(member["mean_squared_error"]) * scaling.y**2,
                    engine=self.name,
                )
            )
        return candidates


def _check_runnable(time_limit: float | None) -> None:
    """Refuse a non-positive `time_limit`, and a search without pyoperon installed."""
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be positive seconds or None, got {time_limit!r}."
        raise SRError(msg)
    if importlib.util.find_spec("pyoperon") is None:
        msg = "The `operon` engine needs pyoperon: run `pip install 'pyoperon>=0.4'`."
        raise EngineUnavailableError(msg)
