"""Uncertainty of a fit: covariance from the Jacobian, and bootstrap percentile intervals."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from lawloop.tools._compiled import Array, evaluate_compiled
from lawloop.tools._least_squares import Problem, check_time
from lawloop.tools.errors import FitError

__all__ = ["bootstrap_intervals", "check_bootstrap", "covariance"]

_SINGULAR = 1e-12  # smallest singular value ratio for a determined covariance
_LM_MAX_ITER = 100  # bootstrap refits start at the optimum; a few steps suffice
_LM_TOL = 1e-10  # relative step or cost change at which a bootstrap refit stops
_BATCH_ELEMENTS = 2_000_000  # floats in one batch of bootstrap Jacobians


def covariance(jac: Array, s2: float) -> tuple[Array, str]:
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


def _refit_resamples(
    problem: Problem, theta: Array, rows: Array
) -> tuple[Array, Array]:
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

    def residuals(th: Array) -> tuple[Array, Array]:
        """Scaled residuals (b x n) and their sums of squares (inf if not finite)."""
        pred = evaluate_compiled(problem.func, [*cols, *th.T[:, :, None]], (b, n))
        r = (pred - y) / scale
        cost = np.sum(r**2, axis=1)
        return r, np.where(np.isfinite(cost), cost, np.inf)

    def jacobian(th: Array) -> Array:
        """Scaled Jacobian (b x n x k); non-finite entries are zero."""
        args = [*cols, *th.T[:, :, None]]
        jac = np.stack(
            [evaluate_compiled(g, args, (b, n)) for g in problem.grad_funcs], -1
        )
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


def bootstrap_intervals(
    problem: Problem,
    theta: Array,
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
    samples: list[Array] = []
    for start in range(0, resamples, batch):
        check_time(deadline)
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


def check_bootstrap(bootstrap: int, confidence: float) -> None:
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
