"""Repair a dimensionally inconsistent law with free dimensional constants.

A proposal like ``x + t`` (metres plus seconds) or ``exp(E)`` (an energy in
an exponent) cannot be fitted honestly. The physicist's repair is to
supply the constant the author left out: ``x + c1*t``, ``exp(c1*E)``; a law
of the wrong overall dimension gets a dimensional prefactor. The repaired
law is a new hypothesis; the original stays rejected on the record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction

import numpy as np
import sympy

from lawloop.tools._bounds import unbounded_error
from lawloop.tools._parse import machine_numbers, make_symbol
from lawloop.tools._units import (
    Dimension,
    _Checker,
    _Inconsistent,
    check_dimensions,
    unit_dimension,
)

__all__ = ["repair_units"]

_PROBE_POINTS = 24
_RANK_RTOL = 1e-7


def _fresh_names(taken: set[str]) -> Iterator[str]:
    i = 0
    while True:
        name = f"k{i}"
        i += 1
        if name not in taken:
            yield name


class _Repairer:
    """Rebuilds an expression bottom-up, inserting a parameter where dimensions clash."""

    def __init__(self, checker: _Checker, names: Iterator[str]) -> None:
        self.checker = checker
        self.names = names
        self.added: list[str] = []

    def _param(self) -> sympy.Symbol:
        name = next(self.names)
        self.added.append(name)
        self.checker.parameters.add(name)
        return make_symbol(name)

    def _dim(self, expr: sympy.Expr) -> Dimension | None:
        try:
            return self.checker.dim(expr)
        except _Inconsistent:
            return None  # repaired below or left for the final check to report

    def _dimensionless(self, expr: sympy.Expr) -> sympy.Expr:
        d = self._dim(expr)
        return expr if d is None or d.dimensionless else self._param() * expr

    def repair(self, expr: sympy.Expr, expected: Dimension | None = None) -> sympy.Expr:
        """`expr` mended; `expected` is the dimension its context asks for, if known."""
        if not expr.args or expr.is_number:
            return expr
        if isinstance(expr, sympy.Add):
            terms = [self.repair(a, expected) for a in expr.args]
            dims = [self._dim(t) for t in terms]
            known = [d for d in dims if d is not None]
            # The sum keeps the dimension its context expects when a term has
            # it, else its first term's: the fewest constants are inserted.
            reference = expected if expected in known else (known[0] if known else None)
            return sympy.Add(
                *[
                    self._param() * t if d is not None and d != reference else t
                    for t, d in zip(terms, dims, strict=True)
                ]
            )
        if isinstance(expr, sympy.Pow):
            base, exponent = (self.repair(a) for a in expr.args)
            if exponent.is_number:
                return base**exponent
            return self._dimensionless(base) ** self._dimensionless(exponent)
        if isinstance(expr, sympy.Function) and not isinstance(expr, sympy.Abs):
            return expr.func(
                *[self._dimensionless(self.repair(a, Dimension())) for a in expr.args]
            )
        return expr.func(*[self.repair(a) for a in expr.args])


def repair_units(
    expr: sympy.Expr,
    variable_units: Mapping[str, str | Mapping[str, int | Fraction]],
    target_unit: str | Mapping[str, int | Fraction],
    parameters: Sequence[str] = (),
) -> tuple[sympy.Expr, tuple[str, ...]] | None:
    """The law with free constants where its dimensions clash, or None if it cannot be mended.

    Terms of a sum that disagree with the first term get a parameter
    factor; dimensional arguments of functions and of non-numeric powers
    get one inside; a law of the wrong overall dimension gets a prefactor.
    New parameters are named `k0, k1, ...` (skipping names in use).

    Args:
        expr: The inconsistent law.
        variable_units: Unit of each variable.
        target_unit: Unit of the target.
        parameters: The law's existing free parameters.

    Returns:
        `(repaired law, names of the added parameters)`, or None when the
        law was consistent already or stays inconsistent after the repair.

    Raises:
        UnitError: A unit cannot be read.
        ExpressionError: sympy failed on a constant of `expr` beyond float64
            (one `parse_expression` refuses).

    Example:
        >>> x, t = make_symbol("x"), make_symbol("t")
        >>> repair_units(x + t, {"x": "m", "t": "s"}, "m")
        (k0*t + x, ('k0',))
    """
    if check_dimensions(expr, variable_units, target_unit, parameters).consistent:
        return None
    try:
        return _repaired(expr, variable_units, target_unit, parameters)
    except (ArithmeticError, RecursionError) as exc:
        raise unbounded_error(expr, exc, "cannot be repaired") from None


def _repaired(
    expr: sympy.Expr,
    variable_units: Mapping[str, str | Mapping[str, int | Fraction]],
    target_unit: str | Mapping[str, int | Fraction],
    parameters: Sequence[str],
) -> tuple[sympy.Expr, tuple[str, ...]] | None:
    """`repair_units` of a law known to be inconsistent."""
    units = {name: unit_dimension(u) for name, u in variable_units.items()}
    checker = _Checker(units, set(parameters), floats_free=False)
    taken = {s.name for s in expr.free_symbols} | set(parameters)
    repairer = _Repairer(checker, _fresh_names(taken))
    target = unit_dimension(target_unit)
    fixed = repairer.repair(expr, target)
    try:
        overall = checker.dim(fixed)
    except _Inconsistent:
        return None
    if overall is not None and overall != target:
        fixed = repairer._param() * fixed
    names = tuple(repairer.added)
    if not check_dimensions(
        fixed, variable_units, target_unit, [*parameters, *names]
    ).consistent:
        return None
    if _adds_redundancy(fixed, parameters, names):
        return None
    return fixed, names


def _jacobian(expr: sympy.Expr, params: Sequence[str]) -> np.ndarray | None:
    """The derivatives of `expr` in `params`: one random parameter vector, random inputs.

    None when a derivative is not finite there: the test cannot tell.
    """
    rng = np.random.default_rng(0)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    by_name = {s.name: s for s in symbols}
    columns = [
        machine_numbers(sympy.diff(expr, by_name[p])) if p in by_name else sympy.S.Zero
        for p in params
    ]
    # machine_numbers: NumPy has no sqrt of a Python int beyond int64 (a law
    # may carry one, e.g. sqrt(2384928624852116150570) from a constant's digits).
    f = sympy.lambdify(symbols, columns, modules="numpy")
    # Positive values near 1: logs and fractional powers stay real, and a
    # constant like `k0` in `(k0*L)**c1` is probed off its special points.
    values = [
        10.0 ** rng.uniform(-0.3, 0.3, 1 if s.name in params else _PROBE_POINTS)
        for s in symbols
    ]
    try:
        with np.errstate(all="ignore"):
            columns = [np.asarray(c) for c in f(*values)]
    except (ArithmeticError, TypeError, ValueError):
        return None  # an overflowing derivative: the test cannot tell
    if any(np.iscomplexobj(c) for c in columns):
        return None  # e.g. (-1)**c0: not real at the probe, the test cannot tell
    jac = np.column_stack(
        [np.broadcast_to(c.astype(float), (_PROBE_POINTS,)) for c in columns]
    )
    return jac if np.isfinite(jac).all() else None


def _rank(matrix: np.ndarray) -> int:
    if matrix.shape[1] == 0:
        return 0
    s = np.linalg.svd(matrix, compute_uv=False)
    return int(np.sum(s > _RANK_RTOL * s[0])) if s[0] > 0 else 0


def _adds_redundancy(
    expr: sympy.Expr, parameters: Sequence[str], added: Sequence[str]
) -> bool:
    """Whether some added constant only trades off against the law's other constants.

    ``c0*(k0*L)**c1`` mends the units of ``c0*L**c1`` but ``k0**c1`` is
    absorbed by ``c0``: the fit would wander along a valley and land
    wherever rounding sends it, and such a law says nothing the original
    does not. Checked numerically: the added constants must raise the rank
    of the Jacobian by their number.
    """
    jac = _jacobian(expr, [*parameters, *added])
    if jac is None:
        return False  # cannot tell: the fit will report what it finds
    return _rank(jac) < _rank(jac[:, : len(parameters)]) + len(added)
