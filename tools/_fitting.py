"""Least-squares fitting of the free constants of a sympy expression.

`fit_parameters` validates its arguments here; the optimizer runs live in
`tools._least_squares` and the covariance and bootstrap intervals in
`tools._uncertainty`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import sympy

from lawloop.tools._bounds import bind_parameters
from lawloop.tools._compiled import (
    Array,
    Compiled,
    compile_expression,
    evaluate_compiled,
)
from lawloop.tools._least_squares import (
    OutOfTimeError,
    Problem,
    linear_parameters,
    random_starts,
    search,
)
from lawloop.tools._uncertainty import bootstrap_intervals, check_bootstrap, covariance
from lawloop.tools.errors import ExpressionError, FitError

__all__ = ["FitResult", "fit_parameters", "predict"]


@dataclass(frozen=True, slots=True)
class FitResult:
    """Outcome of `fit_parameters`: values, uncertainties and quality.

    A failed fit is data: `success` is False and `message` says why; the
    values are those of the best start found (possibly non-finite).

    Example:
        >>> from lawloop.tools import parse_expression
        >>> x = np.linspace(0, 1, 20)
        >>> fit = fit_parameters(parse_expression("a*x", ["x"], ["a"]), ["a"],
        ...                      {"x": x}, 3 * x)
        >>> round(fit.values["a"], 6)
        3.0
    """

    values: dict[str, float]
    """Fitted value of each parameter, by name."""
    stderr: dict[str, float]
    """Standard error of each parameter (`inf` when undetermined)."""
    covariance: Array = field(repr=False)
    """Covariance matrix (k x k), rows in the order of `parameters`."""
    rss: float
    """Unweighted residual sum of squares, in squared units of `y`."""
    n: int
    """Number of data points."""
    success: bool
    """Whether the optimizer converged to finite predictions."""
    message: str
    """What happened, for people and for the provenance record."""
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Bootstrap percentile interval (low, high) of each parameter, by name.

    Empty unless `fit_parameters` was asked for `bootstrap` resamples, the
    fit succeeded and at least half of the resamples converged.
    """
    bootstrap_n: int = 0
    """Number of bootstrap resamples that converged (0 when not requested)."""
    timed_out: bool = False
    """The fit was stopped at its `deadline` before it finished: a failed
    result whose values mean nothing (only with a `deadline`)."""


def _columns(
    data: Mapping[str, object], names: Sequence[str], n: int | None
) -> tuple[list[Array], int]:
    """Take the data columns named, as float arrays of one common length."""
    cols: list[Array] = []
    for name in names:
        col = np.asarray(data[name], dtype=float).ravel()
        if n is None:
            n = col.size
        if col.size != n:
            msg = f"Column `{name}` has {col.size} values; expected {n} (the length of `y`)."
            raise FitError(msg)
        cols.append(col)
    return cols, n if n is not None else 1


def _split_symbols(
    expr: sympy.Expr, parameters: Sequence[str], data: Mapping[str, object]
) -> tuple[list[sympy.Symbol], list[sympy.Symbol]]:
    """Return (variable symbols, parameter symbols) of `expr`, validated."""
    if not isinstance(expr, sympy.Expr):
        msg = f"`expr` must be a sympy expression; got {type(expr).__name__}."
        raise FitError(msg)
    if len(set(parameters)) != len(parameters):
        msg = f"`parameters` has repeated names: {list(parameters)}."
        raise FitError(msg)
    by_name = {s.name: s for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    missing = [p for p in parameters if p not in by_name]
    if missing:
        msg = f"Parameters {missing} do not appear in `{expr}`; remove them from `parameters`."
        raise FitError(msg)
    variables = sorted(set(by_name) - set(parameters))
    for name in variables:
        if name not in data:
            close = difflib.get_close_matches(name, [str(k) for k in data], n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            msg = f"Variable `{name}` of `{expr}` has no data column.{hint} Columns: {sorted(map(str, data))}."
            raise FitError(msg)
    return [by_name[v] for v in variables], [by_name[p] for p in parameters]


def _weights(sigma: Array | float | None, n: int) -> Array | None:
    """Validate `sigma` and broadcast it to `n` values (None stays None)."""
    if sigma is None:
        return None
    w = (
        np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
        if np.ndim(sigma) == 0
        else np.asarray(sigma, dtype=float).ravel()
    )
    if w.size != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
        msg = f"`sigma` must be a positive finite number or array of {n} values."
        raise FitError(msg)
    return np.array(w)


def fit_parameters(
    expr: sympy.Expr,
    parameters: Sequence[str],
    data: Mapping[str, Array],
    y: Array,
    *,
    sigma: Array | float | None = None,
    seed: int = 0,
    n_starts: int = 8,
    initial: Mapping[str, float] | None = None,
    bootstrap: int = 0,
    confidence: float = 0.95,
    deadline: float | None = None,
) -> FitResult:
    """Fit the free constants of `expr` to data by multi-start least squares.

    Residuals are divided by the RMS of `y` (or by `sigma`), so targets of
    any scale fit alike. Parameters in which `expr` is linear are solved by
    linear least squares at every start (variable projection as an initial
    guess); if all are linear the problem is convex and one start is used.
    Other starts: `initial` (missing names 1.0, or all ones), then
    magnitudes log-uniform in 1e-3..1e3 (first half) or 1e-10..1e10, with
    random signs, from `np.random.default_rng(seed)`. With more than 512
    rows the starts compete on 512 rows drawn from `seed` and the best is
    polished on all of them. The result is deterministic for a seed.
    Covariance is s^2 (J^T J)^-1 with s^2 = rss/(n-k), or with the absolute
    `sigma` when given.

    With `bootstrap` > 0 the fit is repeated on that many case resamples
    (n rows drawn with replacement, with their `sigma`), each from the
    full-data optimum, and `intervals` holds the percentile interval of
    each parameter at `confidence`. Resamples that do not converge are
    skipped (`bootstrap_n` counts those that did); if fewer than half
    converge, `intervals` is empty and `message` says so. The resamples
    come from their own stream derived from `seed`, so they are
    reproducible and do not change the fit itself.

    Args:
        expr: The model, e.g. from `parse_expression`.
        parameters: Names of the symbols of `expr` to fit; every other
            symbol is a variable read from `data`.
        data: Column per variable name, each of the length of `y`.
        y: Observed target values.
        sigma: Absolute standard deviation of `y` (number or per point).
        seed: Seed of the random starts and of the bootstrap resamples.
        n_starts: Number of starts, the given one included.
        initial: Starting values by name.
        bootstrap: Number of bootstrap resamples; 0 (the default) skips
            the bootstrap.
        confidence: Coverage of the bootstrap intervals, in (0, 1).
        deadline: A `time.monotonic()` reading at which to give up: the fit
            stops between starts, between iterations of a start (SciPy 1.16
            and later) and between bootstrap batches, and returns a failed
            result with `timed_out` set. `None`: no deadline (deterministic).

    Returns:
        The `FitResult`; a poor or failed fit has `success=False` and a
        message, never an exception.

    Raises:
        FitError: Bad arguments: unknown or repeated parameters, missing or
            mis-sized columns, non-finite `y`, invalid `sigma`, negative
            `bootstrap` or `confidence` outside (0, 1).
    """
    variables, params, cols, y, w = _validated(
        expr, parameters, data, y, sigma, bootstrap, confidence
    )
    settings = _Settings(seed, n_starts, initial, bootstrap, confidence, deadline)
    try:
        # Overflow is expected where a law leaves float64; the result says so.
        with np.errstate(all="ignore"):
            return _fit(expr, variables, params, cols, y, w, settings)
    except OutOfTimeError:
        reason = "stopped at its deadline before it finished"
        return replace(_failed(params, y.size, reason), timed_out=True)
    except Exception as exc:  # the fit executor: whatever a law does to it is data
        reason = f"fit failed: {type(exc).__name__}: {exc}"[:1500]
        return _failed(params, y.size, reason)


@dataclass(frozen=True, slots=True)
class _Settings:
    """The keyword arguments of `fit_parameters` that steer the search and the bootstrap."""

    seed: int
    n_starts: int
    initial: Mapping[str, float] | None
    bootstrap: int
    confidence: float
    deadline: float | None


def _validated(
    expr: sympy.Expr,
    parameters: Sequence[str],
    data: Mapping[str, Array],
    y: Array,
    sigma: Array | float | None,
    bootstrap: int,
    confidence: float,
) -> tuple[list[sympy.Symbol], list[sympy.Symbol], list[Array], Array, Array | None]:
    """The arguments of `fit_parameters` checked: (variables, parameters, columns, y, weights)."""
    check_bootstrap(bootstrap, confidence)
    variables, params = _split_symbols(expr, parameters, data)
    y = np.asarray(y, dtype=float).ravel()
    n = y.size
    if n == 0 or not np.all(np.isfinite(y)):
        msg = f"`y` must be a non-empty array of finite values; got {n} values."
        raise FitError(msg)
    cols, _ = _columns(data, [v.name for v in variables], n)
    return variables, params, cols, y, _weights(sigma, n)


def _failed(params: Sequence[sympy.Symbol], n: int, reason: str) -> FitResult:
    """A failed fit: NaN values, undetermined covariance, `reason` as its message."""
    k = len(params)
    nan = {p.name: float("nan") for p in params}
    return FitResult(
        nan, dict(nan), np.full((k, k), np.inf), float("inf"), n, False, reason
    )


def _fit(
    expr: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    params: Sequence[sympy.Symbol],
    cols: Sequence[Array],
    y: Array,
    w: Array | None,
    settings: _Settings,
) -> FitResult:
    """`fit_parameters` on validated arguments."""
    n = y.size
    k = len(params)
    func = compile_expression(expr, [*variables, *params])
    if k == 0:
        return _evaluated(func, cols, y)
    if n < k:
        return _failed(params, n, f"{n} points for {k} parameters")

    grad_funcs = [
        compile_expression(sympy.diff(expr, p), [*variables, *params]) for p in params
    ]
    linear = linear_parameters(expr, params)
    ry = float(np.sqrt(np.mean(y**2))) or 1.0
    scale = w if w is not None else np.full(n, ry)
    problem = Problem(func, grad_funcs, linear, cols, y, scale)

    given = dict(settings.initial or {})
    x0 = np.array([float(given.get(p.name, 1.0)) for p in params])
    starts = (
        [x0]
        if len(linear) == k
        else random_starts(k, settings.n_starts, x0, settings.seed)
    )
    best, failure = search(problem, starts, settings.seed, settings.deadline)
    if best is None:
        return _failed(params, n, failure or "no start converged")
    _, theta, message, converged = best
    fit = _at_optimum(problem, params, theta, w, str(message), converged)
    return _with_bootstrap(fit, problem, params, theta, settings)


def _evaluated(func: Compiled, cols: Sequence[Array], y: Array) -> FitResult:
    """The result for a law without parameters: its predictions, evaluated."""
    n = y.size
    pred = evaluate_compiled(func, cols, n)
    ok = bool(np.all(np.isfinite(pred)))
    rss = float(np.sum((y - pred) ** 2)) if ok else float("inf")
    message = "no parameters; evaluated" if ok else "prediction not finite"
    return FitResult({}, {}, np.zeros((0, 0)), rss, n, ok, message)


def _at_optimum(
    problem: Problem,
    params: Sequence[sympy.Symbol],
    theta: Array,
    w: Array | None,
    message: str,
    converged: bool,
) -> FitResult:
    """The result at the optimizer's `theta`: residual sum, covariance and message."""
    n, k, y = problem.n, problem.k, problem.y
    pred = problem.predictions(theta)
    finite = bool(np.all(np.isfinite(pred)))
    rss = float(np.sum((y - pred) ** 2)) if finite else float("inf")
    unit_w = w if w is not None else np.ones(n)
    jac = problem.gradients(theta) / unit_w[:, None]
    s2 = 1.0 if w is not None else (rss / (n - k) if n > k else float("nan"))
    cov, cov_note = covariance(jac, s2)
    stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    parts = [message] + (
        []
        if finite
        else [f"prediction not finite at {int(np.sum(~np.isfinite(pred)))} points"]
    )
    parts += [cov_note] if cov_note else []
    return FitResult(
        values={p.name: float(v) for p, v in zip(params, theta, strict=True)},
        stderr={p.name: float(s) for p, s in zip(params, stderr, strict=True)},
        covariance=cov,
        rss=rss,
        n=n,
        success=bool(converged and finite),
        message="; ".join(parts),
    )


def _with_bootstrap(
    fit: FitResult,
    problem: Problem,
    params: Sequence[sympy.Symbol],
    theta: Array,
    settings: _Settings,
) -> FitResult:
    """`fit` with the bootstrap intervals asked for, and a note on them in its message."""
    if not settings.bootstrap:
        return fit
    if not fit.success:
        note = "bootstrap skipped (the fit did not succeed)"
        return replace(fit, message=f"{fit.message}; {note}")
    intervals, bootstrap_n, note = bootstrap_intervals(
        problem,
        theta,
        [p.name for p in params],
        settings.bootstrap,
        settings.confidence,
        settings.seed,
        settings.deadline,
    )
    return replace(
        fit,
        message=f"{fit.message}; {note}",
        intervals=intervals,
        bootstrap_n=bootstrap_n,
    )


def predict(
    expr: sympy.Expr, values: Mapping[str, float], data: Mapping[str, Array]
) -> Array:
    """Evaluate `expr` with parameter `values` on the data columns.

    Args:
        expr: The model.
        values: Parameter values by name (e.g. `FitResult.values`).
        data: Column per remaining variable name.

    Returns:
        Float array of predictions (NaN where the model is not defined).

    Raises:
        FitError: A variable of `expr` has no column, or columns differ in length.
    """
    variables, params = _split_symbols(
        expr,
        [
            s.name
            for s in expr.free_symbols
            if isinstance(s, sympy.Symbol) and s.name in values
        ],
        data,
    )
    cols, n = _columns(data, [v.name for v in variables], None)
    if not variables and data:
        n = np.asarray(next(iter(data.values()))).size
    try:
        bound = bind_parameters(expr, {p.name: values[p.name] for p in params})
    except ExpressionError:
        return np.full(n, np.nan)  # a constant beyond float64: defined nowhere
    return evaluate_compiled(compile_expression(bound, variables), cols, n)
