"""Structure keys of expressions with their constants abstracted away.

`canonical_form` rewrites an expression so that every free constant
becomes one placeholder symbol `_C`; `canonical_key` hashes it. The rules,
which are what is guaranteed:

* Symbol assumptions are dropped (only names matter).
* Every parameter, number and constant subexpression (``2*pi``,
  ``sqrt(2)``, ``exp(3)``, ``c0**2``) becomes `_C`; several constants that
  multiply (or add) together become one `_C` (so ``c0*c1*x`` and ``3*x``
  agree, as do ``x + 1`` and ``x + c0 + 2``).
* Every term of a sum, and the whole expression, carry one multiplicative
  `_C`, so ``x + y``, ``x - y`` and ``c0*x + c1*y`` agree, and ``x`` agrees
  with ``2*x`` (a model with free constants covers them all).
* Products are distributed over sums (`expand_mul`) when the result has
  at most 64 terms: ``c0*(x + y)`` agrees with ``c0*x + c1*y``. Powers of
  sums and denominators are not expanded.
* Rational exponents are kept (``x**2`` and ``x**3`` differ). A float
  exponent within 1e-9 of a fraction p/q with q <= 12 becomes that
  fraction (``L**0.5`` is ``sqrt(L)``); any other constant exponent
  becomes `_C`.
* Powers of products are split and nested powers joined, as if all
  symbols were positive: ``sqrt(L/g)`` is ``L**(1/2)*g**(-1/2)``.
* Functions keep their arguments' structure: ``exp(x)`` and
  ``exp(c0*x)`` differ.

The form is cheap to compute (no `simplify`) and deterministic; it is
idempotent when the form is passed back with no parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from fractions import Fraction

import sympy

__all__ = ["PLACEHOLDER", "canonical_form", "canonical_key"]

PLACEHOLDER = sympy.Symbol("_C")
"""The symbol every abstracted constant becomes."""

_MAX_PASSES = 4  # abstraction can expose new constant groups; a few passes settle
_MAX_EXPANDED_TERMS = 64  # expand_mul is skipped when it could produce more terms


def _rational_exponents(expr: sympy.Expr) -> sympy.Expr:
    """Turn float exponents close to small fractions into those fractions."""
    replacements: dict[sympy.Basic, sympy.Basic] = {}
    for power in expr.atoms(sympy.Pow):
        exponent = power.exp
        if isinstance(exponent, sympy.Float):
            value = float(exponent)
            fraction = Fraction(value).limit_denominator(12)
            if abs(float(fraction) - value) <= 1e-9 * max(1.0, abs(value)):
                replacements[power] = sympy.Pow(
                    power.base, sympy.Rational(fraction.numerator, fraction.denominator)
                )
    return expr.xreplace(replacements) if replacements else expr


def _abstract(expr: sympy.Basic) -> sympy.Basic:
    """One bottom-up pass replacing constant subexpressions by the placeholder."""
    if not (expr.free_symbols - {PLACEHOLDER}):
        return PLACEHOLDER
    if expr.is_Symbol:
        return expr
    if isinstance(expr, sympy.Pow) and expr.exp.is_Rational:
        return sympy.Pow(_abstract(expr.base), expr.exp)
    args = [_abstract(arg) for arg in expr.args]
    if isinstance(expr, sympy.Add):
        args = [_scaled(arg) for arg in args]
    if isinstance(expr, sympy.Mul | sympy.Add):
        rest = [arg for arg in args if arg != PLACEHOLDER]
        if len(rest) < len(args):
            rest.append(PLACEHOLDER)
        return expr.func(*rest)
    return expr.func(*args)


def _scaled(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with one multiplicative placeholder (sums are left as they are)."""
    if expr == PLACEHOLDER or isinstance(expr, sympy.Add):
        return expr
    if isinstance(expr, sympy.Mul) and PLACEHOLDER in expr.args:
        return expr
    return sympy.Mul(PLACEHOLDER, expr)


def _term_count(expr: sympy.Basic) -> int:
    """Upper bound on the number of terms `expand_mul` would produce."""
    if isinstance(expr, sympy.Add):
        return sum(_term_count(arg) for arg in expr.args)
    if isinstance(expr, sympy.Mul):
        count = 1
        for arg in expr.args:
            count *= _term_count(arg)
            if count > _MAX_EXPANDED_TERMS:
                break
        return count
    return 1


def _small_enough_to_expand(expr: sympy.Basic) -> bool:
    """Whether no subexpression would expand to more than the term limit."""
    return all(
        _term_count(node) <= _MAX_EXPANDED_TERMS
        for node in sympy.preorder_traversal(expr)
    )


def canonical_form(expr: sympy.Expr, parameters: Sequence[str] = ()) -> sympy.Expr:
    """Rewrite `expr` with all free constants replaced by `PLACEHOLDER`.

    Args:
        expr: The expression.
        parameters: Names of symbols that are free constants.

    Returns:
        The canonical expression, over plain (assumption-free) symbols and
        `PLACEHOLDER`. See the module docstring for the rules.
    """
    names = set(parameters)
    plain = {
        s: (PLACEHOLDER if s.name in names else sympy.Symbol(s.name))
        for s in expr.free_symbols
        if isinstance(s, sympy.Symbol)
    }
    form = expr.xreplace(plain)
    form = _rational_exponents(form)
    form = sympy.powdenest(sympy.expand_power_base(form, force=True), force=True)
    form = _rational_exponents(form)
    if _small_enough_to_expand(form):
        form = sympy.expand_mul(form)
    for _ in range(_MAX_PASSES):
        new = _scaled(_abstract(form))
        if new == form:
            break
        form = new
    result: sympy.Expr = form
    return result


def canonical_key(expr: sympy.Expr, parameters: Sequence[str] = ()) -> str:
    """Hash of `canonical_form`: equal for expressions that differ in constants only.

    Args:
        expr: The expression.
        parameters: Names of symbols that are free constants.

    Returns:
        The sha256 hex digest of ``sympy.srepr(canonical_form(expr, parameters))``.

    Example:
        >>> L, g, c0 = sympy.symbols("L g c0", real=True)
        >>> canonical_key(c0 * sympy.sqrt(L / g), ["c0"]) == canonical_key(
        ...     6.28 * L**0.5 / g**0.5)
        True
    """
    text = sympy.srepr(canonical_form(expr, parameters))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
