"""The backend conformance checker (cf. Gymnasium `check_env`)."""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._executor import result_problem
from lawloop.experiments._registration import make
from lawloop.experiments._units import UnitSyntaxError, parse_unit
from lawloop.experiments._variable import Variable
from lawloop.experiments.errors import BackendContractError, InvalidDesignError

RESERVED_NAMES = frozenset(
    {
        # sympy singletons and functions that `sympify` would take over
        "E", "I", "N", "O", "Q", "S", "pi", "oo", "nan", "zoo",
        "beta", "gamma", "zeta", "lambda", "sin", "cos", "tan", "exp", "log",
        "sqrt", "asin", "acos", "atan", "sinh", "cosh", "tanh", "abs", "Abs",
        "sign", "re", "im", "arg", "floor", "ceiling", "Max", "Min", "diff",
        "factorial", "gamma_function", "erf", "Heaviside", "Symbol", "Function",
    }
)  # fmt: skip
"""Names a variable must not have: sympy would read them as something else."""


@dataclass(slots=True)
class CheckReport:
    """What `check_backend` found.

    Example:
        >>> report = check_backend("core/Pendulum-v0", large_batch=1000)
        >>> report.ok, report.passed[:2]
        (True, ['declarations', 'names'])
    """

    backend_id: str | None
    """The checked backend's id."""
    passed: list[str] = field(default_factory=list)
    """Checks that passed."""
    skipped: list[str] = field(default_factory=list)
    """Checks skipped, with the reason."""
    violations: list[str] = field(default_factory=list)
    """Contract violations, one readable line each."""

    @property
    def ok(self) -> bool:
        """Whether no violation was found."""
        return not self.violations

    def __str__(self) -> str:
        """A readable summary."""
        lines = [
            f"check_backend({self.backend_id!r}): {len(self.passed)} passed, {len(self.violations)} violations"
        ]
        lines += [f"  FAIL {v}" for v in self.violations]
        lines += [f"  skip {s}" for s in self.skipped]
        return "\n".join(lines)


def check_backend(
    backend_or_id: ExperimentBackend | str,
    *,
    large_batch: int = 100_000,
    seed: int = 0,
) -> CheckReport:
    """Check that a backend honours the backend contract.

    Checks declarations, names, units, sampling, output columns (float64,
    1-D, CPU NumPy, finite or a non-OK status), reproducibility from a seed
    (unless the spec says `nondeterministic`), rejection of out-of-range
    inputs, batches of 1 and `large_batch` points, and `close()` twice. The
    backend is closed at the end.

    Args:
        backend_or_id: A backend, or an id for `experiments.make`.
        large_batch: Size of the large batch.
        seed: Seed for the sample and the runs.

    Returns:
        The report, when there is no violation.

    Raises:
        BackendContractError: Listing every violation; the report is in its
            `report` attribute.
    """
    backend = make(backend_or_id) if isinstance(backend_or_id, str) else backend_or_id
    report = CheckReport(getattr(backend, "id", None))
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("declarations", lambda: _check_declarations(backend)),
        ("names", lambda: _check_names(backend)),
        ("units", lambda: _check_units(backend)),
        ("sampling", lambda: _check_sampling(backend, seed)),
        ("columns", lambda: _check_run(backend, 10, seed)),
        ("edges", lambda: _check_edges(backend, seed)),
        ("reproducible", lambda: _check_reproducible(backend, seed)),
        ("out_of_range", lambda: _check_out_of_range(backend, seed)),
        ("batch_of_1", lambda: _check_run(backend, 1, seed)),
        (f"batch_of_{large_batch}", lambda: _check_run(backend, large_batch, seed)),
        ("close_twice", lambda: _check_close(backend)),
    ]
    blocking = ("declarations", "sampling")
    for name, check in checks:
        if name not in ("names", "units", "close_twice") and any(
            v.startswith(blocking) for v in report.violations
        ):
            # Running a backend whose declarations are broken only repeats the error.
            report.skipped.append(
                f"{name}: skipped after a declaration or sampling violation"
            )
            continue
        try:
            outcome = check()
        except Exception as exc:  # the checker reports every failure; nothing escapes
            report.violations.append(f"{name}: raised {type(exc).__name__}: {exc}")
            continue
        if outcome is None:
            report.passed.append(name)
        elif outcome.startswith("skip:"):
            report.skipped.append(f"{name}: {outcome[5:].strip()}")
        else:
            report.violations.append(f"{name}: {outcome}")
    if report.violations:
        error = BackendContractError(str(report))
        error.report = report  # type: ignore[attr-defined]
        raise error
    return report


def _check_declarations(backend: ExperimentBackend) -> str | None:
    """`inputs` and `observables` are non-empty tuples of `Variable` with ranged inputs."""
    for attr in ("inputs", "observables"):
        value = getattr(backend, attr, None)
        if (
            not isinstance(value, tuple)
            or not value
            or not all(isinstance(v, Variable) for v in value)
        ):
            return f"`{attr}` must be a non-empty tuple of `Variable`, got {value!r}"
    unranged = [v.name for v in backend.inputs if not v.has_range]
    if unranged:
        return f"inputs {unranged} have no `low`/`high` range"
    if not isinstance(backend.deterministic, bool):
        return f"`deterministic` must be a bool, got {backend.deterministic!r}"
    if not isinstance(backend.device, str):
        return f"`device` must be a string, got {backend.device!r}"
    return None


def _check_names(backend: ExperimentBackend) -> str | None:
    """Names are unique identifiers that sympy reads as symbols."""
    names = [v.name for v in (*backend.inputs, *backend.observables)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    bad = [
        n
        for n in names
        if not n.isidentifier() or keyword.iskeyword(n) or n in RESERVED_NAMES
    ]
    problems = []
    if duplicates:
        problems.append(f"duplicate names {duplicates}")
    if bad:
        problems.append(
            f"names {bad} are not identifiers or clash with sympy/Python names (rename e.g. `lambda_`)"
        )
    return "; ".join(problems) or None


def _check_units(backend: ExperimentBackend) -> str | None:
    """Every unit parses as a product of powers of SI symbols."""
    problems = []
    for var in (*backend.inputs, *backend.observables):
        try:
            parse_unit(var.unit)
        except UnitSyntaxError as exc:
            problems.append(f"`{var.name}`: {exc}")
    return "; ".join(problems) or None


def _check_sampling(backend: ExperimentBackend, seed: int) -> str | None:
    """`sample_inputs` returns admissible float arrays of the right shape."""
    sample = backend.sample_inputs(np.random.default_rng(seed), 64)
    if set(sample) != {v.name for v in backend.inputs}:
        return f"`sample_inputs` returned keys {sorted(sample)}, expected {[v.name for v in backend.inputs]}"
    shapes = {k: np.shape(v) for k, v in sample.items() if np.shape(v) != (64,)}
    if shapes:
        return f"`sample_inputs(rng, 64)` returned shapes {shapes}"
    try:
        backend.validate_inputs(sample)
    except InvalidDesignError as exc:
        return f"`sample_inputs` drew a point that `validate_inputs` rejects: {exc}"
    return None


def _check_run(backend: ExperimentBackend, n: int, seed: int) -> str | None:
    """A batch of `n` sampled points runs and returns well-formed columns."""
    inputs = backend.sample_inputs(np.random.default_rng(seed + n), n)
    return result_problem(backend, backend.run_batch(inputs, seed=seed), n)


def _check_edges(backend: ExperimentBackend, seed: int) -> str | None:
    """At the corners of the declared ranges the outputs are finite or the status says why.

    Simulations break at their edges (a step too coarse at the longest
    length, an overflow at the highest temperature); there they must
    return a failed status, which the campaign records, not raise or
    return NaN marked OK.
    """
    rng = np.random.default_rng(seed)
    names = [v.name for v in backend.inputs]
    corners = rng.integers(0, 2, size=(min(64, 2 ** len(names)), len(names)))
    inputs = {}
    for j, var in enumerate(backend.inputs):
        low, high = float(var.low or 0.0), float(var.high or 0.0)
        if var.integer:
            low, high = float(np.ceil(low)), float(np.floor(high))
        values = np.where(corners[:, j] == 1, high, low)
        if var.sign == "negative":
            values = -values
        inputs[var.name] = values
    try:
        result = backend.run_batch(inputs, seed=seed)
    except Exception as exc:  # the point of the check: say what escaped
        return f"raised {type(exc).__name__} at the corners of the ranges instead of returning a failed status: {exc}"
    return result_problem(backend, result, len(corners))


def _check_reproducible(backend: ExperimentBackend, seed: int) -> str | None:
    """The same inputs and seed give identical columns."""
    spec = getattr(backend, "spec", None)
    if (spec is not None and spec.nondeterministic) or not backend.deterministic:
        return "skip: backend is declared nondeterministic"
    inputs = backend.sample_inputs(np.random.default_rng(seed), 16)
    first, second = (
        backend.run_batch(inputs, seed=seed),
        backend.run_batch(inputs, seed=seed),
    )
    for name, col in first.columns.items():
        other = second.columns.get(name)
        if other is None or not np.array_equal(col, other, equal_nan=True):
            return f"`run_batch(x, seed={seed})` twice gave different `{name}` columns"
    return None


def _outside(var: Variable) -> list[float]:
    """Values just outside each bound of `var` that are still finite and of its sign."""
    if var.low is None or var.high is None:
        return []
    low, high = float(var.low), float(var.high)
    width = max(high - low, abs(high), 1.0)
    below, above = low - 0.5 * width, high + 0.5 * width
    if var.signed_interval:
        # A log-uniform variable's lower bound is positive: its `below` may be too.
        return [below, above]
    sign = -1.0 if var.sign == "negative" else 1.0
    values = [sign * above]
    if low > 0:  # a magnitude below `low`, with the variable's sign
        values.append(sign * low / 2)
    return values


def _check_out_of_range(backend: ExperimentBackend, seed: int) -> str | None:
    """Every input refuses values below and above its range; a missing input is refused."""
    inputs = backend.sample_inputs(np.random.default_rng(seed), 4)
    for var in backend.inputs:
        for value in _outside(var):
            bad = dict(inputs)
            bad[var.name] = np.full(4, value)
            try:
                backend.run_batch(bad, seed=seed)
            except InvalidDesignError:
                continue
            return f"`{var.name}` = {value!r} outside its range ({var.range_text()}) did not raise `InvalidDesignError`"
    var = backend.inputs[0]
    missing = {k: v for k, v in inputs.items() if k != var.name}
    try:
        backend.run_batch(missing, seed=seed)
    except InvalidDesignError:
        return None
    return f"inputs without `{var.name}` did not raise `InvalidDesignError`"


def _check_close(backend: ExperimentBackend) -> str | None:
    """`close()` can be called twice."""
    backend.close()
    backend.close()
    return None
