"""Closed forms for fitted constants, only where the uncertainty makes the claim worth more than chance.

A fitted 6.2899 ± 0.0005 is not 2*pi (14 standard errors away), and a
fitted 1.013 ± 0.01 is not 10/pi**2: 1 lies in the same interval, and so
would several other "simple" constants. `closed_form` replaces a constant
by a closed form only when exactly one candidate lies within the constant's
95 % interval *and* so narrow an interval would rarely hold a candidate by
chance (a look-elsewhere count over the candidates near the value);
otherwise the constant is reported as fitted, with its interval, and the
verdict says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from lawloop.tools._snap import (
    BASES,
    MAX_COST,
    MAX_DENOMINATOR,
    MAX_NUMERATOR,
    base_cost,
)

__all__ = ["ClosedForm", "closed_form"]

_Z95 = 1.959963984540054
"""Two-sided 95 % point of the standard normal."""

_NEIGHBOURHOOD = 2.0
"""Candidates within a factor of this of the value set the chance density."""

_WIDEST = 0.25
"""Relative half-width beyond which no closed form is claimed (nor enumerated)."""


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """The verdict on one fitted constant: its closed form, if any, and why.

    Example:
        >>> verdict = closed_form(6.28319, 2e-5)
        >>> verdict.expr, verdict.candidates
        (2*pi, ('2*pi',))
    """

    value: float
    """The fitted value."""
    stderr: float
    """Its standard error."""
    expr: sympy.Expr | None
    """The closed form that replaces it; None: report the fitted value."""
    candidates: tuple[str, ...]
    """Every simple constant within the 95 % interval, simplest first."""
    chance: float
    """Expected number of simple constants an interval this wide holds by chance."""
    reason: str
    """One sentence for people."""

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % interval of the fitted value."""
        half = _Z95 * self.stderr
        return (self.value - half, self.value + half)


def _candidates(low: float, high: float) -> list[tuple[float, float, sympy.Expr]]:
    """Simple constants `(p/q)*b` in `[low, high]` (same sign), as (cost, value, expr)."""
    found: dict[sympy.Expr, tuple[float, float, sympy.Expr]] = {}
    for rank, (base, base_value) in enumerate(BASES):
        max_p = MAX_NUMERATOR if rank == 0 else MAX_DENOMINATOR
        for q in range(1, MAX_DENOMINATOR + 1):
            first = math.ceil(min(low, high) * q / base_value)
            last = math.floor(max(low, high) * q / base_value)
            for p in range(max(first, -max_p), min(last, max_p) + 1):
                if p == 0 or math.gcd(p, q) != 1:
                    continue
                cost = base_cost(rank) + math.log2(abs(p)) + math.log2(q)
                if cost > MAX_COST:
                    continue
                expr = sympy.Rational(p, q) * base
                value = p / q * base_value
                if expr not in found or cost < found[expr][0]:
                    found[expr] = (cost, value, expr)
    return sorted(found.values(), key=lambda c: (c[0], c[1]))


def closed_form(value: float, stderr: float, *, max_chance: float = 0.05) -> ClosedForm:
    """Decide whether a fitted constant is a simple closed form (2*pi, 1/(4*pi), sqrt(2), 3/2).

    Args:
        value: The fitted value.
        stderr: Its standard error (from the fit's covariance).
        max_chance: The most simple constants an interval as wide as this one
            may be expected to hold by chance for the one it holds to count:
            0.05, a one-in-twenty coincidence, the convention of the interval
            itself (2*pi from 6.28 +- 0.003 is a coincidence 0.16 times in one:
            reported as fitted, with 2*pi named in the reason).

    Returns:
        The verdict; `expr` is None when the constant stays as fitted.
    """

    def verdict(
        expr: sympy.Expr | None, found: tuple[str, ...], chance: float, reason: str
    ) -> ClosedForm:
        return ClosedForm(value, stderr, expr, found, chance, reason)

    if not (math.isfinite(value) and math.isfinite(stderr)) or stderr < 0:
        return verdict(
            None, (), math.inf, "the constant or its uncertainty is not finite"
        )
    if value == 0.0:
        return verdict(sympy.Integer(0), ("0",), 0.0, "the constant is exactly 0")
    # A float64 fit cannot resolve better than its last bits.
    half = _Z95 * max(stderr, abs(value) * 4e-16)
    if half > _WIDEST * abs(value):
        return verdict(
            None,
            (),
            math.inf,
            f"its 95 % interval is ±{half / abs(value):.0%} of the value: too wide to name a closed form",
        )
    inside = _candidates(value - half, value + half)
    names = tuple(str(c[2]) for c in inside)
    near = _candidates(value / _NEIGHBOURHOOD, value * _NEIGHBOURHOOD)
    density = len(near) / (2 * math.log(_NEIGHBOURHOOD))  # per unit of log(value)
    chance = density * 2 * half / abs(value)
    interval = f"[{value - half:.6g}, {value + half:.6g}]"
    if not inside:
        return verdict(
            None,
            names,
            chance,
            f"no simple constant lies in its 95 % interval {interval}",
        )
    if len(inside) > 1:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        return verdict(
            None,
            names,
            chance,
            f"{len(inside)} simple constants lie in its 95 % interval {interval} ({shown}): "
            "the data do not tell them apart",
        )
    if chance > max_chance:
        return verdict(
            None,
            names,
            chance,
            f"{names[0]} lies in its 95 % interval {interval}, but an interval that wide "
            f"holds a simple constant by chance {chance:.2g} times in one: not a claim",
        )
    return verdict(
        inside[0][2],
        names,
        chance,
        f"{names[0]} is the one simple constant in its 95 % interval {interval} "
        f"(a coincidence would be expected {chance:.2g} times)",
    )
