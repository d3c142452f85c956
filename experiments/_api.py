"""Backend API: variables, run outcomes and the `ExperimentBackend` base class."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from lawloop.experiments._noise import NoiseModel
from lawloop.experiments.errors import InvalidDesignError

if TYPE_CHECKING:
    from types import TracebackType

    from lawloop.experiments._registration import BackendSpec

Sampling = Literal["uniform", "log-uniform"]
Sign = Literal["positive", "negative", "both"]

REFERENCE_SEED = 20_240_601
"""Seed of the fixed reference sample on which the noise scale is computed."""
REFERENCE_SIZE = 2048
"""Size of the fixed reference sample on which the noise scale is computed."""
# Tolerance for range checks, so that values that went through a float
# round trip (text, JSON, a database) are not rejected at the bounds.
_RANGE_RTOL = 1e-12


@dataclass(frozen=True, slots=True)
class Variable:
    """A controllable input or a measured observable of a backend.

    Inputs must have a range; observables usually leave `low`/`high` unset.
    For `sign="positive"` the value lies in [`low`, `high`]; for `"negative"`
    the value is `-magnitude` and for `"both"` it is `±magnitude`, with the
    magnitude in [`low`, `high`]. A `"both"` variable with `low < 0` (as in
    some benchmark files) has the signed interval [`low`, `high`] instead.

    Example:
        >>> Variable("L", "m", 0.1, 2.0, description="pendulum length")
        Variable(name='L', unit='m', low=0.1, high=2.0, ...)
    """

    name: str
    """Python identifier, also used as the sympy symbol."""
    unit: str
    """Unit string over SI symbols, e.g. `"kg*m/s**2"`; `""` is dimensionless."""
    low: float | None = None
    """Lower bound of the value (of the magnitude for sign `negative`/`both`)."""
    high: float | None = None
    """Upper bound of the value (of the magnitude for sign `negative`/`both`)."""
    sampling: Sampling = "uniform"
    """How `sample_inputs` draws the magnitude: `uniform` or `log-uniform`."""
    sign: Sign = "positive"
    """`positive`, `negative` (value = -magnitude) or `both` (random sign)."""
    integer: bool = False
    """Whether values must be integers."""
    cost: float = 1.0
    """Relative cost of one measurement that varies this input."""
    description: str = ""
    """Free text shown to the planner."""

    def __post_init__(self) -> None:
        """Check the fields; raise `ValueError` naming the bad one."""
        where = f"Variable `{self.name}`"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            msg = f"Variable name `{self.name!r}` is not a Python identifier."
            raise ValueError(msg)
        if not isinstance(self.unit, str):
            msg = f"{where}: `unit` must be a string such as `'m/s'`, got `{self.unit!r}`."
            raise ValueError(msg)
        if self.sampling not in ("uniform", "log-uniform"):
            msg = f"{where}: `sampling` must be 'uniform' or 'log-uniform', got `{self.sampling!r}`."
            raise ValueError(msg)
        if self.sign not in ("positive", "negative", "both"):
            msg = f"{where}: `sign` must be 'positive', 'negative' or 'both', got `{self.sign!r}`."
            raise ValueError(msg)
        if not (
            isinstance(self.cost, int | float)
            and math.isfinite(self.cost)
            and self.cost > 0
        ):
            msg = f"{where}: `cost` must be a positive finite number, got `{self.cost!r}`."
            raise ValueError(msg)
        if (self.low is None) != (self.high is None):
            msg = f"{where}: give both `low` and `high` or neither, got low={self.low!r}, high={self.high!r}."
            raise ValueError(msg)
        if self.low is not None and self.high is not None:
            self._check_range(where, float(self.low), float(self.high))

    def _check_range(self, where: str, low: float, high: float) -> None:
        """Check `low`/`high` against `sampling`, `sign` and `integer`."""
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            msg = (
                f"{where}: need finite `low` <= `high`, got low={low!r}, high={high!r}."
            )
            raise ValueError(msg)
        if self.sign == "negative" and low < 0:
            msg = f"{where}: for sign `negative`, `low`/`high` bound the magnitude and must be >= 0, got low={low!r}."
            raise ValueError(msg)
        if self.sampling == "log-uniform" and low <= 0:
            msg = f"{where}: log-uniform sampling needs `low` > 0, got low={low!r}."
            raise ValueError(msg)
        if self.integer and math.floor(high) < math.ceil(low):
            msg = f"{where}: integer variable but [{low}, {high}] contains no integer."
            raise ValueError(msg)

    @property
    def signed_interval(self) -> bool:
        """Whether [`low`, `high`] bounds the value itself rather than its magnitude."""
        return self.sign == "positive" or (
            self.sign == "both" and self.low is not None and self.low < 0
        )

    @property
    def has_range(self) -> bool:
        """Whether `low` and `high` are set."""
        return self.low is not None and self.high is not None

    def range_text(self) -> str:
        """Describe the admissible values, e.g. `"|x| in [0.1, 2]"`."""
        bounds = f"[{self.low:g}, {self.high:g}]" if self.has_range else "(unbounded)"
        kind = " (integer)" if self.integer else ""
        if self.signed_interval:
            return f"`{self.name}` in {bounds}{kind}"
        if self.sign == "negative":
            return f"`-{self.name}` in {bounds}{kind}"
        return f"`|{self.name}|` in {bounds} with either sign{kind}"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw `n` admissible values (float64) honouring sampling, sign and integer.

        Args:
            rng: The random generator to draw from.
            n: Number of values.

        Returns:
            A float64 array of shape `(n,)`.

        Raises:
            ValueError: If the variable has no range.
        """
        if self.low is None or self.high is None:
            msg = f"Variable `{self.name}` has no range to sample from."
            raise ValueError(msg)
        low, high = float(self.low), float(self.high)
        if self.integer:
            low, high = math.ceil(low), math.floor(high)
        if self.sampling == "log-uniform":
            mag = np.exp(rng.uniform(math.log(low), math.log(high), size=n))
        else:
            mag = rng.uniform(low, high, size=n)
        if self.integer:
            mag = np.clip(np.rint(mag), low, high)
        mag = np.clip(mag, low, high)
        if self.signed_interval:
            return mag
        if self.sign == "negative":
            return -mag
        return np.where(rng.random(n) < 0.5, -mag, mag)

    def violations(self, values: np.ndarray) -> np.ndarray:
        """Return a boolean mask of the values that are not admissible."""
        bad = ~np.isfinite(values)
        if self.sign == "negative":
            bad |= values > 0
        mag = values if self.signed_interval else np.abs(values)
        if self.low is not None and self.high is not None:
            low, high = float(self.low), float(self.high)
            slack_low = _RANGE_RTOL * max(abs(low), 1e-300)
            slack_high = _RANGE_RTOL * max(abs(high), 1e-300)
            with np.errstate(invalid="ignore"):
                bad |= (mag < low - slack_low) | (mag > high + slack_high)
        if self.integer:
            with np.errstate(invalid="ignore"):
                bad |= values != np.rint(values)
        return np.asarray(bad, dtype=bool)


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
        >>> result = backend.run_batch(inputs, seed=0)
        >>> result.status.ok, result.columns["T"].shape
        (True, (10,))
    """

    columns: dict[str, np.ndarray]
    """One float64 array of shape `(n,)` per observable, in declaration order."""
    status: RunStatus = field(default_factory=RunStatus)
    """Whether the batch succeeded; non-finite outputs give `SIMULATION_DIVERGED`."""
    info: dict[str, Any] = field(default_factory=dict)
    """Provenance: backend id, seed, noise, noise scale, device, elapsed seconds."""


class ExperimentBackend:
    """Base class for simulated experiments (cf. `gymnasium.Env`).

    Subclasses set `inputs` and `observables` (class attributes or in
    `__init__`) and implement `_simulate`, which maps float64 input arrays
    to clean observables (NumPy arrays or torch tensors). `run_batch`
    validates the inputs, calls `_simulate`, checks the outputs and adds
    the measurement noise. Constructors take keyword-only `device` and
    `options` (strings from `--option KEY=VALUE`; see `parse_options`).
    Check an implementation with `experiments.check_backend`.

    Example:
        >>> import experiments
        >>> with experiments.make("core/Pendulum-v0", device="cpu") as lab:
        ...     x = lab.sample_inputs(np.random.default_rng(0), 10)
        ...     result = lab.run_batch(x, seed=1)
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
    noise: float = 0.0
    """Relative noise level gamma (set by `make`)."""
    noise_model: NoiseModel = NoiseModel()
    """The noise `run_batch` adds to the clean observables (set by `make`)."""
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
        """Measure the observables at a batch of input points.

        Noise is Gaussian with standard deviation `noise` times the RMS of
        the clean observable over a fixed reference sample of the design
        range, drawn from `seed`: the same inputs and seed give the same
        columns.

        Args:
            inputs: One array-like per input variable.
            seed: Seed of the noise (and of any randomness in the simulation).

        Returns:
            The columns with their status; non-finite outputs give status
            `SIMULATION_DIVERGED` instead of an exception.

        Raises:
            InvalidDesignError: If the inputs are not admissible.
        """
        arrays = self.validate_inputs(inputs)
        n = next(iter(arrays.values())).size if arrays else 0
        sim_seq, noise_seq = np.random.SeedSequence(seed).spawn(2)
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
            "noise": self.noise,
            "options": self.public_options(),
        }
        bad = {name: int((~np.isfinite(col)).sum()) for name, col in clean.items()}
        bad = {name: count for name, count in bad.items() if count}
        if bad:
            info["elapsed_s"] = time.perf_counter() - start
            counts = ", ".join(f"`{k}` at {v} of {n} points" for k, v in bad.items())
            status = RunStatus(
                RunCode.SIMULATION_DIVERGED, f"Non-finite output: {counts}."
            )
            return BatchResult(clean, status, info)
        model = self.noise_model
        if model.active and n:
            # The range-wide RMS costs a reference run: only scales that need it pay.
            needs_rms = model.offset != 0 or model.kind == "gaussian"
            rms = self.reference_rms() if needs_rms else dict.fromkeys(clean, 0.0)
            noise_rng = np.random.default_rng(noise_seq)
            for name, col in clean.items():
                clean[name], problem = model.apply(col, rms[name], noise_rng)
                if problem is not None:
                    info["elapsed_s"] = time.perf_counter() - start
                    status = RunStatus(
                        RunCode.SIMULATION_DIVERGED, f"`{name}`: {problem}."
                    )
                    return BatchResult(clean, status, info)
            info["noise_model"] = model.to_json()
            if model.kind == "gaussian":
                info["noise_std"] = {name: model.level * rms[name] for name in clean}
        info["elapsed_s"] = time.perf_counter() - start
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
        `REFERENCE_SEED`, so the noise scale does not depend on which points
        are measured. Non-finite reference outputs are ignored.

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

    # -- truth and lifetime ------------------------------------------------
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
        return f"<{type(self).__name__} id={self.id!r} device={self.device!r} noise={self.noise}>"
