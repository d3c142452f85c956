"""Least-squares fitting of the free constants of a sympy expression."""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy
from lawloop.tools._bounds import bind_parameters
from lawloop.tools._parse import machine_numbers
from lawloop.tools.errors import ExpressionError, FitError
from scipy.optimize import least_squares

__all__ = ["FitResult", "fit_parameters", "predict"]

_PENALTY = 1e8  # residual given to points where the model is not finite
_SINGULAR = 1e-12  # smallest singular value ratio for a determined covariance
_LM_MAX_ITER = 100  # bootstrap refits start at the optimum; a few steps suffice
_LM_TOL = 1e-10  # relative step or cost change at which a bootstrap refit stops
_BATCH_ELEMENTS = 2_000_000  # floats in one batch of bootstrap Jacobians
_START_ROWS = 512  # rows on which the starts of a multi-start fit compete
_Array = np.ndarray
_Compiled = Callable[..., object]
# `least_squares` takes a callback that can stop it from SciPy 1.16 on; before
# that a deadline is checked between starts only.
_CALLBACK = "callback" in inspect.signature(least_squares).parameters


class _OutOfTime(Exception):
    """The fit's deadline passed before it finished."""


@dataclass(frozen=True, slots=True)
class FitResult:
    """Outcome of `fit_parameters`: values, uncertainties and quality.

    A failed fit is data: `success` is False and `message` says why; the
    values are those of the best start found (possibly non-finite).

    Example:
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
    covariance: _Array = field(repr=False)
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


def _compile(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> _Compiled:
    """Lambdify with numpy, arguments renamed by position so any symbol name is safe."""
    return _compile_cached(expr, tuple(symbols))


# Lambdify is most of the cost of a fit started near its optimum, and the loop
# refits the same laws every iteration; compiled functions are pure, so reuse them.
@functools.lru_cache(maxsize=512)
def _compile_cached(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> _Compiled:
    """`_compile`, remembered by expression and argument symbols.

    Not `dummify=True`: the printer orders a product's factors by their
    symbols' names, and a Dummy's name carries a process-wide counter, so the
    same law compiled after a different history multiplied in another order
    and differed in the last bits (a resumed campaign then recorded another
    covariance than an uninterrupted one). Positional names keep the order
    fixed; the assumptions are kept so nothing re-simplifies differently.
    """
    renamed = [
        sympy.Symbol(f"_lawloop_arg{i}", **s.assumptions0)
        for i, s in enumerate(symbols)
    ]
    body = machine_numbers(expr).xreplace(dict(zip(symbols, renamed, strict=True)))
    func: _Compiled = sympy.lambdify(renamed, body, modules="numpy")
    return func


def _evaluate(
    func: _Compiled, args: Sequence[object], n: int | tuple[int, ...]
) -> _Array:
    """Evaluate a compiled expression, broadcast to `n` (a length or shape) floats."""
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(func(*args))
            if np.iscomplexobj(out):
                out = np.where(np.abs(out.imag) > 0, np.nan, out.real)
            return np.broadcast_to(out.astype(float), n).copy()
        except (
            ValueError,
            TypeError,
            ZeroDivisionError,
            OverflowError,
            ArithmeticError,
        ):
            return np.full(n, np.nan)


def _columns(
    data: Mapping[str, object], names: Sequence[str], n: int | None
) -> tuple[list[_Array], int]:
    """Take the data columns named, as float arrays of one common length."""
    cols: list[_Array] = []
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


def _weights(sigma: _Array | float | None, n: int) -> _Array | None:
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


def _linear_parameters(expr: sympy.Expr, params: Sequence[sympy.Symbol]) -> list[int]:
    """Indices of parameters in which `expr` is jointly linear (greedy)."""
    kept: list[int] = []
    grads = {i: sympy.diff(expr, p) for i, p in enumerate(params)}
    for i, p in enumerate(params):
        if p in grads[i].free_symbols:
            continue
        if all(sympy.diff(grads[i], params[j]) == 0 for j in kept):
            kept.append(i)
    return kept


def _starts(k: int, n_starts: int, initial: _Array, seed: int) -> list[_Array]:
    """Given start, then log-uniform magnitudes with random signs (seeded)."""
    rng = np.random.default_rng(seed)
    starts = [initial]
    for i in range(1, max(n_starts, 1)):
        # First half near unit scale, second half over twenty decades.
        span = 3.0 if i <= n_starts // 2 else 10.0
        magnitude = 10.0 ** rng.uniform(-span, span, size=k)
        sign = rng.choice(np.array([-1.0, 1.0]), size=k)
        starts.append(magnitude * sign)
    return starts


def _covariance(jac: _Array, s2: float) -> tuple[_Array, str]:
    """Covariance s2*(J^T J)^-1 with column scaling; inf when singular."""
    k = jac.shape[1]
    norms = np.linalg.norm(jac, axis=0)
    if not np.all(np.isfinite(jac)) or np.any(norms == 0) or not np.isfinite(s2):
        return np.full(
            (k, k), np.inf
        ), "covariance undetermined (Jacobian not finite or a column is zero)"
    _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    if sv[-1] <= _SINGULAR * sv[0]:
        return np.full(
            (k, k), np.inf
        ), "covariance undetermined (Jacobian rank-deficient)"
    inner = (vt.T / sv**2) @ vt
    return s2 * inner / np.outer(norms, norms), ""


class _Problem:
    """The compiled model and its rows, with residuals scaled for the optimizer."""

    __slots__ = ("cols", "func", "grad_funcs", "k", "linear", "n", "scale", "y")

    def __init__(
        self,
        func: _Compiled,
        grad_funcs: Sequence[_Compiled],
        linear: Sequence[int],
        cols: Sequence[_Array],
        y: _Array,
        scale: _Array,
    ) -> None:
        self.func = func
        self.grad_funcs = list(grad_funcs)
        self.linear = list(linear)
        self.cols = list(cols)
        self.y = y
        self.scale = scale
        self.n = y.size
        self.k = len(self.grad_funcs)

    def subset(self, rows: _Array) -> _Problem:
        """The same model on some of the rows."""
        return _Problem(
            self.func,
            self.grad_funcs,
            self.linear,
            [c[rows] for c in self.cols],
            self.y[rows],
            self.scale[rows],
        )

    def predictions(self, theta: _Array) -> _Array:
        """Model values at the parameters `theta`."""
        return _evaluate(self.func, [*self.cols, *theta], self.n)

    def gradients(self, theta: _Array) -> _Array:
        """Unscaled Jacobian of the model (n x k) at `theta`."""
        return np.column_stack(
            [_evaluate(g, [*self.cols, *theta], self.n) for g in self.grad_funcs]
        )

    def residuals(self, theta: _Array) -> _Array:
        """Scaled residuals; non-finite ones get the penalty."""
        r = (self.predictions(theta) - self.y) / self.scale
        return np.where(np.isfinite(r), r, _PENALTY)

    def jacobian(self, theta: _Array) -> _Array:
        """Scaled Jacobian; non-finite entries are zero."""
        jac = self.gradients(theta) / self.scale[:, None]
        return np.where(np.isfinite(jac), jac, 0.0)

    def project(self, theta: _Array) -> _Array:
        """Solve the linear parameters given the others."""
        if not self.linear:
            return theta
        base = theta.copy()
        base[self.linear] = 0.0
        cols = [*self.cols, *base]
        offset = _evaluate(self.func, cols, self.n)
        design = (
            np.column_stack(
                [_evaluate(self.grad_funcs[i], cols, self.n) for i in self.linear]
            )
            / self.scale[:, None]
        )
        rhs = (self.y - offset) / self.scale
        if not (np.all(np.isfinite(design)) and np.all(np.isfinite(rhs))):
            return theta
        norms = np.linalg.norm(design, axis=0)
        norms[norms == 0] = 1.0
        solution = np.linalg.lstsq(design / norms, rhs, rcond=None)[0] / norms
        out = theta.copy()
        out[self.linear] = solution
        return out


# A well-posed start converges in a few dozen evaluations per constant; the
# starts that need hundreds are symbolic regression's long expressions, which
# fail to converge anyway. 200 spent 60 % of a noisy campaign's time on them
# (I.12.1, noise 0.01: 15 s of each 17 s iteration), so it measured 4 times
# fewer points than 50 allows in the same minute.
_EVALS_PER_PARAMETER = 50

_Best = tuple[float, _Array, str, bool]  # (cost, theta, optimizer message, converged)


def _stop_at(deadline: float | None) -> dict[str, Any]:
    """`least_squares` keywords that stop it once `time.monotonic()` passes `deadline`."""
    if deadline is None or not _CALLBACK:
        return {}

    def callback(intermediate_result: object) -> None:
        if time.monotonic() >= deadline:
            raise StopIteration

    return {"callback": callback}


def _check_time(deadline: float | None) -> None:
    """Raise `_OutOfTime` once `deadline` has passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise _OutOfTime


def _solve(
    problem: _Problem, starts: Sequence[_Array], deadline: float | None = None
) -> tuple[_Best | None, str]:
    """Least squares from each start; the lowest finite cost and the last failure.

    Raises:
        _OutOfTime: `deadline` passed before the last start finished.
    """
    best: _Best | None = None
    failure = ""
    for start in starts:
        _check_time(deadline)
        try:
            # Overflow at wild starts is expected; the penalty handles it.
            with np.errstate(all="ignore"):
                theta0 = problem.project(start)
                sol = least_squares(
                    problem.residuals,
                    theta0,
                    jac=problem.jacobian,
                    method="trf",
                    x_scale="jac",
                    ftol=1e-12,
                    xtol=1e-12,
                    gtol=1e-12,
                    max_nfev=_EVALS_PER_PARAMETER * (problem.k + 1),
                    **_stop_at(deadline),
                )
        except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
            failure = f"start failed: {exc}"
            continue
        if sol.status == -2:  # the callback stopped it: out of time
            raise _OutOfTime
        cost = float(np.sum(sol.fun**2))
        if (
            np.isfinite(cost)
            and np.all(np.isfinite(sol.x))
            and (best is None or cost < best[0])
        ):
            best = (cost, sol.x, sol.message, sol.status > 0)
    return best, failure


def _search(
    problem: _Problem,
    starts: Sequence[_Array],
    seed: int,
    deadline: float | None = None,
) -> tuple[_Best | None, str]:
    """Multi-start least squares: the starts compete on a sample of rows, the winner is polished on all.

    Each start costs up to hundreds of evaluations of the model and its
    Jacobian, so with thousands of rows (a noisy campaign measures many)
    eight starts on every row cost minutes; a few hundred rows tell a good
    start from a poor one as well. The sample is drawn from `seed`, so the
    fit stays deterministic.
    """
    if len(starts) <= 1 or problem.n <= _START_ROWS:
        return _solve(problem, starts, deadline)
    rng = np.random.default_rng([seed, 1])
    rows = np.sort(rng.choice(problem.n, size=_START_ROWS, replace=False))
    best, failure = _solve(problem.subset(rows), starts, deadline)
    if best is None:
        return best, failure
    polished, failure = _solve(problem, [best[1]], deadline)
    return polished, failure


def _refit_resamples(
    problem: _Problem, theta: _Array, rows: _Array
) -> tuple[_Array, _Array]:
    """Levenberg-Marquardt refits of many resamples at once, from `theta`.

    Each row of `rows` (b x n indices) is one resample; all are iterated
    together with array operations, each with its own damping, because a
    scipy call per resample costs more than the whole batch. Returns the
    (b x k) estimates and which of them converged.
    """
    b, n = rows.shape
    cols = [col[rows] for col in problem.cols]
    y = problem.y[rows]
    scale = problem.scale[rows]

    def residuals(th: _Array) -> tuple[_Array, _Array]:
        """Scaled residuals (b x n) and their sums of squares (inf if not finite)."""
        pred = _evaluate(problem.func, [*cols, *th.T[:, :, None]], (b, n))
        r = (pred - y) / scale
        cost = np.sum(r**2, axis=1)
        return r, np.where(np.isfinite(cost), cost, np.inf)

    def jacobian(th: _Array) -> _Array:
        """Scaled Jacobian (b x n x k); non-finite entries are zero."""
        args = [*cols, *th.T[:, :, None]]
        jac = np.stack([_evaluate(g, args, (b, n)) for g in problem.grad_funcs], -1)
        jac /= scale[:, :, None]
        return np.where(np.isfinite(jac), jac, 0.0)

    th = np.tile(theta, (b, 1))
    r, cost = residuals(th)
    damping = np.full(b, 1e-3)
    done = np.zeros(b, dtype=bool)
    live = np.isfinite(cost)
    eye = np.eye(problem.k)
    for _ in range(_LM_MAX_ITER):
        if not np.any(live & ~done):
            break
        jac = jacobian(th)
        # Columns scaled to unit norm, as `x_scale="jac"` does for the full fit.
        norms = np.sqrt(np.sum(jac**2, axis=1))
        norms[norms == 0] = 1.0
        jac /= norms[:, None, :]
        jac_t = jac.transpose(0, 2, 1)
        normal = jac_t @ jac + damping[:, None, None] * eye
        scaled_step = -np.linalg.solve(normal, jac_t @ r[:, :, None])[:, :, 0]
        trial = th + scaled_step / norms
        r_trial, cost_trial = residuals(trial)
        active = live & ~done
        better = active & (cost_trial < cost)
        small_step = np.linalg.norm(scaled_step, axis=1) <= _LM_TOL * (
            np.linalg.norm(th * norms, axis=1) + _LM_TOL
        )
        small_gain = cost - cost_trial <= _LM_TOL * cost
        th[better] = trial[better]
        r[better] = r_trial[better]
        cost[better] = cost_trial[better]
        done |= active & (small_step | (better & small_gain))
        damping = np.where(better, np.maximum(damping / 10.0, 1e-12), damping * 10.0)
        # A step no damping can make smaller than the cost: stuck, not converged.
        live &= damping < 1e12
    return th, live & done


def _bootstrap(
    problem: _Problem,
    theta: _Array,
    names: Sequence[str],
    resamples: int,
    confidence: float,
    seed: int,
    deadline: float | None = None,
) -> tuple[dict[str, tuple[float, float]], int, str]:
    """Percentile intervals from refits on rows drawn with replacement.

    Returns the intervals (empty when fewer than half of the resamples
    converged), the number that converged and a note for the message.
    """
    # A stream of its own, so asking for intervals leaves the starts unchanged.
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    # Batches small enough that the b x n x k Jacobian stays a few megabytes.
    batch = max(1, _BATCH_ELEMENTS // (problem.n * (problem.k + 1)))
    samples: list[_Array] = []
    for start in range(0, resamples, batch):
        _check_time(deadline)
        rows = rng.integers(
            0, problem.n, size=(min(batch, resamples - start), problem.n)
        )
        try:
            with np.errstate(all="ignore"):
                estimates, ok = _refit_resamples(problem, theta, rows)
        except np.linalg.LinAlgError:
            continue  # the batch counts as failed resamples
        samples.extend(estimates[ok])
    converged = len(samples)
    if 2 * converged < resamples:
        note = (
            f"bootstrap: only {converged} of {resamples} resamples converged "
            "(fewer than half); no intervals"
        )
        return {}, converged, note
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(np.array(samples), [tail, 1.0 - tail], axis=0)
    intervals = {
        name: (float(lo), float(hi))
        for name, lo, hi in zip(names, low, high, strict=True)
    }
    note = f"bootstrap: {converged} of {resamples} resamples converged"
    return intervals, converged, note


def _check_bootstrap(bootstrap: int, confidence: float) -> None:
    """Refuse a negative resample count or a confidence outside (0, 1)."""
    if (
        isinstance(bootstrap, bool)
        or not isinstance(bootstrap, numbers.Integral)
        or bootstrap < 0
    ):
        msg = f"`bootstrap` must be a non-negative integer (0 turns it off); got {bootstrap!r}."
        raise FitError(msg)
    if not (isinstance(confidence, numbers.Real) and 0.0 < confidence < 1.0):
        msg = f"`confidence` must be a number strictly between 0 and 1, e.g. 0.95; got {confidence!r}."
        raise FitError(msg)


def fit_parameters(
    expr: sympy.Expr,
    parameters: Sequence[str],
    data: Mapping[str, _Array],
    y: _Array,
    *,
    sigma: _Array | float | None = None,
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
    _check_bootstrap(bootstrap, confidence)
    variables, params = _split_symbols(expr, parameters, data)
    y = np.asarray(y, dtype=float).ravel()
    n = y.size
    if n == 0 or not np.all(np.isfinite(y)):
        msg = f"`y` must be a non-empty array of finite values; got {n} values."
        raise FitError(msg)
    cols, _ = _columns(data, [v.name for v in variables], n)
    w = _weights(sigma, n)
    try:
        # Overflow is expected where a law leaves float64; the result says so.
        with np.errstate(all="ignore"):
            return _fit(
                expr,
                variables,
                params,
                cols,
                y,
                w,
                seed=seed,
                n_starts=n_starts,
                initial=initial,
                bootstrap=bootstrap,
                confidence=confidence,
                deadline=deadline,
            )
    except _OutOfTime:
        return replace(
            _failed(params, n, "stopped at its deadline before it finished"),
            timed_out=True,
        )
    except Exception as exc:  # the fit executor: whatever a law does to it is data
        return _failed(params, n, f"fit failed: {type(exc).__name__}: {exc}"[:1500])


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
    cols: Sequence[_Array],
    y: _Array,
    w: _Array | None,
    *,
    seed: int,
    n_starts: int,
    initial: Mapping[str, float] | None,
    bootstrap: int,
    confidence: float,
    deadline: float | None = None,
) -> FitResult:
    """`fit_parameters` on validated arguments."""
    n = y.size
    k = len(params)
    func = _compile(expr, [*variables, *params])
    if k == 0:
        pred = _evaluate(func, cols, n)
        ok = bool(np.all(np.isfinite(pred)))
        rss = float(np.sum((y - pred) ** 2)) if ok else float("inf")
        message = "no parameters; evaluated" if ok else "prediction not finite"
        return FitResult({}, {}, np.zeros((0, 0)), rss, n, ok, message)
    if n < k:
        return _failed(params, n, f"{n} points for {k} parameters")

    grad_funcs = [_compile(sympy.diff(expr, p), [*variables, *params]) for p in params]
    linear = _linear_parameters(expr, params)
    ry = float(np.sqrt(np.mean(y**2))) or 1.0
    scale = w if w is not None else np.full(n, ry)
    problem = _Problem(func, grad_funcs, linear, cols, y, scale)

    given = dict(initial or {})
    x0 = np.array([float(given.get(p.name, 1.0)) for p in params])
    starts = [x0] if len(linear) == k else _starts(k, n_starts, x0, seed)
    best, failure = _search(problem, starts, seed, deadline)
    if best is None:
        return _failed(params, n, failure or "no start converged")

    _, theta, message, converged = best
    pred = problem.predictions(theta)
    finite = bool(np.all(np.isfinite(pred)))
    rss = float(np.sum((y - pred) ** 2)) if finite else float("inf")
    unit_w = w if w is not None else np.ones(n)
    jac = problem.gradients(theta) / unit_w[:, None]
    s2 = 1.0 if w is not None else (rss / (n - k) if n > k else float("nan"))
    cov, cov_note = _covariance(jac, s2)
    stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    parts = [str(message)] + (
        []
        if finite
        else [f"prediction not finite at {int(np.sum(~np.isfinite(pred)))} points"]
    )
    parts += [cov_note] if cov_note else []
    success = bool(converged and finite)
    intervals: dict[str, tuple[float, float]] = {}
    bootstrap_n = 0
    if bootstrap and success:
        intervals, bootstrap_n, note = _bootstrap(
            problem,
            theta,
            [p.name for p in params],
            bootstrap,
            confidence,
            seed,
            deadline,
        )
        parts.append(note)
    elif bootstrap:
        parts.append("bootstrap skipped (the fit did not succeed)")
    return FitResult(
        values={p.name: float(v) for p, v in zip(params, theta, strict=True)},
        stderr={p.name: float(s) for p, s in zip(params, stderr, strict=True)},
        covariance=cov,
        rss=rss,
        n=n,
        success=success,
        message="; ".join(parts),
        intervals=intervals,
        bootstrap_n=bootstrap_n,
    )


def predict(
    expr: sympy.Expr, values: Mapping[str, float], data: Mapping[str, _Array]
) -> _Array:
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
    return _evaluate(_compile(bound, variables), cols, n)
