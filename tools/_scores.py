"""Goodness-of-fit scores and expression complexity."""

from __future__ import annotations

import math

import numpy as np
import sympy

__all__ = ["bic", "complexity", "r2", "rmse"]

_RSS_FLOOR = 1e-300  # keeps log(rss/n) finite for exact fits


def _pair(y: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as flat float arrays of one length."""
    a = np.asarray(y, dtype=float).ravel()
    b = np.broadcast_to(np.asarray(prediction, dtype=float), a.shape).ravel()
    return a, b


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot.

    Args:
        y: Observed values.
        prediction: Predicted values (broadcast to `y`).

    Returns:
        R^2; `-inf` when a prediction is not finite; 1.0 or 0.0 when `y`
        is constant (exact match or not).
    """
    a, b = _pair(y, prediction)
    if not np.all(np.isfinite(b)):
        return float("-inf")
    ss_res = float(np.sum((a - b) ** 2))
    ss_tot = float(np.sum((a - a.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def rmse(y: np.ndarray, prediction: np.ndarray) -> float:
    """Root-mean-square error.

    Args:
        y: Observed values.
        prediction: Predicted values (broadcast to `y`).

    Returns:
        The RMSE; `inf` when a prediction is not finite.
    """
    a, b = _pair(y, prediction)
    if not np.all(np.isfinite(b)):
        return float("inf")
    return float(np.sqrt(np.mean((a - b) ** 2)))


def bic(rss: float, n: int, k: int) -> float:
    """Gaussian Bayesian information criterion n*log(rss/n) + k*log(n).

    Args:
        rss: Residual sum of squares (floored at 1e-300 so exact fits stay finite).
        n: Number of data points (at least 1).
        k: Number of fitted parameters.

    Returns:
        The BIC (lower is better); `inf` for a non-finite `rss`.

    Raises:
        ValueError: `n` < 1 or `k` < 0.
    """
    if n < 1 or k < 0:
        msg = f"`bic` needs n >= 1 and k >= 0; got n={n}, k={k}."
        raise ValueError(msg)
    if not math.isfinite(rss):
        return float("inf")
    return n * math.log(max(rss, _RSS_FLOOR) / n) + k * math.log(n)


def complexity(expr: sympy.Expr) -> int:
    """Number of nodes in the sympy expression tree (symbols and numbers count 1).

    Args:
        expr: The expression.

    Returns:
        The node count, e.g. 5 for ``a*x + b`` (Add, Mul, a, x, b) and 3
        for ``-x`` (Mul, -1, x).
    """
    return sum(1 for _ in sympy.preorder_traversal(expr))
