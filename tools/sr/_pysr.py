"""`PySREngine` and `pysr_status`: PySR behind a check that never hangs.

`import pysr` starts Julia (juliacall) at import time: without Julia it tries to
download one, and its network call and file lock have no timeout
(PLATFORM_NOTES section 2). So this module never imports pysr in-process:
`pysr_status` probes in a child process and the search itself runs in a
`spawn` subprocess.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._api import SRCandidate, SRResult, SRUnits
from ._data import check_inputs
from ._errors import EngineUnavailableError, SRError
from ._selection import pareto_filter, select_candidate

__all__ = ["PySREngine", "pysr_status"]

INSTALL_HINT = (
    "PySR needs Julia: install Julia >= 1.10 (https://julialang.org/install) and "
    "`pip install 'lawloop[pysr]'`, then run `python -c \"import pysr\"` once with "
    "network access so it can install SymbolicRegression.jl."
)

_OFFLINE_ENV = {"PYTHON_JULIAPKG_OFFLINE": "yes"}
"""Makes juliapkg fail at once instead of downloading Julia or packages."""


def pysr_status(timeout: float = 60.0) -> tuple[bool, str]:
    """Report whether PySR can run here, without importing it in this process.

    Checks, cheapest first: pysr is installed (`find_spec`), a Julia executable
    is reachable (`PYTHON_JULIAPKG_EXE`, `PYTHON_JULIACALL_EXE`, `julia` or
    `juliaup` on `PATH`), and `import pysr` succeeds in a child process with
    `PYTHON_JULIAPKG_OFFLINE=yes`. Returns at once when pysr or Julia is missing.

    Args:
        timeout: Seconds the child `import pysr` may take (Julia's first start
            compiles for a while).

    Returns:
        `(True, "ok")`, or `(False, reason)` with the reason in words.
    """
    if importlib.util.find_spec("pysr") is None:
        return False, "pysr is not installed (`pip install 'lawloop[pysr]'`)"
    exe = (
        os.environ.get("PYTHON_JULIAPKG_EXE")
        or os.environ.get("PYTHON_JULIACALL_EXE")
        or shutil.which("julia")
        or shutil.which("juliaup")
    )
    if not exe:
        return False, (
            "no Julia executable: `julia` and `juliaup` are not on PATH and "
            "`PYTHON_JULIAPKG_EXE` is unset"
        )
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import pysr"],
            env={**os.environ, **_OFFLINE_ENV},
            timeout=timeout,
            capture_output=True,
            text=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"`import pysr` did not finish within {timeout} s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"`import pysr` failed: {last}"
    return True, "ok"


class PySREngine:
    """Symbolic regression with PySR (SymbolicRegression.jl), run in a subprocess.

    The search is deterministic for a seed: `deterministic=True`,
    `parallelism="serial"`, `random_state=seed`. It runs in a `spawn` child so
    Julia's start-up and any hang stay out of the calling process; the child
    is killed after `time_limit` plus a start-up allowance.

    Example:
        >>> engine = PySREngine(niterations=40)
        >>> engine.name
        'pysr'
    """

    name = "pysr"

    def __init__(
        self,
        *,
        binary_operators: Sequence[str] = ("+", "-", "*", "/"),
        unary_operators: Sequence[str] = ("sqrt", "exp", "log", "square"),
        maxsize: int = 20,
        niterations: int = 40,
        populations: int = 15,
        max_evaluations: int | None = None,
        startup_allowance: float = 300.0,
        dimensional_penalty: float = 1000.0,
    ) -> None:
        """Store the settings; nothing is imported until `search`.

        Args:
            binary_operators: PySR binary operators.
            unary_operators: PySR unary operators; their sympy forms must be
                among `sqrt exp log sin cos tan abs` or powers.
            maxsize: Largest expression complexity.
            niterations: Iterations of the search (the normal stop).
            populations: Number of populations.
            max_evaluations: Evaluation budget (PySR `max_evals`), or None.
            startup_allowance: Seconds added to `time_limit` for Julia to start
                and compile before the child is abandoned.
            dimensional_penalty: PySR's `dimensional_constraint_penalty`, used
                when `search` gets units.

        Raises:
            SRError: A setting is out of range.
        """
        if maxsize < 7 or niterations < 1 or populations < 1:
            msg = (
                f"PySR needs `maxsize` >= 7 and positive `niterations`, `populations`; "
                f"got {maxsize}, {niterations}, {populations}."
            )
            raise SRError(msg)
        self.binary_operators = tuple(binary_operators)
        self.unary_operators = tuple(unary_operators)
        self.maxsize = maxsize
        self.niterations = niterations
        self.populations = populations
        self.max_evaluations = max_evaluations
        self.startup_allowance = startup_allowance
        self.dimensional_penalty = dimensional_penalty

    def __repr__(self) -> str:
        """Show the settings."""
        return (
            f"PySREngine(binary_operators={self.binary_operators!r}, "
            f"unary_operators={self.unary_operators!r}, maxsize={self.maxsize!r}, "
            f"niterations={self.niterations!r}, populations={self.populations!r})"
        )

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
            seed: Random seed (PySR `random_state`).
            time_limit: Safety cap in seconds (PySR `timeout_in_seconds`).
            max_evaluations: Overrides the engine's evaluation budget.
            units: Units of the columns and target: PySR `X_units`/`y_units`
                with a dimensional-constraint penalty.

        Returns:
            The Pareto front (PySR's hall of fame), sorted by complexity, and
            the index chosen by `select_candidate`.

        Raises:
            EngineUnavailableError: pysr or Julia is missing; says what to install.
            SRError: The data are malformed or the child process failed.
        """
        X, y, names = check_inputs(X, y, variable_names)
        usable, reason = pysr_status()
        if not usable:
            msg = f"The `pysr` engine cannot run here ({reason}). {INSTALL_HINT}"
            raise EngineUnavailableError(msg)
        params: dict[str, Any] = {
            "binary_operators": list(self.binary_operators),
            "unary_operators": list(self.unary_operators),
            "maxsize": self.maxsize,
            "niterations": self.niterations,
            "populations": self.populations,
            "max_evals": max_evaluations
            if max_evaluations is not None
            else self.max_evaluations,
            "timeout_in_seconds": time_limit,
            "deterministic": True,
            "parallelism": "serial",
            "random_state": int(seed),
            "progress": False,
            "verbosity": 0,
        }
        fit_units = fit_unit_arguments(len(names), units)
        if fit_units:
            # PySR penalizes dimensionally inconsistent candidates; constants
            # may carry units, so laws with dimensional constants stay legal.
            params["dimensional_constraint_penalty"] = self.dimensional_penalty
        wait = None if time_limit is None else time_limit + self.startup_allowance
        start = time.perf_counter()
        rows, version = _in_spawned_child(X, y, names, params, fit_units, wait)
        seconds = time.perf_counter() - start
        candidates = [
            SRCandidate(text, complexity, mse, self.name)
            for text, complexity, mse in rows
        ]
        front = pareto_filter(candidates)
        selected = select_candidate(front, mse_floor=1e-10 * float(np.mean(y**2)))
        return SRResult(front, selected, self.name, version, params, seconds)


def fit_unit_arguments(n_columns: int, units: SRUnits | None) -> dict[str, Any]:
    """PySR's `fit` keywords for units (`X_units`, `y_units`); empty without units.

    Raises:
        SRError: The number of input units does not match the columns.
    """
    if units is None:
        return {}
    if len(units.inputs) != n_columns:
        msg = f"`units.inputs` has {len(units.inputs)} entries for {n_columns} columns of `X`."
        raise SRError(msg)
    # PySR writes dimensionless as an empty string.
    clean = ["" if u in ("", "1") else u for u in units.inputs]
    return {
        "X_units": clean,
        "y_units": "" if units.target in ("", "1") else units.target,
    }


def _in_spawned_child(
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    fit_units: dict[str, Any],
    wait: float | None,
) -> tuple[list[tuple[str, int, float]], str]:
    """Run `_child_main` in a `spawn` process and return its rows, or raise `SRError`."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main,
        args=(sender, X, y, names, params, fit_units),
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(wait):
            msg = f"PySR did not finish within {wait} s (`time_limit` + start-up); gave up."
            raise SRError(msg)
        try:
            status, payload = receiver.recv()
        except EOFError:
            child.join(5)
            msg = f"The PySR child process died (exit code {child.exitcode})."
            raise SRError(msg) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if status != "ok":
        msg = f"PySR failed in its child process: {payload}"
        raise SRError(msg)
    rows, version = payload
    return rows, version


def _child_main(
    sender: Any,
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    fit_units: dict[str, Any],
) -> None:
    """Entry point of the child: send `("ok", (rows, version))` or `("error", text)`."""
    try:
        sender.send(("ok", _run_pysr(X, y, names, params, fit_units)))
    except Exception as exc:  # the parent turns this into SRError with the reason
        sender.send(("error", f"{type(exc).__name__}: {exc}"[-1500:]))
    finally:
        sender.close()


def _run_pysr(
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    fit_units: dict[str, Any],
) -> tuple[list[tuple[str, int, float]], str]:
    """Run one PySR fit; executed in the `spawn` child, where importing pysr is safe."""
    import tempfile  # noqa: PLC0415 - loaded only when used (heavy or optional)

    os.environ.update(_OFFLINE_ENV)
    import importlib.metadata  # noqa: PLC0415 - loaded only when used (heavy or optional)

    from pysr import PySRRegressor  # heavy: starts Julia  # noqa: PLC0415 - loaded only when used (heavy or optional)

    with tempfile.TemporaryDirectory() as tmp:
        model = PySRRegressor(**params, output_directory=tmp)
        model.fit(X, y, variable_names=names, **fit_units)
        rows = [
            (
                _sympy_text(row["sympy_format"]),
                int(row["complexity"]),
                float(row["loss"]),
            )
            for _, row in model.equations_.iterrows()
        ]
    return rows, importlib.metadata.version("pysr")


def _sympy_text(expr: Any) -> str:
    """Print a sympy expression in the `SRCandidate` dialect (`abs`, not `Abs`)."""
    return str(expr).replace("Abs(", "abs(")
