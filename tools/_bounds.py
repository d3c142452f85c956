"""Bounds on the values of constants, so that sympy never computes an unbounded one.

A law's text is untrusted: ``exp(exp(exp(exp(9))))`` is short, and sympy,
asked to print, order or substitute into it, computes with arbitrary
precision until it raises `OverflowError` or runs out of time. Every
constant is therefore given a value in float64 arithmetic (`cmath`, a few
operations per node), and one that is not finite or passes 1e300 is
refused before sympy works with it: by the parser (`check_constant`) and
by the rewrites that replace parts of a law (`bounded_xreplace`).
"""

from __future__ import annotations

import cmath
import functools
import math
from collections.abc import Callable, Mapping

import sympy
from sympy.core.function import AppliedUndef

from lawloop.tools.errors import ExpressionError

__all__ = [
    "GROWTH_LIMIT",
    "MAX_CONSTANT",
    "MAX_NEW_EXPONENT",
    "bind_parameters",
    "bounded_xreplace",
    "check_constant",
    "check_constants",
    "constant_value",
    "unbounded_error",
]

MAX_CONSTANT = 1e300
"""Largest accepted magnitude of a constant (float64 overflows near 1.8e308)."""

GROWTH_LIMIT = math.log(2 * MAX_CONSTANT)
"""Argument beyond which `exp`, `sinh` and `cosh` pass `MAX_CONSTANT`."""

MAX_NEW_EXPONENT = 100
"""Largest exact exponent a replacement may make of one with symbols (`bounded_xreplace`)."""

# Relative: complex arithmetic leaves rounding in the imaginary part.
_IMAGINARY_TOLERANCE = 1e-9

_FLOAT_FUNCTIONS: Mapping[type[sympy.Basic], Callable[[complex], complex]] = {
    sympy.exp: cmath.exp,
    sympy.log: cmath.log,
    sympy.sin: cmath.sin,
    sympy.cos: cmath.cos,
    sympy.tan: cmath.tan,
    sympy.asin: cmath.asin,
    sympy.acos: cmath.acos,
    sympy.atan: cmath.atan,
    sympy.sinh: cmath.sinh,
    sympy.cosh: cmath.cosh,
    sympy.tanh: cmath.tanh,
    sympy.Abs: lambda z: complex(abs(z)),
}
"""Float64 versions of the functions a parsed law holds."""


class Unbounded(Exception):
    """A constant is not finite or beyond `MAX_CONSTANT`; the message says which."""


class _Unknown(Exception):
    """A constant holds an undefined function: it has no value, and sympy computes none."""


def _bounded(value: complex) -> complex:
    """`value`, or `Unbounded` when it is not finite or beyond `MAX_CONSTANT`."""
    if math.isnan(value.real) or math.isnan(value.imag):
        reason = "undefined or infinite"
        raise Unbounded(reason)
    if not abs(value) <= MAX_CONSTANT:
        reason = "infinite or beyond 1e300"
        raise Unbounded(reason)
    return value


@functools.lru_cache(maxsize=4096)
def constant_value(expr: sympy.Expr) -> complex:
    """The value of a constant expression in float64 arithmetic, each part bounded.

    Computed bottom-up with `cmath`, never with sympy's arbitrary precision,
    and every subexpression must itself stay within `MAX_CONSTANT`: the work
    is a few float operations per node, whatever the expression.

    Args:
        expr: An expression without free symbols.

    Returns:
        Its value (complex; the caller decides whether it must be real).

    Raises:
        Unbounded: The value, or that of a part, is not finite or is beyond
            `MAX_CONSTANT`.
    """
    try:
        if expr.is_Atom:
            return _bounded(complex(expr))
        if isinstance(expr, AppliedUndef):
            raise _Unknown
        args = [constant_value(arg) for arg in expr.args]
        if isinstance(expr, sympy.Add):
            return _bounded(sum(args, complex(0.0)))
        if isinstance(expr, sympy.Mul):
            return _bounded(math.prod(args, start=complex(1.0)))
        if isinstance(expr, sympy.Pow):
            base, exponent = args
            # Real powers of real bases stay real (complex `**` leaves rounding).
            if (
                base.imag == 0
                and exponent.imag == 0
                and (base.real > 0 or float(exponent.real).is_integer())
            ):
                return _bounded(complex(base.real**exponent.real))
            return _bounded(base**exponent)
        function = _FLOAT_FUNCTIONS.get(type(expr))
        if function is not None and len(args) == 1:
            return _bounded(function(args[0]))
        # A form sympy's evaluation made (e.g. `asinh` from `asin(I)`): its
        # arguments are bounded, so one evaluation at 15 digits is cheap.
        return _bounded(complex(sympy.N(expr, 15)))
    except (ArithmeticError, ValueError, TypeError) as exc:
        reason = "beyond 1e300 or undefined"
        raise Unbounded(reason) from exc


def check_constant(expr: sympy.Expr, piece: Callable[[], str]) -> None:
    """Refuse a constant that is not a real number within `MAX_CONSTANT`.

    Args:
        expr: An expression without free symbols.
        piece: Text naming the constant in the message (called only to
            build one).

    Raises:
        ExpressionError: The constant is not finite, beyond `MAX_CONSTANT`
            or not real.
    """
    try:
        value = constant_value(expr)
    except _Unknown:
        return  # an undefined function has no value to bound
    except Unbounded as exc:
        msg = (
            f"Constant `{piece()[:80]}` is {exc}; a constant must be a real number "
            "within 1e300 (float64 overflows near 1.8e308). Write the law without "
            "it, or with a free parameter in its place."
        )
        raise ExpressionError(msg) from None
    if abs(value.imag) > _IMAGINARY_TOLERANCE * max(1.0, abs(value)):
        msg = (
            f"Constant `{piece()[:80]}` is not a real number ({value:.6g}); "
            "check the arguments of `sqrt`, `log`, `asin`, `acos` and fractional powers."
        )
        raise ExpressionError(msg)


def _describe(expr: sympy.Basic) -> str:
    """Text of `expr` for a message; its structure where printing itself fails.

    Printing a sum orders its terms by value, which evaluates them: the very
    constant being refused may be what cannot be evaluated.
    """
    try:
        return str(expr)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return str(sympy.srepr(expr))


def check_constants(expr: sympy.Expr) -> None:
    """`check_constant` on every constant part of `expr`, those sympy merged included.

    sympy joins constants across the tree (``exp(700)*L*exp(700)`` is
    ``L*exp(1400)``), so a bound on each parsed node is not enough. Every
    part is checked, not only the largest constant ones: ``1e9 + sqrt(1 - pi)``
    is within rounding of a real number, its second term is not.

    Raises:
        ExpressionError: As `check_constant`.
    """
    if expr.is_number:
        check_constant(expr, lambda: _describe(expr))
    for arg in expr.args:
        check_constants(arg)


def bounded_xreplace(
    expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic]
) -> sympy.Basic:
    """``expr.xreplace(mapping)``, refusing a constant it makes beyond `MAX_CONSTANT`.

    Replacing numbers (snapping, whole floats to integers, tiny exponents to
    zero) can turn a part with symbols into a constant that sympy then
    computes: in ``95.0003**(1e-320**(-941*c1**1e-320))`` an exponent set to
    zero leaves ``95.0003**(1e301215)``, whose exact power never finishes.
    Each rebuilt node whose arguments are all numbers is bounded in float64
    first, before sympy evaluates it; and an exponent that becomes an exact
    number must stay within `MAX_NEW_EXPONENT` (``c1**(-5000)`` over a
    symbol without assumptions has sympy expand ``(re + I*im)**5000``).

    Args:
        expr: The expression.
        mapping: What to replace, as for `xreplace`.

    Returns:
        The expression with the replacements, evaluated as `xreplace` does.

    Raises:
        ExpressionError: A constant the replacements make is beyond
            `MAX_CONSTANT` or not finite, or an exponent they make exact is
            beyond `MAX_NEW_EXPONENT`.
    """

    def rebuild(node: sympy.Basic) -> sympy.Basic:
        if node in mapping:
            return mapping[node]
        if not node.args:
            return node
        args = [rebuild(arg) for arg in node.args]
        if all(new is old for new, old in zip(args, node.args, strict=True)):
            return node
        if (
            isinstance(node, sympy.Pow)
            and not node.exp.is_number
            and args[1].is_Rational
            and abs(args[1]) > MAX_NEW_EXPONENT
        ):
            what = f"would make the exact exponent {args[1]} (above {MAX_NEW_EXPONENT})"
            raise unbounded_error(node, OverflowError("exponent"), what)
        if isinstance(node, sympy.Expr) and all(
            isinstance(arg, sympy.Expr) and arg.is_number for arg in args
        ):
            unevaluated = node.func(*args, evaluate=False)
            try:
                constant_value(unevaluated)
            except _Unknown:
                pass  # sympy cannot evaluate an undefined function either
            except Unbounded as exc:
                what = "would make a constant beyond 1e300"
                raise unbounded_error(unevaluated, exc, what) from None
        return node.func(*args)

    return rebuild(expr)


def bind_parameters(expr: sympy.Expr, values: Mapping[str, float]) -> sympy.Expr:
    """`expr` with its parameters set to numbers, refusing a constant beyond 1e300.

    Substituting fitted values makes constants of parts that had symbols,
    and sympy computes them at once: in ``exp(exp(c0))`` with ``c0 = 1e10``
    it would need ten billion bits of precision. Use this, not `xreplace`,
    to put a fit's values into a law.

    Args:
        expr: The law, e.g. from `parse_expression`.
        values: Value of each parameter by name (e.g. `FitResult.values`);
            symbols of other names are left as they are.

    Returns:
        The law with the values as floats, evaluated as `xreplace` does.

    Raises:
        ExpressionError: A value is not finite, or a constant the values
            make is beyond 1e300.

    Example:
        >>> x, c0 = sympy.symbols("x c0", real=True)
        >>> bind_parameters(c0 * x, {"c0": 2.5})
        2.5*x
    """
    mapping: dict[sympy.Basic, sympy.Basic] = {}
    for symbol in expr.free_symbols:
        if isinstance(symbol, sympy.Symbol) and symbol.name in values:
            value = float(values[symbol.name])
            if not math.isfinite(value):
                msg = f"Parameter `{symbol.name}` has the value {value}; a law takes finite values only."
                raise ExpressionError(msg)
            mapping[symbol] = sympy.Float(value)
    bound: sympy.Expr = bounded_xreplace(expr, mapping)
    return bound


def unbounded_error(
    expr: sympy.Basic, exc: BaseException, what: str
) -> ExpressionError:
    """The error of a step that failed on a constant beyond float64.

    sympy evaluates constants while it prints, rewrites and substitutes; on
    one beyond float64 (built without the parser, or by substituting fitted
    values) it raises `OverflowError` or recurses without end. Callers turn
    that into this project error, so that only project errors leave `tools`.

    Args:
        expr: The expression the step failed on.
        exc: What was raised.
        what: What could not be done, e.g. ``"cannot be printed"``.

    Returns:
        The `ExpressionError` to raise, naming `expr` by its structure (its
        printed text may be what failed).
    """
    msg = (
        f"Expression `{sympy.srepr(expr)[:120]}` {what} ({type(exc).__name__}: "
        f"{str(exc)[:200]}); build laws with `parse_expression`, which refuses "
        "constants beyond 1e300."
    )
    return ExpressionError(msg)
