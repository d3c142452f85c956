"""Simulated experiments: backends, their registry and the conformance checker.

A backend declares its inputs and observables (`Variable`s with units and
ranges) and measures batches of input points (`run_batch`), returning
float64 NumPy columns and a `RunStatus`. Build one with `make(id)`; ids are
`namespace/Name-vN`, entry points in the group `lawloop.experiments`, or
`module:Class`. `make` wraps the backend in `Noisy` (measurement noise) and
`Blinded` (no access to the true law), both `BackendWrapper`s, as
`gymnasium.make` wraps an environment. This package imports nothing else
from the project, and torch only when a backend runs.

Example:
    >>> import numpy as np
    >>> from lawloop import experiments
    >>> with experiments.make("core/Pendulum-v0", device="cpu") as lab:
    ...     x = lab.sample_inputs(np.random.default_rng(0), 100)
    ...     result = lab.run_batch(x, seed=0)
    >>> result.status.ok, result.columns["T"].shape
    (True, (100,))
"""

from __future__ import annotations

from lawloop.experiments import builtin as _builtin  # registers the built-ins
from lawloop.experiments._api import (
    BackendSpec,
    BatchResult,
    ExperimentBackend,
    RunCode,
    RunStatus,
)
from lawloop.experiments._blinded import Blinded
from lawloop.experiments._checker import CheckReport, check_backend
from lawloop.experiments._executor import Chunk, Executor, chunk_seed, result_problem
from lawloop.experiments._formula_eval import FormulaError, compile_formula
from lawloop.experiments._noise import NOISE_KINDS, NoiseModel
from lawloop.experiments._noisy import Noisy
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._registration import (
    describe,
    list_backends,
    make,
    register,
    spec,
)
from lawloop.experiments._units import UnitSyntaxError, format_unit, parse_unit
from lawloop.experiments._variable import Variable
from lawloop.experiments._wrapper import BackendWrapper
from lawloop.experiments.errors import (
    BackendContractError,
    BackendNotFoundError,
    BackendRegistrationError,
    DependencyNotInstalledError,
    ExperimentError,
    InvalidDesignError,
)

__all__ = [
    "NOISE_KINDS",
    "BackendContractError",
    "BackendNotFoundError",
    "BackendRegistrationError",
    "BackendSpec",
    "BackendWrapper",
    "BatchResult",
    "Blinded",
    "CheckReport",
    "Chunk",
    "DependencyNotInstalledError",
    "Executor",
    "ExperimentBackend",
    "ExperimentError",
    "FormulaError",
    "InvalidDesignError",
    "NoiseModel",
    "Noisy",
    "Option",
    "RunCode",
    "RunStatus",
    "UnitSyntaxError",
    "Variable",
    "check_backend",
    "chunk_seed",
    "compile_formula",
    "describe",
    "format_unit",
    "list_backends",
    "make",
    "parse_float",
    "parse_options",
    "parse_unit",
    "register",
    "result_problem",
    "spec",
]

del _builtin
