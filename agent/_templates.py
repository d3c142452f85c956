"""Common one-variable forms of physics, screened on a dimensionless group.

Once dimensional analysis has reduced a law to `q = f(z)` with one
dimensionless group `z`, the first guesses a physicist tries are a short
list: powers, exponentials and their Boltzmann, Bose and Fermi relatives,
relativistic square roots, saturation, oscillation. Each is fitted to the
reduced data (cheap: one variable, two or three constants) and the best few
become proposals in the original variables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.optimize import minimize_scalar

from tools import make_symbol, parse_expression

__all__ = ["ScreenedForm", "screen_forms"]


def _exp(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(np.clip(x, -700.0, 700.0)))


# (text in z with scale `a` and rate `b`, g(z, b) for a = 1, power of z the
# rate multiplies: the grid of `b` is laid out in units of 1/|z|**power).
FORMS: tuple[tuple[str, Callable[[np.ndarray, float], np.ndarray], int], ...] = (
    ("a*exp(b*z)", lambda z, b: _exp(b * z), 1),
    ("a/(exp(b*z) - 1)", lambda z, b: 1 / (_exp(b * z) - 1), 1),
    ("a/(exp(b*z) + 1)", lambda z, b: 1 / (_exp(b * z) + 1), 1),
    ("a*(1 - exp(b*z))", lambda z, b: 1 - _exp(b * z), 1),
    ("a/sqrt(1 + b*z**2)", lambda z, b: 1 / np.sqrt(1 + b * z**2), 2),
    ("a*sqrt(1 + b*z**2)", lambda z, b: np.sqrt(1 + b * z**2), 2),
    ("a/sqrt(1 + b*z)", lambda z, b: 1 / np.sqrt(1 + b * z), 1),
    ("a*sqrt(1 + b*z)", lambda z, b: np.sqrt(1 + b * z), 1),
    ("a/(1 + b*z)", lambda z, b: 1 / (1 + b * z), 1),
    ("a/(1 + b*z**2)", lambda z, b: 1 / (1 + b * z**2), 2),
    ("a*(1 + b*z)", lambda z, b: 1 + b * z, 1),
    ("a*(1 + b*z**2)", lambda z, b: 1 + b * z**2, 2),
    ("a*log(1 + b*z)", lambda z, b: np.log(1 + b * z), 1),
    ("a*sin(b*z)", lambda z, b: np.sin(b * z), 1),
    ("a*cos(b*z)", lambda z, b: np.cos(b * z), 1),
    ("a*sin(b*z)**2", lambda z, b: np.sin(b * z) ** 2, 1),
    ("a*tanh(b*z)", lambda z, b: np.tanh(b * z), 1),
)
"""Forms `g(z)` with scale `a` and rate `b`; each is tried times z**p."""

_POWERS = (0, 1, -1, 2, 3, -2)
_KEEP = 3
# Forms that miss by more than half the RMS of q explain nothing; the cut is
# loose so that forms on noisy data (10% noise) still rank.
_MAX_RELATIVE_RMSE = 0.5
_GRID = np.concatenate([-np.logspace(3, -3, 31), np.logspace(-3, 3, 31)])


@dataclass(frozen=True, slots=True)
class ScreenedForm:
    """A form that fitted the reduced data, with its constants."""

    expression: sympy.Expr
    """The form in `z` with parameters `a`, `b`."""
    values: dict[str, float]
    relative_rmse: float
    """RMS residual over the RMS of `q`."""
    form: str


def _best_scale(g: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """The least-squares `a` of `q ~ a*g` and its residual sum of squares."""
    gg = float(g @ g)
    if not (np.isfinite(gg) and gg > 0):
        return 0.0, math.inf
    a = float(g @ q) / gg
    rss = float(np.sum((q - a * g) ** 2))
    return a, rss if np.isfinite(rss) else math.inf


def _fit_form(
    fn: Callable[[np.ndarray, float], np.ndarray],
    power: int,
    p: int,
    z: np.ndarray,
    q: np.ndarray,
    unit: float,
) -> tuple[float, float, float]:
    """`(a, b, rss)` of `q ~ a * z**p * g(z, b)`: a grid over `b`, then a local refinement.

    `a` enters linearly and is solved exactly for each `b` (variable
    projection), so only the rate is searched.
    """
    zp = z**p if p else np.ones_like(z)

    def rss_at(b: float) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            g = zp * fn(z, b)
        if not np.all(np.isfinite(g)):
            return 0.0, math.inf
        return _best_scale(g, q)

    best = (0.0, 0.0, math.inf)
    for s in _GRID:
        b = float(np.float64(s) / np.float64(unit) ** power)  # inf, not an error
        a, rss = rss_at(b)
        if rss < best[2]:
            best = (a, b, rss)
    if not math.isfinite(best[2]):
        return best
    result = minimize_scalar(
        lambda lb: rss_at(best[1] * math.exp(lb))[1],
        bounds=(-0.5, 0.5),  # one grid step (0.46 in log b) each way
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 200},
    )
    b = best[1] * math.exp(float(result.x))
    a, rss = rss_at(b)
    return (a, b, rss) if rss < best[2] else best


def screen_forms(
    z: np.ndarray, q: np.ndarray, *, keep: int = _KEEP
) -> list[ScreenedForm]:
    """Fit each form `a * z**p * g(b*z)` to `(z, q)` and keep the best few.

    Args:
        z: The dimensionless group at each point.
        q: The dimensionless target at each point.
        keep: How many forms to return.

    Returns:
        The best-fitting forms, best first (relative RMSE below 50%).
    """
    ok = np.isfinite(z) & np.isfinite(q)
    z, q = z[ok], q[ok]
    if len(q) < 8:
        return []
    scale = float(np.sqrt(np.mean(q**2))) or 1.0
    # Rates are laid out so that b*z**power spans 1e-3..1e3 at the largest |z|:
    # a correction that matters only at the top of the range is still found.
    unit = float(np.max(np.abs(z))) or 1.0
    zsym = make_symbol("z")
    out: list[ScreenedForm] = []
    for form, fn, power in FORMS:
        base = parse_expression(form, ["z"], ["a", "b"])
        for p in _POWERS:
            if p < 0 and np.any(z == 0):
                continue
            with np.errstate(all="ignore"):  # overflowing rates are just bad fits
                a, b, rss = _fit_form(fn, power, p, z, q, unit)
            rel = math.sqrt(rss / len(q)) / scale
            if math.isfinite(rel) and rel < _MAX_RELATIVE_RMSE:
                expr = base * zsym**p if p else base
                text = f"z**{p}*{form}" if p else form
                out.append(ScreenedForm(expr, {"a": a, "b": b}, rel, text))
    out.sort(key=lambda f: f.relative_rmse)
    return _distinct(out)[:keep]


def _distinct(forms: Sequence[ScreenedForm]) -> list[ScreenedForm]:
    """Drop forms that fit exactly as well as a better-ranked one (the same curve)."""
    out: list[ScreenedForm] = []
    for f in forms:
        if any(abs(f.relative_rmse - g.relative_rmse) <= 1e-12 for g in out):
            continue
        out.append(f)
    return out
