"""`core/Formula-v0`: any benchmark formula over its variables' ranges (the benchmark backend)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._formula_eval import CONSTANTS, FormulaError, compile_formula
from lawloop.experiments._options import Option, parse_options
from lawloop.experiments._units import UnitSyntaxError, format_unit
from lawloop.experiments._variable import Variable
from lawloop.experiments.errors import (
    BackendRegistrationError,
    ExperimentError,
    did_you_mean,
)

# The benchmark files write kelvin as `T`; our unit strings use `K`.
_FILE_UNIT_SYMBOLS = {
    "m": "m",
    "s": "s",
    "kg": "kg",
    "T": "K",
    "V": "V",
    "K": "K",
    "A": "A",
    "mol": "mol",
    "cd": "cd",
}


@dataclass(frozen=True, slots=True)
class FormulaConstant:
    """A physical constant written as a number in the formula, with its units.

    Example:
        >>> FormulaConstant("c", 299792458.0, "m/s", "speed of light in vacuum")
        FormulaConstant(name='c', value=299792458.0, unit='m/s',
                        description='speed of light in vacuum')
    """

    name: str
    """Conventional symbol, e.g. `c`."""
    value: float
    """The number as it appears in the formula."""
    unit: str
    """Unit string over SI symbols."""
    description: str = ""
    """What the constant is."""


def unit_from_file(units: Mapping[str, float], where: str) -> str:
    """Turn a benchmark units dict (`T` = kelvin) into a unit string.

    Args:
        units: Exponent per file symbol, e.g. `{"m": 1, "s": -2, "kg": 1, "T": 0, "V": 0}`.
        where: What the units belong to, for messages.

    Returns:
        The unit string, e.g. `"kg*m/s**2"`; `""` when dimensionless.

    Raises:
        ExperimentError: For an unknown symbol.
    """
    unknown = sorted(set(units) - set(_FILE_UNIT_SYMBOLS))
    if unknown:
        msg = f"{where}: unknown unit symbols {unknown}; known: {sorted(_FILE_UNIT_SYMBOLS)}."
        raise ExperimentError(msg)
    try:
        return format_unit({_FILE_UNIT_SYMBOLS[k]: v for k, v in units.items()})
    except UnitSyntaxError as exc:
        msg = f"{where}: {exc}"
        raise ExperimentError(msg) from None


class Formula(ExperimentBackend):
    """Measures `output = formula(variables)` for one problem of a benchmark file.

    The problem file has the format of `benchmarks/problems/feynman_dev.json` (documented in `benchmarks/problems/README.md`):
    `problems[]`, each with `id`, `formula`, `output`, `output_units`,
    `variables[]` (name, low, high, sampling, sign, integer, units) and
    `units_constants` (units of constants written as numbers in the
    formula, exposed as `constants`). The formula is evaluated in float64
    torch by a whitelisting interpreter, never by `eval`.

    Options: `problem_file` (path) and `problem_id` (both required).

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make(
        ...     "core/Formula-v0",
        ...     options={
        ...         "problem_file": "benchmarks/problems/feynman_dev.json",
        ...         "problem_id": "I.12.1",
        ...     },
        ... )
        >>> [v.name for v in lab.inputs], lab.observables[0].unit
        (['mu', 'Nn'], 'kg*m/s**2')
    """

    metadata: ClassVar[Mapping[str, Any]] = {"torch": True, "devices": ("cpu", "cuda")}
    # A formula evaluated in float64: its clean values are exact to rounding,
    # so a law that is only approximately right shows up in the data.
    precision = 1e-12
    # The problem id names a textbook equation and the constants show which
    # constants appear in it: both would give the law away to the agent.
    blinded_attributes: ClassVar[frozenset[str]] = frozenset(
        {"constants", "problem_id"}
    )
    secret_options: ClassVar[frozenset[str]] = frozenset({"problem_file", "problem_id"})

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "problem_file": Option(
            None, str, "path of a problem file like feynman_dev.json", required=True
        ),
        "problem_id": Option(
            None, str, "id of a problem in that file, e.g. I.12.1", required=True
        ),
    }

    def __init__(
        self, *, device: str = "cpu", options: Mapping[str, Any] | None = None
    ) -> None:
        """Load the problem.

        Args:
            device: Torch device for the evaluation.
            options: `problem_file` and `problem_id`.

        Raises:
            InvalidDesignError: For missing or unknown options.
            BackendRegistrationError: For a missing or malformed file, an
                unknown problem id or a formula outside the whitelist.
        """
        super().__init__(device=device, options=options)
        problem = _load_problem(
            Path(self.options["problem_file"]), self.options["problem_id"]
        )
        where = f"Problem `{problem['id']}`"
        try:
            self.inputs = tuple(_variable(v, where) for v in problem["variables"])
            self.observables = (
                Variable(
                    str(problem["output"]),
                    unit_from_file(problem["output_units"], where),
                ),
            )
            self.constants = tuple(
                FormulaConstant(
                    str(c["name"]),
                    float(c["literal"]),
                    unit_from_file(c["units"], where),
                    str(c.get("description") or ""),
                )
                for c in problem.get("units_constants") or ()
            )
            names = [v.name for v in self.inputs]
            clash = sorted(set(names) & set(CONSTANTS))
            if clash or len(set(names)) != len(names):
                msg = f"{where}: variable names must be unique and differ from {sorted(CONSTANTS)}, got {names}."
                raise BackendRegistrationError(msg)
            self._formula = str(problem["formula"])
            self._evaluate = compile_formula(self._formula, names)
        except (KeyError, TypeError, ValueError, ExperimentError, FormulaError) as exc:
            if isinstance(exc, BackendRegistrationError):
                raise
            msg = f"{where} in `{self.options['problem_file']}` is malformed: {exc}"
            raise BackendRegistrationError(msg) from None
        self.problem_id = str(problem["id"])

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `problem_file` and `problem_id`."""
        return parse_options("core/Formula-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The problem's formula for its output."""
        return {self.observables[0].name: self._formula}

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, Any]:
        """Evaluate the formula on the inputs."""
        import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

        tensors = {
            k: torch.as_tensor(v, dtype=torch.float64, device=self.device)
            for k, v in inputs.items()
        }
        return {self.observables[0].name: self._evaluate(tensors)}


def _load_problem(path: Path, problem_id: str) -> dict[str, Any]:
    """Read one problem from a benchmark file."""
    if not path.is_file():
        msg = f"Problem file `{path}` does not exist; pass an existing file as `--option problem_file=PATH`."
        raise BackendRegistrationError(msg)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problems = {str(p["id"]): p for p in data["problems"]}
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        msg = f"Problem file `{path}` is not a benchmark file with `problems[].id`: {exc}."
        raise BackendRegistrationError(msg) from None
    if problem_id not in problems:
        msg = (
            f"Problem `{problem_id}` is not in `{path}`.{did_you_mean(problem_id, problems)} "
            f"The file has {len(problems)} problems, e.g. {sorted(problems)[:5]}."
        )
        raise BackendRegistrationError(msg)
    problem: dict[str, Any] = problems[problem_id]
    return problem


def _variable(raw: Mapping[str, Any], where: str) -> Variable:
    """Build a `Variable` from a problem file's variable entry."""
    name = str(raw["name"])
    return Variable(
        name,
        unit_from_file(raw.get("units") or {}, f"{where}, variable `{name}`"),
        float(raw["low"]),
        float(raw["high"]),
        sampling=raw.get("sampling", "uniform"),
        sign=raw.get("sign", "positive"),
        integer=bool(raw.get("integer", False)),
        description=str(raw.get("description") or ""),
    )
