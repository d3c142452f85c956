"""Structure keys of expressions with their constants abstracted away.

`canonical_form` rewrites an expression so that every free constant
becomes one placeholder symbol `_C`; `canonical_key` hashes it. The rules,
which are what is guaranteed:

* Symbol assumptions are dropped (only names matter).
* Every parameter, number and constant subexpression (``2*pi``,
  ``sqrt(2)``, ``exp(3)``, ``c0**2``) becomes `_C`; several constants that
  multiply (or add) together become one `_C` (so ``c0*c1*x`` and ``3*x``
  agree, as do ``x + 1`` and ``x + c0 + 2``). Constants are abstracted
  last, so factors that differ in constants stay apart:
  ``(x + c0)*(x + c1)`` agrees with ``(x + 1)*(x + 2)``.
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
  symbols were positive: ``sqrt(L/g)`` is ``L**(1/2)*g**(-1/2)``. Under
  a fractional power, factors with variables come out of a sum first
  (``sqrt(x*y + x*z)`` is ``sqrt(x)*sqrt(y + z)``), constant factors go
  into one (``sqrt(2*(x + y))`` is ``sqrt(2*x + 2*y)``), and the sign of
  a constant factor is dropped (``sqrt(-c0*x)`` is ``sqrt(c0*x)``), so no
  imaginary unit appears.
* Products of exponentials are joined (``exp(x)*exp(y)`` is
  ``exp(x + y)``), a constant term of an exponential's argument is a
  factor (``exp(x + 1)`` agrees with ``exp(x)``), a constant to a
  variable power is an exponential (``2**x`` agrees with ``exp(c0*x)``),
  and logarithms of products and powers are split (``log(2*x/y**2)`` is
  ``log(2) + log(x) - 2*log(y)``), their arguments' factors found as
  under fractional powers (``log(x**2 + x*y)`` is ``log(x) + log(x + y)``;
  ``log(2*(x + y))`` is ``log(2*x + 2*y)``, not ``log(2) + log(x + y)``).
* `Abs` of a product of symbols is dropped (``sqrt(x**2)`` is ``x``);
  any other `Abs` is kept, whatever the signs of the constants inside
  (``Abs(x - c0)`` agrees with ``Abs(x + 2*c0)``).
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

from lawloop.tools._bounds import bounded_xreplace, unbounded_error

__all__ = ["PLACEHOLDER", "canonical_form", "canonical_key"]

PLACEHOLDER = sympy.Symbol("_C")
"""The symbol every abstracted constant becomes."""

_MAX_PASSES = 4  # abstraction can expose new constant groups; a few passes settle
_MAX_EXPANDED_TERMS = 64  # expand_mul is skipped when it could produce more terms
_MAX_EXACT_IN_EXPONENT = 1000  # larger exact numbers in exponentials become floats
# `Abs` stands in as an undefined function during the rewrites, which treat
# every symbol as positive and would drop it wherever the constants inside
# happen to be positive. The hyperbolic functions stand in too: over symbols
# without assumptions, each one built asks whether its argument's imaginary
# part is a multiple of pi/2, and nested ones ask it of each other, at a cost
# that grows tenfold a level (tanh eight deep took twenty seconds).
_KEPT_ABS = sympy.Function("_Abs")
_STAND_INS: dict[type[sympy.Function], sympy.core.function.UndefinedFunction] = {
    sympy.Abs: _KEPT_ABS,
    sympy.sinh: sympy.Function("_sinh"),
    sympy.cosh: sympy.Function("_cosh"),
    sympy.tanh: sympy.Function("_tanh"),
}


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
    return bounded_xreplace(expr, replacements) if replacements else expr


def _factors(expr: sympy.Basic, constants: set[sympy.Basic]) -> list[sympy.Basic]:
    """Factors of `expr`, with those of a sum taken out and constants put in one.

    Factors with variables come out of a sum (``x*y + x*z`` gives ``x`` and
    ``y + z``, ``1 + y/x`` gives ``x + y`` and ``1/x``) and constant factors
    go into a sum (``2*(x + y)`` gives ``2*x + 2*y``), so expanded and
    factored forms split alike and no constant factor is left that a sum
    with free coefficients covers.
    `constants` are the symbols that stand for constants.
    """
    factors = sympy.Mul.make_args(sympy.factor_terms(expr, fraction=True))
    fixed = [f for f in factors if not (f.free_symbols - constants)]
    varying = [f for f in factors if f.free_symbols - constants]
    sums = [i for i, f in enumerate(varying) if f.is_Add]
    if fixed and sums:
        varying[sums[0]] = sympy.expand_mul(sympy.Mul(*fixed) * varying[sums[0]])
        fixed = []
    return fixed + varying


def _fractional_bases(expr: sympy.Basic, constants: set[sympy.Basic]) -> sympy.Basic:
    """Normalize the base of every power with a non-integer exponent (`_factors`).

    The sign of a constant factor is dropped.
    """
    if not expr.args:
        return expr
    args = [_fractional_bases(arg, constants) for arg in expr.args]
    if not (isinstance(expr, sympy.Pow) and not args[1].is_integer):
        return expr.func(*args) if args != list(expr.args) else expr
    base = sympy.Mul(*_factors(args[0], constants))
    # Forced splitting would turn (-c*x)**(1/2) into I*c**(1/2)*x**(1/2),
    # and the I turns cos into cosh; the sign is a constant, so it goes.
    coeff, rest = base.as_coeff_Mul()
    if coeff.is_negative:
        base = -coeff * rest
    return sympy.Pow(base, args[1])


def _split_logs(expr: sympy.Basic, constants: set[sympy.Basic]) -> sympy.Basic:
    """Write the log of a product or power as a sum of logs, bottom-up."""
    if not expr.args:
        return expr
    args = [_split_logs(arg, constants) for arg in expr.args]
    if isinstance(expr, sympy.log) and args[0].free_symbols - constants:
        return _log_terms(args[0], constants)
    return expr.func(*args) if args != list(expr.args) else expr


def _log_terms(arg: sympy.Basic, constants: set[sympy.Basic]) -> sympy.Basic:
    """``log(arg)`` as a sum over the `_factors` of `arg`, as if all were positive.

    Not `sympy.expand_log`: with ``force=True`` it loops forever on a
    negative constant such as ``log(x*cos(3))`` and turns ``log((1 - pi)**2)``
    into a sum with ``2*I*pi``. Constant factors stay in one logarithm, with
    their sign dropped (it is a constant, like the logarithm itself).
    """
    constant: sympy.Basic = sympy.Integer(1)
    terms: list[sympy.Basic] = []
    for factor in _factors(arg, constants):
        if not (factor.free_symbols - constants):
            constant *= factor
        elif isinstance(factor, sympy.exp):
            terms.append(factor.args[0])
        elif isinstance(factor, sympy.Pow):
            terms.append(factor.exp * _log_terms(factor.base, constants))
        else:
            terms.append(sympy.log(factor))
    if constant.is_negative:
        constant = -constant
    if constant != 1:
        terms.append(sympy.log(constant))
    return sympy.Add(*terms)


def _monomial(expr: sympy.Basic) -> bool:
    """Whether `expr` is a product of numbers and powers of symbols."""
    if expr.is_Symbol or expr.is_Number:
        return True
    if isinstance(expr, sympy.Pow):
        return expr.exp.is_Number is True and _monomial(expr.base)
    return isinstance(expr, sympy.Mul) and all(_monomial(arg) for arg in expr.args)


def _abstract(expr: sympy.Basic, constants: set[sympy.Basic]) -> sympy.Basic:
    """One bottom-up pass replacing constant subexpressions by the placeholder.

    A subexpression is constant when all its symbols are in `constants`
    (the parameters and the placeholder). Parameters are replaced here, not
    before, so that ``c0 - c1`` becomes one `_C` and not ``_C - _C = 0``.
    """
    if not (expr.free_symbols - constants):
        return PLACEHOLDER
    if expr.is_Symbol:
        return expr
    if isinstance(expr, sympy.Pow) and expr.exp.is_Rational:
        return sympy.Pow(_abstract(expr.base, constants), expr.exp)
    if isinstance(expr, sympy.Pow) and not (expr.base.free_symbols - constants):
        # c**u is exp(log(c)*u): one form for both.
        return _abstract(sympy.exp(sympy.expand_mul(PLACEHOLDER * expr.exp)), constants)
    if isinstance(expr, sympy.exp) and isinstance(expr.args[0], sympy.Add):
        # exp(a + c) is e**c*exp(a): a constant term of the argument is a factor.
        terms = expr.args[0].args
        kept = [term for term in terms if term.free_symbols - constants]
        if len(kept) < len(terms):
            inner = sympy.exp(sympy.Add(*kept))
            return sympy.Mul(PLACEHOLDER, _abstract(inner, constants))
    args = [_abstract(arg, constants) for arg in expr.args]
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


def _rewrite(expr: sympy.Expr, parameters: Sequence[str] = ()) -> sympy.Expr:
    """The value-level rewrites of `canonical_form`, constants still in place.

    Over plain symbols; the value is unchanged wherever every power base,
    logarithm argument and each of their factors is positive.
    """
    symbols = [s for s in expr.free_symbols if isinstance(s, sympy.Symbol)]
    constants = {PLACEHOLDER, *(sympy.Symbol(name) for name in parameters)}
    # |x| is x for positive symbols (as `sqrt(x**2)` becomes); any other `Abs`
    # is kept whatever the signs of the constants inside.
    form = expr.replace(
        lambda node: isinstance(node, sympy.Abs) and _monomial(node.args[0]),
        lambda node: node.args[0],
    )
    form = _stand_in(form)
    # Whole floats become integers too, so that `x + 1.0*y` and `x + y` are
    # one sum and cancel where they meet.
    whole = {
        f: sympy.Integer(int(f))
        for f in form.atoms(sympy.Float)
        if float(f).is_integer()
    }
    form = bounded_xreplace(
        form, {**whole, **{s: sympy.Symbol(s.name) for s in symbols}}
    )
    form = _split_logs(_rational_exponents(form), constants)
    # Split before distributing, which would turn sqrt(x*(y + z)) back into
    # the square root of a sum; distributed before `powdenest`, which would
    # join (x - y)*(y - x) into -(x - y)**2, a power of a sum never expanded.
    form = sympy.expand_power_base(_fractional_bases(form, constants), force=True)
    form = sympy.powdenest(_expand_mul_if_small(form), force=True)
    form = _rational_exponents(_join_exponentials(form))
    # Distributing can bring exponentials together again (exp(-y)*exp(x + y)).
    return _restore(_join_exponentials(_expand_mul_if_small(form)))


def _expand_mul_if_small(expr: sympy.Basic) -> sympy.Basic:
    """`sympy.expand_mul`, unless some product would expand past the term limit."""
    return sympy.expand_mul(expr) if _small_enough_to_expand(expr) else expr


def _join_exponentials(expr: sympy.Basic) -> sympy.Basic:
    """Join the exponentials of every product: ``exp(a)*exp(b)`` is ``exp(a + b)``."""
    if not expr.args:
        return expr
    args = [_join_exponentials(arg) for arg in expr.args]
    if isinstance(expr, sympy.Mul):
        exps = [arg for arg in args if isinstance(arg, sympy.exp)]
        if len(exps) > 1:
            rest = [arg for arg in args if not isinstance(arg, sympy.exp)]
            return sympy.Mul(*rest, sympy.exp(sympy.Add(*(e.args[0] for e in exps))))
    return expr.func(*args) if args != list(expr.args) else expr


def _stand_in(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with `Abs` and the hyperbolic functions as their `_STAND_INS`."""
    for function, stand_in in _STAND_INS.items():
        expr = expr.replace(function, stand_in)
    return expr


def _restore(expr: sympy.Basic) -> sympy.Expr:
    """Put the functions back for their stand-ins, unevaluated so that they stay as they are."""
    for function, stand_in in _STAND_INS.items():
        expr = expr.replace(
            stand_in,
            lambda arg, function=function: function(arg, evaluate=False),
        )
    return expr


def _inexact_exponentials(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with large exact numbers in the exponents of exponentials made floats.

    The rewrites drop `Abs` of a symbol and treat symbols as positive, so an
    exponent like ``80610346*Abs(c0)/c0`` becomes the number 80610346, and
    sympy computes ``3**80610346`` (or ``exp(80610346*log(3))``) exactly:
    millions of digits before the constant is abstracted. As a float the
    power is one float operation; the key is the same, as every constant
    becomes `PLACEHOLDER` in the end.
    """
    large: dict[sympy.Basic, sympy.Basic] = {}
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.exp):
            exponent = node.args[0]
        elif isinstance(node, sympy.Pow) and node.base.is_number:
            exponent = node.exp
        else:
            continue
        if exponent.free_symbols:
            large.update(
                (r, sympy.Float(r))
                for r in exponent.atoms(sympy.Rational)
                if max(abs(r.p), r.q) > _MAX_EXACT_IN_EXPONENT
            )
    return bounded_xreplace(expr, large) if large else expr


def canonical_form(expr: sympy.Expr, parameters: Sequence[str] = ()) -> sympy.Expr:
    """Rewrite `expr` with all free constants replaced by `PLACEHOLDER`.

    Args:
        expr: The expression.
        parameters: Names of symbols that are free constants.

    Returns:
        The canonical expression, over plain (assumption-free) symbols and
        `PLACEHOLDER`. See the module docstring for the rules.

    Raises:
        ExpressionError: A rewrite would make a constant beyond 1e300 or an
            exact exponent of hundreds (towers of constants that
            `parse_expression` refuses), or failed on nesting too deep.
    """
    constants = {PLACEHOLDER, *(sympy.Symbol(name) for name in parameters)}
    try:
        # Parameters stay distinct symbols through the rewrites: made one symbol
        # early, (x + c0)*(x + c1) would merge into a power that is not expanded.
        form = _stand_in(_rewrite(_inexact_exponentials(expr), parameters))
        for _ in range(_MAX_PASSES):
            new = _scaled(_abstract(form, constants))
            if new == form:
                break
            form = new
        return _restore(form)
    except (ArithmeticError, RecursionError) as exc:
        raise unbounded_error(expr, exc, "has no canonical form") from None


def canonical_key(expr: sympy.Expr, parameters: Sequence[str] = ()) -> str:
    """Hash of `canonical_form`: equal for expressions that differ in constants only.

    Args:
        expr: The expression.
        parameters: Names of symbols that are free constants.

    Returns:
        The sha256 hex digest of ``sympy.srepr(canonical_form(expr, parameters))``.

    Raises:
        ExpressionError: As `canonical_form`.

    Example:
        >>> L, g, c0 = sympy.symbols("L g c0", real=True)
        >>> canonical_key(c0 * sympy.sqrt(L / g), ["c0"]) == canonical_key(
        ...     6.28 * L**0.5 / g**0.5)
        True
    """
    text = sympy.srepr(canonical_form(expr, parameters))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
