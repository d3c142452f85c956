"""Common one-variable forms of physics, screened on a dimensionless group.

Once dimensional analysis has reduced a law to `q = f(z)` with one
dimensionless group `z`, the first guesses a physicist tries are a short
list: powers, exponentials and their Boltzmann, Bose and Fermi relatives,
relativistic square roots, saturation, oscillation. Each is fitted to the
reduced data (cheap: one variable, two or three constants) and the best few
become proposals in the original variables.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from scipy.optimize import minimize_scalar

from lawloop.agent._clock import Gate
from lawloop.tools import make_symbol, parse_expression

__all__ = ["ScreenedForm", "screen_forms"]


def _exp(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(np.clip(x, -700.0, 700.0)))


# (text in z with scale `a` and rate `b`, g(z, b) for a = 1, power of z the
# rate multiplies: the grid of `b` is laid out in units of 1/|z|**power).
# `b` is a number, or a column of rates that broadcasts against `z`.
FORMS: tuple[tuple[str, Callable[[np.ndarray, Any], np.ndarray], int], ...] = (
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
# Reduced targets with squares safely inside float64 are screened as they are.
_SAFE_MIN, _SAFE_MAX = 1e-100, 1e100


@dataclass(frozen=True, slots=True)
class ScreenedForm:
    """A form that fitted the reduced data, with its constants."""

    expression: sympy.Expr
    """The form in `z` with parameters `a`, `b`."""
    values: dict[str, float]
    relative_rmse: float
    """RMS residual over the RMS of `q`."""
    form: str


@functools.cache
def _parsed(form: str) -> sympy.Expr:
    """A form as an expression in `z`, `a`, `b` (parsed once: screens run every iteration)."""
    return parse_expression(form, ["z"], ["a", "b"])


def _best_scale(g: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """The least-squares `a` of `q ~ a*g` and its residual sum of squares.

    Called thousands of times a screen, so lean: a non-finite entry of `g`
    makes `g @ g` non-finite, which is the one check needed.
    """
    gg = float(g @ g)
    if not (math.isfinite(gg) and gg > 0):
        return 0.0, math.inf
    a = float(g @ q) / gg
    r = q - a * g
    rss = float(r @ r)
    return a, rss if math.isfinite(rss) else math.inf


def _fit_form(
    fn: Callable[[np.ndarray, Any], np.ndarray],
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
            return _best_scale(zp * fn(z, b), q)

    # The grid at once, as one array operation over (rates x points): a call
    # per rate costs more in Python than the arithmetic.
    rates = _GRID / np.float64(unit) ** power  # inf, not an error
    with np.errstate(all="ignore"):
        g = zp * fn(z, rates[:, None])
        gg = np.einsum("ij,ij->i", g, g)
        usable = np.all(np.isfinite(g), axis=1) & np.isfinite(gg) & (gg > 0)
        rss_grid = np.full(rates.shape, math.inf)
        if np.any(usable):
            gu = g[usable]
            a_grid = (gu @ q) / gg[usable]
            rss_grid[usable] = np.sum((q - a_grid[:, None] * gu) ** 2, axis=1)
    rss_grid = np.where(np.isfinite(rss_grid), rss_grid, math.inf)
    if not np.isfinite(rss_grid).any():
        return (0.0, 0.0, math.inf)
    b0 = float(rates[int(np.argmin(rss_grid))])
    a0, rss0 = rss_at(b0)  # the exact value at the best rate, as a single fit has it
    best = (a0, b0, rss0)
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
    z: np.ndarray, q: np.ndarray, *, keep: int = _KEEP, gate: Gate | None = None
) -> list[ScreenedForm]:
    """Fit each form `a * z**p * g(b*z)` to `(z, q)` and keep the best few.

    Args:
        z: The dimensionless group at each point.
        q: The dimensionless target at each point.
        keep: How many forms to return.
        gate: Asked before each form is fitted (one unit of work); once it
            closes (the time limit), the forms fitted so far are ranked.

    Returns:
        The best-fitting forms, best first (relative RMSE below 50%).
    """
    ok = np.isfinite(z) & np.isfinite(q)
    z, q = z[ok], q[ok]
    if len(q) < 8:
        return []
    # A reduced target far from 1 (1e200 where a group holds a large constant)
    # would overflow its squares: screen it in units of its largest value.
    top = float(np.max(np.abs(q)))
    unit_q = top if top > 0 and not _SAFE_MIN < top < _SAFE_MAX else 1.0
    q = q / unit_q if unit_q != 1.0 else q
    scale = float(np.sqrt(np.mean(q**2))) or 1.0
    # Rates are laid out so that b*z**power spans 1e-3..1e3 at the largest |z|:
    # a correction that matters only at the top of the range is still found.
    unit = float(np.max(np.abs(z))) or 1.0
    zsym = make_symbol("z")
    out: list[ScreenedForm] = []
    for form, fn, power in FORMS:
        base = _parsed(form)
        for p in _POWERS:
            if p < 0 and np.any(z == 0):
                continue
            if gate is not None and not gate.allow():
                break
            with np.errstate(all="ignore"):  # overflowing rates are just bad fits
                a, b, rss = _fit_form(fn, power, p, z, q, unit)
            rel = math.sqrt(rss / len(q)) / scale
            if math.isfinite(rel) and rel < _MAX_RELATIVE_RMSE:
                expr = base * zsym**p if p else base
                text = f"z**{p}*{form}" if p else form
                out.append(ScreenedForm(expr, {"a": a * unit_q, "b": b}, rel, text))
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
