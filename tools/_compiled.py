"""Sympy expressions compiled to numpy functions, and their evaluation as float arrays."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy

from lawloop.tools._parse import machine_numbers

__all__ = ["Array", "Compiled", "compile_expression", "evaluate_compiled"]

Array = np.ndarray
Compiled = Callable[..., object]


def compile_expression(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Compiled:
    """Lambdify with numpy, arguments renamed by position so any symbol name is safe."""
    return _compile_cached(expr, tuple(symbols))


# Lambdify is most of the cost of a fit started near its optimum, and the loop
# refits the same laws every iteration; compiled functions are pure, so reuse them.
@functools.lru_cache(maxsize=512)
def _compile_cached(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> Compiled:
    """`compile_expression`, remembered by expression and argument symbols.

    Not `dummify=True`: the printer orders a product's factors by their
    symbols' names, and a Dummy's name carries a process-wide counter, so the
    same law compiled after a different history multiplied in another order
    and differed in the last bits (a resumed campaign then recorded another
    covariance than an uninterrupted one). Positional names keep the order
    fixed; the assumptions are kept so nothing re-simplifies differently.
    """
    renamed = [
        sympy.Symbol(f"_lawloop_arg{i}", **s.assumptions0)
        for i, s in enumerate(symbols)
    ]
    body = machine_numbers(expr).xreplace(dict(zip(symbols, renamed, strict=True)))
    func: Compiled = sympy.lambdify(renamed, body, modules="numpy")
    return func


def evaluate_compiled(
    func: Compiled, args: Sequence[object], n: int | tuple[int, ...]
) -> Array:
    """Evaluate a compiled expression, broadcast to `n` (a length or shape) floats."""
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(func(*args))
            if np.iscomplexobj(out):
                out = np.where(np.abs(out.imag) > 0, np.nan, out.real)
            return np.broadcast_to(out.astype(float), n).copy()
        except (
            ValueError,
            TypeError,
            ZeroDivisionError,
            OverflowError,
            ArithmeticError,
        ):
            return np.full(n, np.nan)
