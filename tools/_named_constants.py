"""Constants of nature by name in a law's text, where its exact numbers are made of them.

A law proposed by dimensional analysis carries physical constants as exact
numbers: `980665000000000000000000000000*c1*m*x/(1380649*T)` is
`c1*g_n*m*x/(k_B*T)`. `name_constants` finds such numbers, products of at
most three CODATA constants (each to a power of -2 to 2) times a small
rational and a power of pi, matching to 1e-12 relative, and writes the
names instead. Only exact numbers are named: a fitted constant (a float)
stays a number, since whether it *is* a constant of nature is a claim its
interval must support (`tools.closed_form`). For display only; the record
keeps the exact text.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from fractions import Fraction

import sympy

from lawloop.tools._constants import PHYSICAL_CONSTANTS

__all__ = ["name_constants"]

_POWERS = (-2, -1, 1, 2)
_RATIONALS = tuple(
    sorted({Fraction(p, q) for p in (1, 2, 3, 4, 8) for q in (1, 2, 3, 4, 8)})
)
_PI_POWERS = (-2, -1, 0, 1, 2)
_REL_TOL = 1e-12
_MIN_DIGITS = 7  # smaller exact numbers (2, 3/4, 1/16) are the law's own


@functools.cache
def _table() -> tuple[list[float], list[tuple[tuple[str, int], ...]]]:
    """Log10 of every product of up to three constants, sorted, and each one's factors."""
    consts = [(c.name, math.log10(c.value)) for c in PHYSICAL_CONSTANTS]
    rows = []
    for k in (1, 2, 3):
        for group in itertools.combinations(consts, k):
            for powers in itertools.product(_POWERS, repeat=k):
                rows.append(
                    (
                        sum(p * lg for (_, lg), p in zip(group, powers, strict=True)),
                        tuple((n, p) for (n, _), p in zip(group, powers, strict=True)),
                    )
                )
    rows.sort()
    return [row[0] for row in rows], [row[1] for row in rows]


def _match(value: float) -> sympy.Expr | None:
    """The named product equal to `value` (to 1e-12), or None."""
    if value <= 0 or not math.isfinite(value):
        return None
    keys, factor_sets = _table()
    target = math.log10(value)
    for r in _RATIONALS:
        for k in _PI_POWERS:
            rest = target - math.log10(float(r)) - k * math.log10(math.pi)
            i = bisect.bisect_left(keys, rest - 1e-11)
            while i < len(keys) and keys[i] <= rest + 1e-11:
                factors = factor_sets[i]
                product = float(r) * math.pi**k
                for name, p in factors:
                    product *= _value(name) ** p
                if abs(product - value) <= _REL_TOL * value:
                    expr = sympy.Rational(r.numerator, r.denominator) * sympy.pi**k
                    for name, p in factors:
                        expr *= sympy.Symbol(name, positive=True) ** p
                    return expr
                i += 1
    return None


@functools.cache
def _value(name: str) -> float:
    return next(c.value for c in PHYSICAL_CONSTANTS if c.name == name)


def _digits(number: sympy.Rational) -> int:
    return max(len(str(abs(number.p))), len(str(number.q)))


def name_constants(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with each exact numeric coefficient that is a product of constants of nature named.

    Args:
        expr: A law, as `parse_expression` returns it.

    Returns:
        The same law with symbols `c`, `h`, `k_B`, `g_n`, ... in place of
        those numbers; `expr` itself when nothing matched.
    """
    replaced: dict[sympy.Expr, sympy.Expr] = {}
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Rational) or node in replaced:
            continue
        if _digits(node) < _MIN_DIGITS:
            continue
        sign = -1 if node < 0 else 1
        named = _match(float(abs(node)))
        if named is not None:
            replaced[node] = sign * named
    return expr.xreplace(replaced) if replaced else expr
