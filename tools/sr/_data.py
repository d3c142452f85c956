"""Input checks and power-of-ten scaling shared by the engines."""

from __future__ import annotations

import keyword
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._errors import SRError

__all__ = ["Scaling", "check_inputs", "scale_data"]

RESERVED_NAMES = frozenset({"sqrt", "exp", "log", "sin", "cos", "tan", "abs"})
"""Names a variable may not take: the functions that appear in expressions.

Names such as `E` or `I` are allowed; the caller parses expressions with its
own symbol table, so they never mean sympy's constants there."""


@dataclass(frozen=True, slots=True)
class Scaling:
    """Powers of ten that bring each input column and the target near 1."""

    x: tuple[float, ...]
    """Scale of each column of `X`; the engine sees `X / x`."""
    y: float
    """Scale of the target; the engine sees `y / y`."""

    def variable_texts(self, names: Sequence[str]) -> list[str]:
        """Return the text that stands for each scaled variable in a formula."""
        return [
            n if s == 1.0 else f"({n}/{_number(s)})"
            for n, s in zip(names, self.x, strict=True)
        ]

    def unscale_expression(self, text: str) -> str:
        """Wrap an expression found on scaled data so it is in original units."""
        return text if self.y == 1.0 else f"{_number(self.y)}*({text})"


def check_inputs(
    X: np.ndarray, y: np.ndarray, variable_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validate one search's data in one pass and return float64 copies.

    Args:
        X: Inputs, shape `(n_samples, n_variables)` (a 1-D array is one column).
        y: Target, shape `(n_samples,)`.
        variable_names: One identifier per column of `X`.

    Returns:
        `(X, y, names)` as a 2-D float64 array, a 1-D float64 array and a list.

    Raises:
        SRError: Shapes disagree, values are not finite, or a name is unusable.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    names = list(variable_names)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        msg = (
            f"Expected `X` of shape (n, k) and `y` of shape (n,), got {X.shape} and "
            f"{y.shape}. Pass one row per sample."
        )
        raise SRError(msg)
    if X.shape[0] < 2:
        msg = f"Need at least 2 samples to search, got {X.shape[0]}."
        raise SRError(msg)
    if len(names) != X.shape[1]:
        msg = (
            f"`variable_names` has {len(names)} names but `X` has {X.shape[1]} columns; "
            "give one name per column."
        )
        raise SRError(msg)
    bad = [
        n
        for n in names
        if not n.isidentifier() or keyword.iskeyword(n) or n in RESERVED_NAMES
    ]
    if bad or len(set(names)) != len(names):
        msg = (
            f"`variable_names` must be distinct identifiers and not one of "
            f"{sorted(RESERVED_NAMES)}; got {names!r}."
        )
        raise SRError(msg)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        msg = "`X` and `y` must be finite; drop the rows with NaN or inf first."
        raise SRError(msg)
    return X, y, names


def scale_data(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, Scaling]:
    """Divide every column of `X` and `y` by the power of ten nearest its RMS.

    Physics data span many orders of magnitude (charges near 1e-19, forces
    near 1e-12); the engines' constant search and numerical tolerances assume
    values near 1. Powers of ten keep the mapping back exact in decimal text.

    Args:
        X: Validated inputs.
        y: Validated target.

    Returns:
        The scaled `X`, the scaled `y` and the `Scaling` used.
    """
    x_scales = tuple(_power_of_ten(col) for col in X.T)
    y_scale = _power_of_ten(y)
    return X / np.asarray(x_scales), y / y_scale, Scaling(x_scales, y_scale)


def _power_of_ten(values: np.ndarray) -> float:
    """Return 10**round(log10(rms)), or 1 for an all-zero column."""
    rms = float(np.sqrt(np.mean(np.square(values))))
    if rms == 0.0 or not math.isfinite(rms):
        return 1.0
    exponent = round(math.log10(rms))
    # Within two decades of 1 the data are fine as they are, and leaving them
    # alone keeps the common case's formulas free of scale factors.
    return 1.0 if abs(exponent) <= 2 else 10.0**exponent


def _number(value: float) -> str:
    """Format a scale factor as decimal text sympy reads back exactly."""
    return repr(float(value))
