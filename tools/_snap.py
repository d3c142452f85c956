"""Snapping fitted constants to simple ones: `(p/q)` times 1, pi, e or a small root."""

from __future__ import annotations

import math

import sympy

from lawloop.tools._bounds import bounded_xreplace, unbounded_error

__all__ = [
    "BASES",
    "MAX_COST",
    "MAX_DENOMINATOR",
    "MAX_NUMERATOR",
    "base_cost",
    "snap_constants",
]

MAX_NUMERATOR = 144  # p/q candidates with larger p are not "simple"
MAX_DENOMINATOR = 12
# A constant is "simple" only up to this many bits (base weight plus bits of p and
# q): 2*pi costs 3, 1/(4*pi) 4, 8*pi/3 6.6, sqrt(2) 3; 44/7 (8.3) is a coincidence.
MAX_COST = 7.0


def _bases() -> list[tuple[sympy.Expr, float]]:
    """Simple irrational factors, simplest first; each times a small rational."""
    pi, e = sympy.pi, sympy.E
    exprs = [
        sympy.Integer(1),
        pi,
        1 / pi,
        pi**2,
        1 / pi**2,
        e,
        1 / e,
        sympy.sqrt(2),
        sympy.sqrt(3),
        sympy.sqrt(5),
        sympy.sqrt(6),
        sympy.sqrt(7),
        sympy.sqrt(10),
        sympy.sqrt(pi),
        1 / sympy.sqrt(pi),
        sympy.sqrt(2 * pi),
        1 / sympy.sqrt(2 * pi),
    ]
    return [(b, float(b)) for b in exprs]


BASES = _bases()


def base_cost(rank: int) -> float:
    """Bits a base costs: 1 is free, pi cheap, powers of pi and e and small roots dearer."""
    return 0.0 if rank == 0 else 2.0 if rank <= 2 else 3.0 if rank <= 8 else 4.0


def _snap_value(value: float, rel_precision: float) -> sympy.Expr:
    """The simplest constant within `rel_precision` of `value`, else `value` rounded.

    Within the precision, simplicity decides, not closeness: with about 17
    bases times 12 denominators, almost any number lies within 1e-3 of *some*
    candidate (78/(7*sqrt(pi)) for 6.2901), and only the simplest one is a
    claim a physicist would make. The cost of `(p/q)*b` is a weight for the
    base plus the bits of `p` and `q`; closeness breaks ties.
    """
    if value == 0.0 or not math.isfinite(value):
        return sympy.Integer(0) if value == 0.0 else sympy.Float(value)
    if value == round(value) and abs(value) < 1e15:
        return sympy.Integer(int(value))
    best: tuple[float, float, sympy.Expr] | None = None
    for rank, (base, base_value) in enumerate(BASES):
        target = value / base_value
        max_p = MAX_NUMERATOR if rank == 0 else MAX_DENOMINATOR
        for q in range(1, MAX_DENOMINATOR + 1):
            p = round(target * q)
            if p == 0 or abs(p) > max_p or math.gcd(p, q) != 1:
                continue
            error = abs(p / q * base_value - value) / abs(value)
            if error > rel_precision:
                continue
            cost = base_cost(rank) + math.log2(abs(p)) + math.log2(q)
            if cost > MAX_COST:
                continue
            if best is None or (cost, error) < best[:2]:
                best = (cost, error, sympy.Rational(p, q) * base)
    if best is not None:
        return best[2]
    digits = max(1, math.ceil(-math.log10(rel_precision)) + 1)
    return sympy.Float(float(f"{value:.{digits}g}"))


def snap_constants(expr: sympy.Expr, rel_precision: float = 1e-3) -> sympy.Expr:
    """Replace float constants by nearby simple constants, or round them.

    Each float within `rel_precision` (relative) of ``(p/q)*b``, with
    ``1 <= |p| <= 144``, ``q <= 12`` and ``b`` one of 1, pi, 1/pi, pi**2,
    1/pi**2, e, 1/e, sqrt(n) for n in 2, 3, 5, 6, 7, 10, sqrt(pi),
    1/sqrt(pi), sqrt(2*pi), 1/sqrt(2*pi), becomes the closest such
    constant (so ``1/(4*pi)`` and ``2*pi`` are found); integral floats
    become integers; any other float is rounded to the relative precision
    (4 significant digits for 1e-3). sympy's automatic evaluation then
    combines the result; no `simplify` is run.

    Args:
        expr: The expression, e.g. with fitted constants substituted.
        rel_precision: Relative precision of the match and the rounding.

    Returns:
        The snapped expression; floats beyond float64 are left as they are.

    Raises:
        ExpressionError: A constant the snapped values make is beyond 1e300
            (sympy would compute it exactly, e.g. ``10**(10**15)`` from a
            fitted exponent), or sympy's evaluation failed on one.

    Example:
        >>> x = sympy.Symbol("x", real=True)
        >>> snap_constants(6.28318 * x)
        2*pi*x
    """
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    # A float beyond float64 (sympy arithmetic can leave the range) stays as it is.
    snapped = {
        f: _snap_value(float(f), rel_precision)
        for f in floats
        if math.isfinite(float(f))
    }
    try:
        result: sympy.Expr = bounded_xreplace(expr, snapped)
    except (ArithmeticError, RecursionError) as exc:
        raise unbounded_error(expr, exc, "cannot be snapped") from None
    return result
