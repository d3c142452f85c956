"""Physical dimensions of unit strings and a dimensional check of expressions.

Units are strings over SI units such as ``"kg*m/s**2"``, ``"1/s"`` or ``""``
(dimensionless). A `Dimension` holds rational exponents of the base
dimensions m, s, kg, K, A, mol, cd. Derived units are expanded (``V`` is
``kg*m**2/(s**3*A)``), so units written with `V` and without `A` (as in the
AI Feynman tables) still compare correctly.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy

from lawloop.tools._bounds import unbounded_error
from lawloop.tools.errors import UnitError

__all__ = ["BASE_UNITS", "Dimension", "UnitCheck", "check_dimensions", "unit_dimension"]

BASE_UNITS = ("m", "s", "kg", "K", "A", "mol", "cd")
"""Base dimensions, in the order of `Dimension.exponents`."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """Rational exponents of the base dimensions; multiply, divide and power.

    Example:
        >>> unit_dimension("kg*m/s**2") == unit_dimension("kg") * unit_dimension("m/s**2")
        True
    """

    exponents: tuple[Fraction, ...] = (Fraction(0),) * len(BASE_UNITS)
    """Exponent of each base unit of `BASE_UNITS`, in that order."""

    def __mul__(self, other: Dimension) -> Dimension:
        return Dimension(
            tuple(a + b for a, b in zip(self.exponents, other.exponents, strict=True))
        )

    def __truediv__(self, other: Dimension) -> Dimension:
        return Dimension(
            tuple(a - b for a, b in zip(self.exponents, other.exponents, strict=True))
        )

    def __pow__(self, power: Fraction | int) -> Dimension:
        return Dimension(tuple(a * Fraction(power) for a in self.exponents))

    @property
    def dimensionless(self) -> bool:
        """Whether every exponent is zero."""
        return not any(self.exponents)

    def __str__(self) -> str:
        parts = [
            u if e == 1 else f"{u}**{e}" if e.denominator == 1 else f"{u}**({e})"
            for u, e in zip(BASE_UNITS, self.exponents, strict=True)
            if e
        ]
        return "*".join(parts) if parts else "1"


def _base(name: str) -> Dimension:
    return Dimension(tuple(Fraction(int(u == name)) for u in BASE_UNITS))


_M, _S, _KG, _K, _A = (_base(u) for u in ("m", "s", "kg", "K", "A"))
_NEWTON = _KG * _M / _S**2
_JOULE = _NEWTON * _M
_WATT = _JOULE / _S
_COULOMB = _A * _S
_VOLT = _WATT / _A

_UNITS: Mapping[str, Dimension] = {
    **{u: _base(u) for u in BASE_UNITS},
    "g": _KG,
    "Hz": Dimension() / _S,
    "N": _NEWTON,
    "J": _JOULE,
    "W": _WATT,
    "Pa": _NEWTON / _M**2,
    "C": _COULOMB,
    "V": _VOLT,
    "Ohm": _VOLT / _A,
    "F": _COULOMB / _VOLT,
    "Wb": _VOLT * _S,
    "H": _VOLT * _S / _A,
    "rad": Dimension(),
    "sr": Dimension(),
}
"""Unit names accepted by `unit_dimension` and their dimensions."""


def _unit_node(node: ast.AST, text: str) -> Dimension:
    """Dimension of one node of a parsed unit string."""
    if isinstance(node, ast.Name):
        if node.id == "T":
            msg = (
                f"Unit `T` in `{text}` is ambiguous (kelvin in the AI Feynman tables, tesla in SI); "
                "write `K` or `kg/(A*s**2)`."
            )
            raise UnitError(msg)
        if node.id not in _UNITS:
            msg = f"Unknown unit `{node.id}` in `{text}`. Known: {', '.join(sorted(_UNITS))}."
            raise UnitError(msg)
        return _UNITS[node.id]
    if (
        isinstance(node, ast.Constant)
        and node.value == 1
        and not isinstance(node.value, bool)
    ):
        return Dimension()
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            return _unit_node(node.left, text) ** _exponent(node.right, text)
        if isinstance(node.op, ast.Mult | ast.Div):
            left, right = _unit_node(node.left, text), _unit_node(node.right, text)
            return left * right if isinstance(node.op, ast.Mult) else left / right
    msg = f"Cannot read unit `{text}`: `{ast.unparse(node)}` is not a unit, `1`, or a product, quotient or power of units."
    raise UnitError(msg)


def _exponent(node: ast.AST, text: str) -> Fraction:
    """A unit exponent: an integer, a negated one, or a fraction p/q."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_exponent(node.operand, text)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _exponent(node.left, text) / _exponent(node.right, text)
    msg = f"Unit exponent `{ast.unparse(node)}` in `{text}` must be an integer or a fraction like `(1/2)`."
    raise UnitError(msg)


def unit_dimension(unit: str | Mapping[str, int | Fraction]) -> Dimension:
    """Read a unit string (or a mapping unit -> exponent) as a `Dimension`.

    Args:
        unit: E.g. ``"kg*m/s**2"``, ``"m"``, ``"1/s"``, ``""`` or ``"1"``
            (dimensionless), `^` allowed for `**`; or ``{"kg": 1, "s": -2}``.

    Returns:
        The dimension.

    Raises:
        UnitError: Unknown or ambiguous unit names, or syntax that is not a
            product, quotient or integer/fractional power of units.
    """
    if isinstance(unit, Mapping):
        result = Dimension()
        for name, power in unit.items():
            result = result * _unit_node(
                ast.Name(id=str(name)), str(dict(unit))
            ) ** Fraction(power)
        return result
    text = unit.replace("^", "**").strip()
    if text in ("", "1"):
        return Dimension()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        msg = f"Cannot read unit `{unit}`; write e.g. `kg*m/s**2`."
        raise UnitError(msg) from None
    return _unit_node(tree.body, unit)


@dataclass(frozen=True, slots=True)
class UnitCheck:
    """Result of `check_dimensions`.

    Example:
        >>> from lawloop.tools import parse_expression
        >>> expr = parse_expression("2*pi*sqrt(L/g)", ["L", "g"])
        >>> check_dimensions(expr, {"L": "m", "g": "m/s**2"}, "s").consistent
        True
    """

    consistent: bool
    """Whether the expression can have the target dimension."""
    message: str
    """Why not, naming the offending subexpression; or the dimension found."""


class _Inconsistent(Exception):
    """Raised internally with the message of a `UnitCheck`."""


# `None` is the dimension of an expression that contains a free parameter as
# a factor: the parameter can carry whatever dimension is needed.
_Dim = Dimension | None


def _exponent_fraction(exponent: sympy.Expr, context: sympy.Expr) -> Fraction:
    """A numeric exponent as a fraction (floats within 1e-9 of p/q, q <= 12)."""
    try:
        value = float(exponent)
        fraction = Fraction(value).limit_denominator(12)
    except (TypeError, ValueError, ArithmeticError):
        msg = f"`{context}` raises a dimensional quantity to the power {exponent}, which is not a finite real number."
        raise _Inconsistent(msg) from None
    if abs(float(fraction) - value) > 1e-9 * max(1.0, abs(value)):
        msg = f"`{context}` raises a dimensional quantity to the non-rational power {exponent}."
        raise _Inconsistent(msg)
    return fraction


class _Checker:
    """Infers dimensions bottom-up with the rules of `check_dimensions`."""

    def __init__(
        self, units: Mapping[str, Dimension], parameters: set[str], floats_free: bool
    ) -> None:
        self.units = units
        self.parameters = parameters
        self.floats_free = floats_free

    def dim(self, expr: sympy.Expr) -> _Dim:
        if isinstance(expr, sympy.Symbol):
            if expr.name in self.parameters:
                return None
            if expr.name not in self.units:
                msg = f"Variable `{expr.name}` has no unit; add it to `variable_units`."
                raise UnitError(msg)
            return self.units[expr.name]
        if isinstance(expr, sympy.Float) and self.floats_free:
            return None
        if expr.is_number:
            return Dimension()
        if isinstance(expr, sympy.Mul):
            dims = [self.dim(arg) for arg in expr.args]
            if any(d is None for d in dims):
                return None
            result = Dimension()
            for d in dims:
                result = result * d  # type: ignore[operator]
            return result
        if isinstance(expr, sympy.Add):
            return self._sum(expr)
        if isinstance(expr, sympy.Pow):
            return self._power(expr)
        if isinstance(expr, sympy.Abs):
            return self.dim(expr.args[0])
        if isinstance(expr, sympy.Function):
            for arg in expr.args:
                self._require_dimensionless(
                    arg, f"the argument of `{expr.func}` in `{expr}`"
                )
            return Dimension()
        msg = f"Cannot check the dimensions of `{expr}` ({type(expr).__name__})."
        raise _Inconsistent(msg)

    def _sum(self, expr: sympy.Add) -> _Dim:
        known: tuple[sympy.Expr, Dimension] | None = None
        for term in expr.args:
            d = self.dim(term)
            if d is None:
                continue
            if known is None:
                known = (term, d)
            elif d != known[1]:
                msg = f"Terms `{known[0]}` ({known[1]}) and `{term}` ({d}) of `{expr}` differ in dimension."
                raise _Inconsistent(msg)
        return None if known is None else known[1]

    def _power(self, expr: sympy.Pow) -> _Dim:
        base, exponent = expr.args
        if exponent.is_number:
            d = self.dim(base)
            if d is None or d.dimensionless:
                return d
            return d ** _exponent_fraction(exponent, expr)
        self._require_dimensionless(exponent, f"the exponent of `{expr}`")
        self._require_dimensionless(
            base, f"the base of `{expr}` (its exponent is not a number)"
        )
        return Dimension()

    def _require_dimensionless(self, expr: sympy.Expr, what: str) -> None:
        d = self.dim(expr)
        if d is not None and not d.dimensionless:
            msg = f"{what[0].upper()}{what[1:]} has dimension {d}; it must be dimensionless."
            raise _Inconsistent(msg)


def _carried(
    expr: sympy.Expr,
    units: Mapping[str, Dimension],
    target: Dimension,
    parameters: Sequence[str],
    floats_free: bool,
) -> str:
    """What the free parameters of a consistent law carry, in words.

    The law with its parameters taken as pure numbers has some dimension;
    the parameters carry the rest of the target's (`c0*sqrt(L/g)` for a
    period: nothing).
    """
    # The parameters as dimensionless variables, not replaced by 1: sympy
    # would evaluate what that leaves (80610346**80610346, a hang).
    bare_units = dict(units) | {p: Dimension() for p in parameters}
    try:
        bare = _Checker(bare_units, set(), floats_free).dim(expr)
    except (_Inconsistent, ArithmeticError, RecursionError, TypeError, ValueError):
        bare = None
    if bare is None:
        return (
            "consistent: its free parameters carry whatever dimension the target needs"
        )
    rest = target / bare
    if rest.dimensionless:
        return "consistent; its free parameters are dimensionless"
    return f"consistent: its free parameters carry the dimension {rest}"


def check_dimensions(
    expr: sympy.Expr,
    variable_units: Mapping[str, str | Mapping[str, int | Fraction]],
    target_unit: str | Mapping[str, int | Fraction],
    parameters: Sequence[str] = (),
    *,
    floats_free: bool = False,
) -> UnitCheck:
    """Check that `expr` can have the dimension of `target_unit`.

    Rules: numbers (and `pi`, `E`) are dimensionless, or, with
    `floats_free`, float literals are treated like parameters (for fitted
    expressions whose constants carry units). A free parameter takes
    whatever dimension is needed: a product with a parameter factor
    absorbs any dimension, so ``c0*f(x)`` is consistent with any target
    once ``f(x)`` is internally consistent. Each occurrence is treated on
    its own (the same parameter may adapt differently in two places).
    Terms of a sum must agree (terms with parameters adapt). Arguments of
    `exp`, `log`, `sin` and the other functions, non-numeric exponents and
    their bases must be dimensionless; `Abs` keeps its argument's
    dimension; numeric exponents must be rational (within 1e-9, q <= 12)
    unless the base is dimensionless. So ``log(x) - log(y)`` with
    dimensional x is inconsistent even though ``log(x/y)`` is not.

    Args:
        expr: The expression.
        variable_units: Unit of each variable (string or mapping).
        target_unit: Unit of the target observable.
        parameters: Names of free parameters.
        floats_free: Treat float literals as free parameters.

    Returns:
        The `UnitCheck`.

    Raises:
        UnitError: A unit cannot be read or a variable of `expr` has no unit.
        ExpressionError: sympy failed on a constant of `expr` beyond float64
            (one `parse_expression` refuses).
    """
    units = {name: unit_dimension(u) for name, u in variable_units.items()}
    target = unit_dimension(target_unit)
    checker = _Checker(units, set(parameters), floats_free)
    try:
        found = checker.dim(expr)
        if found is None:
            return UnitCheck(
                True, _carried(expr, units, target, parameters, floats_free)
            )
        if found != target:
            return UnitCheck(
                False, f"`{expr}` has dimension {found}; the target has {target}."
            )
    except _Inconsistent as exc:
        return UnitCheck(False, str(exc))
    except (ArithmeticError, RecursionError) as exc:
        # Printing a term for a message evaluates it; so may sympy's assumptions.
        raise unbounded_error(expr, exc, "cannot be checked for units") from None
    return UnitCheck(True, f"consistent: dimension {found}")
