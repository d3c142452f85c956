"""Safe parsing of expression text into sympy, and printing that reads back.

The parser walks Python's `ast` (mode ``"eval"``) and builds sympy objects
node by node from a whitelist. It never calls `eval`, `sympify` or
`parse_expr` on the text, so no code in the text can run.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy
from sympy.printing.str import StrPrinter

from lawloop.tools._bounds import (
    GROWTH_LIMIT,
    check_constant,
    check_constants,
    constant_value,
    unbounded_error,
)
from lawloop.tools.errors import ExpressionError

__all__ = [
    "FUNCTIONS",
    "MAX_CALL_DEPTH",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_LITERAL",
    "expression_text",
    "machine_numbers",
    "make_symbol",
    "parse_expression",
]

MAX_LENGTH = 2000
"""Longest accepted expression text, in characters."""

MAX_DEPTH = 50
"""Deepest accepted nesting of operations in the syntax tree."""

MAX_CALL_DEPTH = 10
"""Deepest accepted nesting of function calls (``sin(exp(x))`` is two).

sympy's rewrites of nested functions (the canonical key, the units repair,
derivatives for the fit) cost more with each level; ten keeps a law's whole
trip well under a second, and a physical law rarely nests three.
"""

MAX_EXPONENT = 10.0
"""Largest accepted absolute value of a constant exponent."""

MAX_LITERAL = 1e100
"""Largest accepted absolute value of a numeric literal."""

_MAX_LOG10 = 300.0  # a constant power beyond 1e300 would overflow float64


def _square(x: sympy.Expr) -> sympy.Expr:
    return sympy.Pow(x, 2)


def _cube(x: sympy.Expr) -> sympy.Expr:
    return sympy.Pow(x, 3)


FUNCTIONS: Mapping[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "Abs": sympy.Abs,
    "abs": sympy.Abs,
    "acos": sympy.acos,
    "arccos": sympy.acos,
    "arcsin": sympy.asin,
    "arctan": sympy.atan,
    "asin": sympy.asin,
    "atan": sympy.atan,
    "cos": sympy.cos,
    "cosh": sympy.cosh,
    "cube": _cube,
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "sinh": sympy.sinh,
    "sqrt": sympy.sqrt,
    "square": _square,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
}
"""Functions a text may call, each of one positional argument."""

_CONSTANTS: Mapping[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}

_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}

_GROWING = (sympy.exp, sympy.sinh, sympy.cosh)  # functions that overflow first

_BAD_RESULTS = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I)


def make_symbol(
    name: str, assumptions: Mapping[str, Any] | None = None
) -> sympy.Symbol:
    """Return the sympy symbol `parse_expression` uses for a declared name.

    Args:
        name: The declared variable or parameter name.
        assumptions: Extra sympy assumptions (e.g. ``{"positive": True}``);
            ``real=True`` is always set.

    Returns:
        ``sympy.Symbol(name, real=True, **assumptions)``.
    """
    return sympy.Symbol(name, **{"real": True, **dict(assumptions or {})})


def _check_names(variables: Sequence[str], parameters: Sequence[str]) -> None:
    """Refuse declared names the parser could not tell apart from syntax."""
    seen: set[str] = set()
    for name in [*variables, *parameters]:
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or keyword.iskeyword(name)
        ):
            msg = f"Declared name {name!r} is not a Python identifier; rename it (e.g. `lambda_`)."
            raise ExpressionError(msg)
        if name.startswith("_"):
            msg = (
                f"Declared name `{name}` starts with `_`, which is reserved; rename it."
            )
            raise ExpressionError(msg)
        if name in FUNCTIONS:
            msg = f"Declared name `{name}` is also a function name; rename it."
            raise ExpressionError(msg)
        if name in seen:
            msg = f"Name `{name}` is declared twice (as variable and parameter, or repeated)."
            raise ExpressionError(msg)
        seen.add(name)


class _Builder:
    """Turns a whitelisted `ast` tree into a sympy expression."""

    def __init__(self, symbols: Mapping[str, sympy.Symbol]) -> None:
        self.symbols = symbols
        self.calls = 0  # function calls open around the node being built

    def build(self, node: ast.AST, depth: int = 0) -> sympy.Expr:
        if depth > MAX_DEPTH:
            msg = f"Expression is nested deeper than {MAX_DEPTH} levels; simplify it."
            raise ExpressionError(msg)
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(_describe_refused(node))
        try:
            result: sympy.Expr = method(node, depth + 1)
        except ExpressionError:
            raise
        # sympy's own evaluation of what was built: 1.0/0.0 divides by zero,
        # acos(cos(6e127)) cannot decide how to reduce its angle.
        except (ArithmeticError, TypeError, ValueError, AttributeError) as exc:
            detail = f": {str(exc)[:120]}" if str(exc) else ""
            msg = (
                f"`{ast.unparse(node)[:80]}` cannot be evaluated "
                f"({type(exc).__name__}{detail}); write the law without it."
            )
            raise ExpressionError(msg) from None
        # Every constant is bounded where it is built, so nothing later (sympy's
        # own evaluation included) computes on an unbounded one.
        if result.is_number and isinstance(node, ast.expr):
            check_constant(result, lambda: ast.unparse(node))
        return result

    def _Constant(self, node: ast.Constant, depth: int) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"Literal {value!r} is not allowed; only int and float numbers are."
            raise ExpressionError(msg)
        # An int is compared exactly: `math.isfinite` of one beyond float range overflows.
        if (isinstance(value, float) and not math.isfinite(value)) or abs(
            value
        ) > MAX_LITERAL:
            msg = f"Numeric literal {value!r} is too large (limit {MAX_LITERAL:g})."
            raise ExpressionError(msg)
        if isinstance(value, int):
            return sympy.Integer(value)
        return sympy.Float(value)

    def _Name(self, node: ast.Name, depth: int) -> sympy.Expr:
        name = node.id
        if name.startswith("__"):
            msg = f"Dunder name `{name}` is not allowed."
            raise ExpressionError(msg)
        if name in self.symbols:
            return self.symbols[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in FUNCTIONS:
            msg = f"Function `{name}` must be called, e.g. `{name}(x)`."
            raise ExpressionError(msg)
        known = sorted([*self.symbols, "pi", "E"])
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        msg = (
            f"Name `{name}` is not a declared variable or parameter.{hint} "
            f"Declared: {', '.join(f'`{k}`' for k in sorted(self.symbols)) or 'none'}."
        )
        raise ExpressionError(msg)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> sympy.Expr:
        operand = self.build(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        msg = f"Unary operator `{type(node.op).__name__}` is not allowed; use + or -."
        raise ExpressionError(msg)

    def _BinOp(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        left = self.build(node.left, depth)
        right = self.build(node.right, depth)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            msg = f"Operator `{type(node.op).__name__}` is not allowed; use + - * / **."
            raise ExpressionError(msg)
        result: sympy.Expr = op(left, right)
        return result

    def _Call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            msg = f"Only plain function names may be called; got `{ast.unparse(node.func)}`."
            raise ExpressionError(msg)
        name = node.func.id
        if name.startswith("__"):
            msg = f"Dunder name `{name}` is not allowed."
            raise ExpressionError(msg)
        func = FUNCTIONS.get(name)
        if func is None:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            msg = f"Function `{name}` is not allowed.{hint} Allowed: {', '.join(sorted(FUNCTIONS))}."
            raise ExpressionError(msg)
        if node.keywords:
            msg = f"Keyword arguments are not allowed in `{name}(...)`."
            raise ExpressionError(msg)
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            msg = f"Function `{name}` takes exactly one positional argument; got {len(node.args)}."
            raise ExpressionError(msg)
        if self.calls >= MAX_CALL_DEPTH:
            msg = (
                f"Function calls are nested deeper than {MAX_CALL_DEPTH} levels "
                f"(at `{ast.unparse(node)[:60]}`); simplify the law."
            )
            raise ExpressionError(msg)
        self.calls += 1
        arg = self.build(node.args[0], depth)
        self.calls -= 1
        # Refused before sympy evaluates it: exp(1e100) has an exponent of
        # 4e99 digits, and exp of that cannot be computed at all.
        if func in _GROWING and arg.is_number:
            value = constant_value(arg)
            if abs(value.real) > GROWTH_LIMIT and (
                func is not sympy.exp or value.real > 0
            ):
                msg = (
                    f"Constant `{ast.unparse(node)[:80]}` is beyond 1e300: "
                    f"`{name}` of {value.real:.6g} overflows float64 (the argument "
                    f"must stay below {GROWTH_LIMIT:.1f}). Write the law without it, "
                    "or with a free parameter in its place."
                )
                raise ExpressionError(msg)
        return func(arg)


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """Build ``base**exponent``, refusing huge constant exponents and powers."""
    if exponent.is_number:
        if abs(constant_value(exponent)) > MAX_EXPONENT:
            msg = f"Exponent `{exponent}` is too large (absolute value above {MAX_EXPONENT:g})."
            raise ExpressionError(msg)
        if base.is_number:
            magnitude = abs(constant_value(base))
            size = (
                abs(constant_value(exponent)) * abs(math.log10(magnitude))
                if magnitude > 0
                else 0.0
            )
            if size > _MAX_LOG10:
                msg = f"Constant power `({str(base)[:40]})**({exponent})` is too large."
                raise ExpressionError(msg)
    elif base.is_number:
        _check_exponential(base, exponent)
    return sympy.Pow(base, exponent)


def _constant_powers(expr: sympy.Expr) -> list[sympy.Pow]:
    """The powers in `expr` of a constant to an exponent with symbols."""
    return [
        node
        for node in sympy.preorder_traversal(expr)
        if isinstance(node, sympy.Pow)
        and node.base.is_number
        and not node.exp.is_number
    ]


def _check_exponential(base: sympy.Expr, exponent: sympy.Expr) -> None:
    """Refuse ``0**u`` and nested exponentials of constants such as ``2**(3**x)``.

    Neither is physics, and both defeat sympy: the rewrites after parsing
    treat symbols as positive, so ``0**u`` becomes 0, an exponent above it
    a number, and a constant to that number an exact power with millions of
    digits (``80610346**80610346``) that sympy computes before going on.
    """
    if base.is_zero:
        msg = f"Power `0**({str(exponent)[:40]})` of zero is 0 or undefined; write the law without it."
        raise ExpressionError(msg)
    inner = _constant_powers(exponent)
    if inner:
        msg = (
            f"Nested exponential `({str(base)[:20]})**({str(inner[0])[:40]}...)`: a constant "
            "to a power that holds a constant to a variable power is not allowed; "
            "write the law without it."
        )
        raise ExpressionError(msg)


def _describe_refused(node: ast.AST) -> str:
    """Explain why a syntax node is refused."""
    piece = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    reasons: dict[type[ast.AST], str] = {
        ast.Attribute: "Attribute access",
        ast.Subscript: "Subscripts",
        ast.Lambda: "Lambdas",
        ast.ListComp: "Comprehensions",
        ast.SetComp: "Comprehensions",
        ast.DictComp: "Comprehensions",
        ast.GeneratorExp: "Comprehensions",
        ast.Compare: "Comparisons",
        ast.BoolOp: "Boolean operators",
        ast.Starred: "Starred arguments",
        ast.IfExp: "Conditional expressions",
        ast.NamedExpr: "Assignment expressions",
        ast.JoinedStr: "Strings",
    }
    what = reasons.get(type(node), f"`{type(node).__name__}` syntax")
    return f"{what} not allowed: `{piece}`. Write a formula of declared names, numbers, + - * / ** and allowed functions."


def parse_expression(
    text: str,
    variables: Sequence[str],
    parameters: Sequence[str] = (),
    *,
    assumptions: Mapping[str, Mapping[str, Any]] | None = None,
) -> sympy.Expr:
    """Parse formula text into a sympy expression without evaluating code.

    `^` is read as a power (symbolic-regression tools print it). Every
    declared name becomes `make_symbol(name, assumptions.get(name))`, so the
    same declarations always give identical symbols. Declared names take
    precedence over the constants `pi`, `E` and `e`.

    Args:
        text: The formula, e.g. ``"c0*sqrt(L/g)"``.
        variables: Names of the measured variables.
        parameters: Names of free constants to be fitted.
        assumptions: Optional extra sympy assumptions per name, e.g.
            ``{"L": {"positive": True}}``.

    Returns:
        The sympy expression.

    Raises:
        ExpressionError: The text is too long or nested too deeply
            (`MAX_LENGTH`, `MAX_DEPTH`, `MAX_CALL_DEPTH`), is not an
            expression, uses a construct outside the whitelist, an undeclared
            name, a function not allowed, a huge exponent or literal, or a
            constant that is not a real number within 1e300 (``exp(1e100)``,
            ``sqrt(-1)``, also one sympy joins from parts); or gives a
            non-real or infinite result. The message names the offending piece.

    Example:
        >>> parse_expression("2*pi*sqrt(L/g)", ["L", "g"])
        2*pi*sqrt(L/g)
    """
    if not isinstance(text, str):
        msg = f"Expression must be a string; got {type(text).__name__}."
        raise ExpressionError(msg)
    if len(text) > MAX_LENGTH:
        msg = f"Expression text is {len(text)} characters long; the limit is {MAX_LENGTH}."
        raise ExpressionError(msg)
    _check_names(variables, parameters)
    extra = assumptions or {}
    unknown = set(extra) - {*variables, *parameters}
    if unknown:
        msg = f"Assumptions given for undeclared names: {', '.join(sorted(unknown))}."
        raise ExpressionError(msg)
    symbols = {
        name: make_symbol(name, extra.get(name)) for name in [*variables, *parameters]
    }
    source = text.replace("^", "**").strip()
    if not source:
        msg = "Expression text is empty."
        raise ExpressionError(msg)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        detail = getattr(exc, "msg", None) or str(exc)
        msg = f"Not a single expression ({detail}): `{text[:80]}`. Statements and imports are not allowed."
        raise ExpressionError(msg) from None
    try:
        expr = _Builder(symbols).build(tree.body)
    except RecursionError:
        msg = f"Expression is nested too deeply (limit {MAX_DEPTH})."
        raise ExpressionError(msg) from None
    if expr.has(*_BAD_RESULTS):
        msg = f"Expression `{text[:80]}` evaluates to a non-real or infinite value (`{expr}`)."
        raise ExpressionError(msg)
    check_constants(expr)
    return expr


class _ReadBackPrinter(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    """`str` printer whose floats keep full double precision."""

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))


def machine_numbers(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with exact numbers beyond float64 integers turned into floats.

    Laws keep constants of nature as exact decimals (so snapping leaves
    them alone), but NumPy cannot take `sqrt` of a Python integer above
    2**63; this is the form to evaluate numerically.

    Example:
        >>> machine_numbers(sympy.sqrt(sympy.Integer(10) ** 20 + 1) * make_symbol("x"))
        10000000000.0*x
    """
    big = {
        r: sympy.Float(r)
        for r in expr.atoms(sympy.Rational)
        if not r.is_Integer or abs(int(r)) > 2**53
    }
    small_ratios = {r for r in big if not r.is_Integer and abs(r.q) <= 12}  # exponents
    return expr.xreplace({r: f for r, f in big.items() if r not in small_ratios})


def expression_text(expr: sympy.Expr) -> str:
    """Print an expression so that `parse_expression` reads it back equal.

    Floats are printed with full double precision (``repr``), constants as
    `pi` and `E`, absolute values as `Abs`, rationals as ``p/q``. A sympy
    float that is not a float64 value (sympy arithmetic can leave the
    float64 range, e.g. 1e-309) reads back as the nearest float64.

    Args:
        expr: A sympy expression made of symbols, numbers and the functions
            `parse_expression` allows.

    Returns:
        The text.

    Raises:
        ExpressionError: The expression cannot be printed: printing a sum
            evaluates its terms to order them, and a constant beyond float64
            (which `parse_expression` refuses) may not evaluate.
    """
    try:
        return str(_ReadBackPrinter({"order": None}).doprint(expr))
    except (ArithmeticError, RecursionError) as exc:
        raise unbounded_error(expr, exc, "cannot be printed") from None
