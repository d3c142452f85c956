"""Unit strings: a tiny parser and printer over SI base symbols (no sympy)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from fractions import Fraction

SI_SYMBOLS: tuple[str, ...] = ("kg", "m", "s", "K", "A", "mol", "cd", "V")
"""Known unit symbols, in the order `format_unit` prints them."""


class UnitSyntaxError(ValueError):
    """A unit string is not a product of powers of known SI symbols."""


def format_unit(powers: Mapping[str, float | int | Fraction]) -> str:
    """Print a dimension as a unit string, e.g. `{"m": 1, "s": -2, "kg": 1}` -> `"kg*m/s**2"`.

    Args:
        powers: Exponent per SI symbol; zero exponents are dropped.

    Returns:
        The unit string; `""` for a dimensionless quantity.

    Raises:
        UnitSyntaxError: If a symbol is not one of `SI_SYMBOLS`.
    """
    unknown = sorted(set(powers) - set(SI_SYMBOLS))
    if unknown:
        msg = f"Unknown unit symbols {unknown}; known symbols are {list(SI_SYMBOLS)}."
        raise UnitSyntaxError(msg)
    num: list[str] = []
    den: list[str] = []
    for symbol in SI_SYMBOLS:
        power = Fraction(powers.get(symbol, 0)).limit_denominator(1000)
        if power == 0:
            continue
        target = num if power > 0 else den
        target.append(_power_text(symbol, abs(power)))
    if not num and not den:
        return ""
    text = "*".join(num) if num else "1"
    if den:
        text += "/" + (den[0] if len(den) == 1 else "(" + "*".join(den) + ")")
    return text


def _power_text(symbol: str, power: Fraction) -> str:
    """Print `symbol**power` with the exponent omitted when it is 1."""
    if power == 1:
        return symbol
    if power.denominator == 1:
        return f"{symbol}**{power.numerator}"
    return f"{symbol}**({power.numerator}/{power.denominator})"


def parse_unit(text: str) -> dict[str, Fraction]:
    """Parse a unit string into exponents per SI symbol.

    Accepts products and quotients of known symbols raised to integer or
    rational powers, e.g. `"kg*m/s**2"`, `"m**(1/2)"`, `"1/s"`, `""`.

    Args:
        text: The unit string.

    Returns:
        Non-zero exponents per symbol; `{}` for dimensionless.

    Raises:
        UnitSyntaxError: If `text` is not such a product.
    """
    if not isinstance(text, str):
        msg = f"A unit must be a string, got {type(text).__name__} `{text!r}`."
        raise UnitSyntaxError(msg)
    if not text.strip():
        return {}
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"Unit `{text}` is not valid syntax: {exc.msg}."
        raise UnitSyntaxError(msg) from None
    powers = _dims(tree.body, text)
    return {k: v for k, v in powers.items() if v != 0}


def _dims(node: ast.expr, text: str) -> dict[str, Fraction]:
    """Return the exponents of one unit sub-expression."""
    if isinstance(node, ast.Name):
        if node.id not in SI_SYMBOLS:
            msg = f"Unit `{text}` uses unknown symbol `{node.id}`; known: {list(SI_SYMBOLS)}."
            raise UnitSyntaxError(msg)
        return {node.id: Fraction(1)}
    if isinstance(node, ast.Constant) and node.value == 1 and type(node.value) is int:
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        left, right = _dims(node.left, text), _dims(node.right, text)
        sign = 1 if isinstance(node.op, ast.Mult) else -1
        out = dict(left)
        for key, value in right.items():
            out[key] = out.get(key, Fraction(0)) + sign * value
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _exponent(node.right, text)
        return {k: v * exponent for k, v in _dims(node.left, text).items()}
    msg = f"Unit `{text}` contains `{ast.unparse(node)}`, which is not a product of powers of SI symbols."
    raise UnitSyntaxError(msg)


def _exponent(node: ast.expr, text: str) -> Fraction:
    """Return an integer or rational exponent such as `2`, `-1` or `(1/2)`."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_exponent(node.operand, text)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant | ast.UnaryOp)
        and isinstance(node.right, ast.Constant)
        and type(node.right.value) is int
        and node.right.value != 0
    ):
        return _exponent(node.left, text) / node.right.value
    msg = f"Unit `{text}` has exponent `{ast.unparse(node)}`; use an integer or a ratio such as `(1/2)`."
    raise UnitSyntaxError(msg)
