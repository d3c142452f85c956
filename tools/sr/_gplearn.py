"""`GplearnEngine`: a baseline engine on gplearn (pip extra `baselines`).

gplearn returns one program, not a front, and its constants are random
ephemeral numbers rather than fitted ones (PLATFORM_NOTES section 3): use it
to compare against, not to discover with.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._api import SRCandidate, SRResult, SRUnits
from ._data import check_inputs, scale_data
from ._errors import EngineUnavailableError, SRError

_IGNORED_UNITS = "given but ignored: the engine has no dimensional constraints"

__all__ = ["GplearnEngine"]

_INFIX = {"add": "+", "sub": "-", "mul": "*"}
_PREFIX = {
    # gplearn's protected operators, written so sympy gives real values:
    # its sqrt and log act on |x|; its div and log guard tiny arguments, a
    # difference that only matters near the singularity.
    "div": "({0}/{1})",
    "sqrt": "sqrt(abs({0}))",
    "log": "log(abs({0}))",
    "neg": "(-{0})",
    "inv": "(1/{0})",
    "abs": "abs({0})",
    "sin": "sin({0})",
    "cos": "cos({0})",
    "tan": "tan({0})",
}
SUPPORTED_FUNCTIONS = frozenset(_INFIX) | frozenset(_PREFIX)
"""gplearn functions this engine can print as `SRCandidate` text."""


class GplearnEngine:
    """Genetic programming with gplearn, as a baseline.

    Example:
        >>> engine = GplearnEngine(generations=10)
        >>> engine.name
        'gplearn'
    """

    name = "gplearn"

    def __init__(
        self,
        *,
        function_set: Sequence[str] = (
            "add",
            "sub",
            "mul",
            "div",
            "sqrt",
            "log",
            "neg",
        ),
        population_size: int = 1000,
        generations: int = 20,
        parsimony_coefficient: float = 0.001,
        n_jobs: int = 1,
    ) -> None:
        """Store and check the settings; gplearn is imported in `search`.

        Args:
            function_set: gplearn functions, from `SUPPORTED_FUNCTIONS`.
            population_size: Programs per generation.
            generations: Generation budget (the stop).
            parsimony_coefficient: Penalty per node.
            n_jobs: Worker processes.

        Raises:
            SRError: A function is not supported or a size is not positive.
        """
        unknown = sorted(set(function_set) - SUPPORTED_FUNCTIONS)
        if unknown or population_size < 1 or generations < 1:
            msg = (
                f"`function_set` must come from {sorted(SUPPORTED_FUNCTIONS)} (unsupported: "
                f"{unknown}) and sizes must be positive; got {population_size}, {generations}."
            )
            raise SRError(msg)
        self.function_set = tuple(function_set)
        self.population_size = population_size
        self.generations = generations
        self.parsimony_coefficient = parsimony_coefficient
        self.n_jobs = n_jobs

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
        """Fit one gplearn program; see `SymbolicRegressor.search`.

        Args:
            X: Inputs, shape `(n_samples, n_variables)`.
            y: Target, shape `(n_samples,)`.
            variable_names: One identifier per column of `X`.
            seed: Random seed (gplearn `random_state`).
            time_limit: Ignored: gplearn has no time cap; its budget is
                `generations`.
            max_evaluations: If given, caps `generations` at
                `max_evaluations // population_size`.
            units: Ignored (gplearn has no dimensional constraints); noted in `params`.

        Returns:
            A one-member front and `selected=0`.

        Raises:
            EngineUnavailableError: gplearn is not installed.
            SRError: The data are malformed.
        """
        X, y, names = check_inputs(X, y, variable_names)
        if importlib.util.find_spec("gplearn") is None:
            msg = "The `gplearn` engine needs gplearn: run `pip install 'lawloop[baselines]'`."
            raise EngineUnavailableError(msg)
        from gplearn.genetic import SymbolicRegressor  # heavy: import on use  # noqa: PLC0415 - loaded only when used (heavy or optional)

        generations = self.generations
        if max_evaluations is not None:
            generations = max(
                1, min(generations, max_evaluations // self.population_size)
            )
        Xs, ys, scaling = scale_data(X, y)
        params: dict[str, Any] = {
            "function_set": list(self.function_set),
            "population_size": self.population_size,
            "generations": generations,
            "parsimony_coefficient": self.parsimony_coefficient,
            "n_jobs": self.n_jobs,
            "random_state": int(seed),
            "x_scales": list(scaling.x),
            "y_scale": scaling.y,
            "units": _IGNORED_UNITS if units is not None else None,
        }
        start = time.perf_counter()
        est = SymbolicRegressor(
            population_size=self.population_size,
            generations=generations,
            function_set=self.function_set,
            parsimony_coefficient=self.parsimony_coefficient,
            n_jobs=self.n_jobs,
            random_state=int(seed),
        )
        with np.errstate(all="ignore"):  # protected operators overflow by design
            est.fit(Xs, ys)
            mse = float(np.mean((est.predict(Xs) - ys) ** 2)) * scaling.y**2
        seconds = time.perf_counter() - start
        text = program_text(est._program.program, scaling.variable_texts(names))
        candidate = SRCandidate(
            scaling.unscale_expression(text), int(est._program.length_), mse, self.name
        )
        return SRResult(
            (candidate,),
            0,
            self.name,
            importlib.metadata.version("gplearn"),
            params,
            seconds,
        )


def program_text(program: Sequence[Any], variables: Sequence[str]) -> str:
    """Convert a gplearn prefix program to `SRCandidate` infix text.

    Args:
        program: `est._program.program`: functions (with `.name` and `.arity`),
            column indices (int) and constants (float), in prefix order.
        variables: Text for each column index.

    Returns:
        Infix text with gplearn's protected operators made explicit.

    Raises:
        SRError: The program uses a function outside `SUPPORTED_FUNCTIONS`.
    """
    position = 0

    def walk() -> str:
        nonlocal position
        node = program[position]
        position += 1
        if isinstance(node, (int, np.integer)):
            return variables[int(node)]
        if isinstance(node, (float, np.floating)):
            return f"({float(node)!r})"
        args = [walk() for _ in range(node.arity)]
        if node.name in _INFIX:
            return f"({args[0]} {_INFIX[node.name]} {args[1]})"
        if node.name in _PREFIX:
            return _PREFIX[node.name].format(*args)
        msg = f"gplearn function `{node.name}` has no `SRCandidate` form; drop it from `function_set`."
        raise SRError(msg)

    return walk()
