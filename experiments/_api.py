"""Backend API: run outcomes, the `ExperimentBackend` base class and its `BackendSpec`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lawloop.experiments._noise import NoiseModel
from lawloop.experiments._variable import Variable
from lawloop.experiments.errors import InvalidDesignError

if TYPE_CHECKING:
    from types import TracebackType

REFERENCE_SEED = 20_240_601
"""Seed of the fixed reference sample on which `reference_rms` is computed."""
REFERENCE_SIZE = 2048
"""Size of the fixed reference sample on which `reference_rms` is computed."""


class RunCode(IntEnum):
    """Outcome codes of a batch run (cf. AiiDA `ExitCode`)."""

    OK = 0
    INVALID_DESIGN = 10
    SIMULATION_DIVERGED = 20
    TIMEOUT = 30
    BACKEND_ERROR = 99


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Outcome of a run; failures are data, not exceptions.

    Example:
        >>> RunStatus(RunCode.SIMULATION_DIVERGED, "T is NaN at 3 of 10 points").ok
        False
    """

    code: RunCode = RunCode.OK
    """What happened."""
    message: str | None = None
    """Why, for a person and the planner; `None` when all went well."""

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.code == RunCode.OK


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The measurements of one batch: a float64 CPU column per observable.

    Example:
        >>> result = BatchResult({"T": np.full(10, 2.0)})
        >>> result.status.ok, result.columns["T"].shape
        (True, (10,))
    """

    columns: dict[str, np.ndarray]
    """One float64 array of shape `(n,)` per observable, in declaration order."""
    status: RunStatus = field(default_factory=RunStatus)
    """Whether the batch succeeded; non-finite outputs give `SIMULATION_DIVERGED`."""
    info: dict[str, Any] = field(default_factory=dict)
    """Provenance: backend id, seed, device, options, elapsed seconds (and the noise, from `Noisy`)."""


class ExperimentBackend:
    """Base class for simulated experiments (cf. `gymnasium.Env`).

    Subclasses set `inputs` and `observables` (class attributes or in
    `__init__`) and implement `_simulate`, which maps float64 input arrays
    to clean observables (NumPy arrays or torch tensors). `run_batch`
    validates the inputs, calls `_simulate` and checks the outputs.
    Measurement noise and blinding are not the backend's business: `make`
    wraps it in `Noisy` and `Blinded` (`BackendWrapper`s). Constructors take
    keyword-only `device` and `options` (strings from `--option KEY=VALUE`;
    see `parse_options`). Check an implementation with
    `experiments.check_backend`.

    Example:
        >>> import numpy as np
        >>> from lawloop import experiments
        >>> with experiments.make("core/Pendulum-v0", device="cpu") as lab:
        ...     x = lab.sample_inputs(np.random.default_rng(0), 10)
        ...     result = lab.run_batch(x, seed=1)
        >>> result.status.ok, sorted(result.columns)
        (True, ['T'])
    """

    metadata: ClassVar[Mapping[str, Any]] = {"torch": False, "devices": ("cpu",)}
    """Capabilities: whether torch is used and which devices are supported."""
    inputs: tuple[Variable, ...] = ()
    """The controllable inputs."""
    observables: tuple[Variable, ...] = ()
    """The measured quantities; the first is the target."""
    deterministic: bool = True
    """Whether `run_batch(x, seed=s)` returns identical columns every time."""
    precision: float | None = None
    """Relative precision of the clean measurements (e.g. 1e-12 for a formula
    evaluated in float64), or None when unknown. A campaign with no
    `tolerance` of its own demands that laws hold to this precision."""
    max_batch: int | None = None
    """Most points one `run_batch` call may take (memory), or None for no limit;
    the executor splits larger batches into chunks of at most this size."""
    spec: BackendSpec | None = None
    """The spec the backend was made from (set by `make`)."""
    id: str | None = None
    """The full versioned id, for provenance (set by `make`)."""
    declared_noise: ClassVar[NoiseModel | None] = None
    """The noise the backend itself declares (e.g. Poisson counts of a
    counter), which the agent may use to weight its fits; None: undeclared,
    the agent estimates the noise from repeated measurements."""
    blinded_attributes: ClassVar[frozenset[str]] = frozenset()
    """Attributes besides `ground_truth` that `Blinded` hides (they would reveal the law)."""
    secret_options: ClassVar[frozenset[str]] = frozenset()
    """Options left out of `public_options()` and of `BatchResult.info`."""

    def __init__(
        self, *, device: str = "cpu", options: Mapping[str, Any] | None = None
    ) -> None:
        """Store the device; reject options unless a subclass parses them.

        Args:
            device: Torch device string, e.g. `"cpu"` or `"cuda"`.
            options: Backend options; the base class accepts none.
        """
        self.device = device
        self.options: dict[str, Any] = self.parse_options(dict(options or {}))
        self._reference_rms: dict[str, float] | None = None
        self._seed: int | None = None
        self._rng = np.random.default_rng()
        self._closed = False

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `--option` values; override in backends that take options.

        Args:
            options: Raw option values (strings from the CLI).

        Returns:
            The parsed options.

        Raises:
            InvalidDesignError: If an option is given to a backend without options.
        """
        if options:
            msg = f"Backend `{type(self).__name__}` takes no options, got {sorted(options)}."
            raise InvalidDesignError(msg)
        return {}

    def public_options(self) -> dict[str, Any]:
        """The parsed options without `secret_options`, safe to show the agent.

        Returns:
            Option name to value.
        """
        return {k: v for k, v in self.options.items() if k not in self.secret_options}

    # -- seeding -----------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> None:
        """Reset internal state; reseed `rng` when `seed` is given.

        Args:
            seed: Seed of the backend's own generator (`self.rng`).
        """
        if seed is not None:
            self._seed = seed
            self._rng = np.random.default_rng(seed)

    @property
    def rng(self) -> np.random.Generator:
        """The backend's generator, reseeded by `reset(seed=...)`."""
        return self._rng

    # -- inputs ------------------------------------------------------------
    def sample_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Draw `n` admissible input points.

        Args:
            rng: The generator to draw from.
            n: Number of points.

        Returns:
            A float64 array of shape `(n,)` per input.
        """
        return {v.name: v.sample(rng, int(n)) for v in self.inputs}

    def validate_inputs(self, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Check names, shapes and ranges of a batch of inputs.

        Args:
            inputs: One array-like per input variable, all of the same length.

        Returns:
            The inputs as float64 1-D NumPy arrays.

        Raises:
            InvalidDesignError: Naming the variable, the offending value and
                the admissible range.
        """
        names = [v.name for v in self.inputs]
        missing = [n for n in names if n not in inputs]
        extra = sorted(set(inputs) - set(names))
        if missing or extra:
            msg = (
                f"Inputs do not match the backend's variables: missing {missing}, "
                f"unexpected {extra}; expected exactly {names}."
            )
            raise InvalidDesignError(msg)
        arrays: dict[str, np.ndarray] = {}
        for var in self.inputs:
            try:
                values = np.asarray(inputs[var.name], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                msg = f"Input `{var.name}` is not numeric: {exc}."
                raise InvalidDesignError(msg) from None
            values = np.atleast_1d(values)
            if values.ndim != 1:
                msg = f"Input `{var.name}` must be 1-D, got shape {values.shape}."
                raise InvalidDesignError(msg)
            bad = var.violations(values)
            if bad.any():
                index = int(np.flatnonzero(bad)[0])
                msg = (
                    f"Input `{var.name}` = {float(values[index])!r} (point {index}, "
                    f"{int(bad.sum())} bad of {values.size}) is outside the admissible "
                    f"values: {var.range_text()}."
                )
                raise InvalidDesignError(msg)
            arrays[var.name] = values
        lengths = {name: a.size for name, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            msg = f"Inputs have different lengths: {lengths}."
            raise InvalidDesignError(msg)
        return arrays

    # -- running -----------------------------------------------------------
    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> Mapping[str, Any]:
        """Return the clean observables for validated float64 inputs."""
        msg = f"`{type(self).__name__}` must implement `_simulate(inputs, rng)`."
        raise NotImplementedError(msg)

    def run_batch(self, inputs: Mapping[str, Any], *, seed: int) -> BatchResult:
        """Measure the clean observables at a batch of input points.

        The simulation draws any randomness from the first child of
        `SeedSequence(seed)`, so the same inputs and seed give the same
        columns; wrappers that draw (`Noisy`) take later children.

        Args:
            inputs: One array-like per input variable.
            seed: Seed of any randomness in the simulation (and of the noise
                a wrapper adds).

        Returns:
            The columns with their status; non-finite outputs give status
            `SIMULATION_DIVERGED` instead of an exception.

        Raises:
            InvalidDesignError: If the inputs are not admissible.
        """
        arrays = self.validate_inputs(inputs)
        n = next(iter(arrays.values())).size if arrays else 0
        # Child 0 of the seed: `Noisy` draws from child 1, as it always has.
        (sim_seq,) = np.random.SeedSequence(seed).spawn(1)
        start = time.perf_counter()
        if n:
            clean = self._clean_columns(arrays, np.random.default_rng(sim_seq))
        else:
            clean = {v.name: np.empty(0) for v in self.observables}
        info: dict[str, Any] = {
            "backend_id": self.id,
            "seed": seed,
            "n": n,
            "device": self.device,
            "options": self.public_options(),
        }
        bad = {name: int((~np.isfinite(col)).sum()) for name, col in clean.items()}
        bad = {name: count for name, count in bad.items() if count}
        info["elapsed_s"] = time.perf_counter() - start
        if bad:
            counts = ", ".join(f"`{k}` at {v} of {n} points" for k, v in bad.items())
            status = RunStatus(
                RunCode.SIMULATION_DIVERGED, f"Non-finite output: {counts}."
            )
            return BatchResult(clean, status, info)
        return BatchResult(clean, RunStatus(), info)

    def _clean_columns(
        self, arrays: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Call `_simulate` and convert its outputs to float64 CPU columns."""
        n = next(iter(arrays.values())).size
        raw = self._simulate(arrays, rng)
        columns: dict[str, np.ndarray] = {}
        for var in self.observables:
            if var.name not in raw:
                msg = f"`{type(self).__name__}._simulate` returned no `{var.name}`; it returned {sorted(raw)}."
                raise KeyError(msg)
            value = raw[var.name]
            if hasattr(value, "detach"):  # a torch tensor; avoids importing torch here
                value = value.detach().cpu().numpy()
            col = np.array(value, dtype=np.float64).reshape(-1)
            if col.size == 1 and n != 1:
                col = np.full(n, col[0])
            columns[var.name] = col
        return columns

    def reference_rms(self) -> dict[str, float]:
        """RMS of each clean observable over the fixed reference sample.

        Computed once per instance from `REFERENCE_SIZE` points drawn with
        `REFERENCE_SEED`, so a scale derived from it (the noise of `Noisy`)
        does not depend on which points are measured. Non-finite reference
        outputs are ignored.

        Returns:
            The RMS per observable.
        """
        if self._reference_rms is None:
            sample = self.sample_inputs(
                np.random.default_rng(REFERENCE_SEED), REFERENCE_SIZE
            )
            clean = self._clean_columns(sample, np.random.default_rng(REFERENCE_SEED))
            self._reference_rms = {
                name: float(np.sqrt(np.mean(np.square(col[np.isfinite(col)]))))
                if np.isfinite(col).any()
                else 0.0
                for name, col in clean.items()
            }
        return dict(self._reference_rms)

    # -- truth, wrapping and lifetime ----------------------------------------
    @property
    def unwrapped(self) -> ExperimentBackend:
        """The innermost backend: this one; on a `BackendWrapper`, the one under all wrappers."""
        return self

    def ground_truth(self) -> dict[str, str] | None:
        """The true law per observable as sympy text, for benchmarks only.

        Returns:
            Observable name to expression, or `None` when unknown.
        """
        return None

    def close(self) -> None:
        """Release resources; calling it twice is allowed."""
        self._closed = True

    def __enter__(self) -> ExperimentBackend:
        """Return the backend itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the backend."""
        self.close()

    def __repr__(self) -> str:
        """Show the class, id and device."""
        return f"<{type(self).__name__} id={self.id!r} device={self.device!r}>"


EntryPoint = str | Callable[..., ExperimentBackend]
"""`"pkg.module:Class"` (imported lazily) or a callable returning a backend."""


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """How to build a backend with `make` (cf. `gymnasium.EnvSpec`).

    It lives beside `ExperimentBackend` (whose `spec` it is) rather than in
    the registry, so that the registry imports the API and not the reverse.

    Example:
        >>> BackendSpec("mylab/Spring-v0", "mylab.spring:Spring").entry_point
        'mylab.spring:Spring'
    """

    id: str
    """`namespace/Name-vN`, or `module:Class` for backends named directly."""
    entry_point: EntryPoint
    """`"pkg.module:Class"` (imported lazily) or a callable returning a backend."""
    nondeterministic: bool = False
    """If true, the checker skips its reproducibility check."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments passed to the constructor."""
    description: str = ""
    """One line shown by `backends list`."""
