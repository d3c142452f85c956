"""Multi-start least squares: the scaled problem, its starts, and the optimizer runs."""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
from scipy.optimize import least_squares

from lawloop.tools._compiled import Array, Compiled, evaluate_compiled

__all__ = [
    "Best",
    "OutOfTimeError",
    "Problem",
    "check_time",
    "linear_parameters",
    "random_starts",
    "search",
]

_PENALTY = 1e8  # residual given to points where the model is not finite
_START_ROWS = 512  # rows on which the starts of a multi-start fit compete
# `least_squares` takes a callback that can stop it from SciPy 1.16 on; before
# that a deadline is checked between starts only.
_CALLBACK = "callback" in inspect.signature(least_squares).parameters


class OutOfTimeError(Exception):
    """The fit's deadline passed before it finished."""


def linear_parameters(expr: sympy.Expr, params: Sequence[sympy.Symbol]) -> list[int]:
    """Indices of parameters in which `expr` is jointly linear (greedy)."""
    kept: list[int] = []
    grads = {i: sympy.diff(expr, p) for i, p in enumerate(params)}
    for i, p in enumerate(params):
        if p in grads[i].free_symbols:
            continue
        if all(sympy.diff(grads[i], params[j]) == 0 for j in kept):
            kept.append(i)
    return kept


def random_starts(k: int, n_starts: int, initial: Array, seed: int) -> list[Array]:
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


class Problem:
    """The compiled model and its rows, with residuals scaled for the optimizer."""

    __slots__ = ("cols", "func", "grad_funcs", "k", "linear", "n", "scale", "y")

    def __init__(
        self,
        func: Compiled,
        grad_funcs: Sequence[Compiled],
        linear: Sequence[int],
        cols: Sequence[Array],
        y: Array,
        scale: Array,
    ) -> None:
        self.func = func
        self.grad_funcs = list(grad_funcs)
        self.linear = list(linear)
        self.cols = list(cols)
        self.y = y
        self.scale = scale
        self.n = y.size
        self.k = len(self.grad_funcs)

    def subset(self, rows: Array) -> Problem:
        """The same model on some of the rows."""
        return Problem(
            self.func,
            self.grad_funcs,
            self.linear,
            [c[rows] for c in self.cols],
            self.y[rows],
            self.scale[rows],
        )

    def predictions(self, theta: Array) -> Array:
        """Model values at the parameters `theta`."""
        return evaluate_compiled(self.func, [*self.cols, *theta], self.n)

    def gradients(self, theta: Array) -> Array:
        """Unscaled Jacobian of the model (n x k) at `theta`."""
        return np.column_stack(
            [
                evaluate_compiled(g, [*self.cols, *theta], self.n)
                for g in self.grad_funcs
            ]
        )

    def residuals(self, theta: Array) -> Array:
        """Scaled residuals; non-finite ones get the penalty."""
        r = (self.predictions(theta) - self.y) / self.scale
        return np.where(np.isfinite(r), r, _PENALTY)

    def jacobian(self, theta: Array) -> Array:
        """Scaled Jacobian; non-finite entries are zero."""
        jac = self.gradients(theta) / self.scale[:, None]
        return np.where(np.isfinite(jac), jac, 0.0)

    def project(self, theta: Array) -> Array:
        """Solve the linear parameters given the others."""
        if not self.linear:
            return theta
        base = theta.copy()
        base[self.linear] = 0.0
        cols = [*self.cols, *base]
        offset = evaluate_compiled(self.func, cols, self.n)
        design = (
            np.column_stack(
                [
                    evaluate_compiled(self.grad_funcs[i], cols, self.n)
                    for i in self.linear
                ]
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

Best = tuple[float, Array, str, bool]  # (cost, theta, optimizer message, converged)


def _stop_at(deadline: float | None) -> dict[str, Any]:
    """`least_squares` keywords that stop it once `time.monotonic()` passes `deadline`."""
    if deadline is None or not _CALLBACK:
        return {}

    def callback(intermediate_result: object) -> None:
        if time.monotonic() >= deadline:
            raise StopIteration

    return {"callback": callback}


def check_time(deadline: float | None) -> None:
    """Raise `OutOfTimeError` once `deadline` has passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise OutOfTimeError


def _solve(
    problem: Problem, starts: Sequence[Array], deadline: float | None = None
) -> tuple[Best | None, str]:
    """Least squares from each start; the lowest finite cost and the last failure.

    Raises:
        OutOfTimeError: `deadline` passed before the last start finished.
    """
    best: Best | None = None
    failure = ""
    for start in starts:
        check_time(deadline)
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
            raise OutOfTimeError
        cost = float(np.sum(sol.fun**2))
        if (
            np.isfinite(cost)
            and np.all(np.isfinite(sol.x))
            and (best is None or cost < best[0])
        ):
            best = (cost, sol.x, sol.message, sol.status > 0)
    return best, failure


def search(
    problem: Problem,
    starts: Sequence[Array],
    seed: int,
    deadline: float | None = None,
) -> tuple[Best | None, str]:
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
