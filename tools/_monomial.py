"""Products of named quantities to rational powers (`Monomial`), with their text and dimension."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lawloop.tools._units import Dimension, unit_dimension
from lawloop.tools.errors import UnitError

__all__ = ["Monomial", "as_dimension"]

_HALF = Fraction(1, 2)


def _factor_text(name: str, exponent: Fraction) -> str:
    """One factor of `Monomial.text` for a positive exponent."""
    if exponent == 1:
        return name
    if exponent == _HALF:
        return f"sqrt({name})"
    if exponent.denominator == 1:
        return f"{name}**{exponent.numerator}"
    return f"{name}**({exponent.numerator}/{exponent.denominator})"


def as_dimension(name: str, unit: str | Dimension) -> Dimension:
    """The dimension of one quantity's unit, naming the quantity on failure."""
    if isinstance(unit, Dimension):
        return unit
    try:
        return unit_dimension(unit)
    except UnitError as exc:
        msg = f"Unit of `{name}`: {exc}"
        raise UnitError(msg) from exc


@dataclass(frozen=True, slots=True)
class Monomial:
    """A product of named quantities raised to rational powers, e.g. T*sqrt(g)/sqrt(L).

    `pi_groups` returns its groups and scale as monomials; `text` gives a
    formula that `parse_expression` and `sympy.sympify` read, `evaluate`
    computes it on data columns.

    Example:
        >>> group = Monomial((("T", Fraction(1)), ("L", Fraction(-1, 2)), ("g", Fraction(1, 2))))
        >>> group.text()
        'T*sqrt(g)/sqrt(L)'
        >>> float(group.evaluate({"T": 2.0, "L": 1.0, "g": 9.0}))
        6.0
    """

    exponents: tuple[tuple[str, Fraction], ...]
    """(name, exponent) pairs with nonzero exponents, in the order the quantities were given."""

    def __str__(self) -> str:
        return self.text()

    @property
    def names(self) -> tuple[str, ...]:
        """The quantities that appear, in order."""
        return tuple(name for name, _ in self.exponents)

    def text(self) -> str:
        """The product as formula text: names, `*`, `/`, `**` and `sqrt` only.

        Factors with positive exponents come first, then ``/`` and those
        with negative exponents (in parentheses when there are several).
        An exponent of 1/2 is written ``sqrt(x)``, other fractions
        ``x**(1/3)``; the empty product is ``"1"``.

        Returns:
            E.g. ``"T*sqrt(g)/sqrt(L)"``, ``"m1*m2/r**2"``, ``"1/(L*g)"``.
        """
        top = [_factor_text(n, e) for n, e in self.exponents if e > 0]
        bottom = [_factor_text(n, -e) for n, e in self.exponents if e < 0]
        numerator = "*".join(top) or "1"
        if not bottom:
            return numerator
        denominator = bottom[0] if len(bottom) == 1 else f"({'*'.join(bottom)})"
        return f"{numerator}/{denominator}"

    def evaluate(self, values: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """The product evaluated on numbers or arrays (broadcast together).

        Integer exponents accept negative values; a fractional power of a
        negative value gives `nan` and a negative power of zero `inf`,
        without a warning (they are data, for the caller to filter).

        Args:
            values: A value or array for each name in `names` (more are
                ignored).

        Returns:
            A float64 array. The empty product is ones shaped like the
            broadcast of all `values` (a 0-d array when there are none).

        Raises:
            KeyError: A name of the product is missing from `values`.
        """
        if not self.exponents:
            return np.ones(np.broadcast_shapes(*(np.shape(v) for v in values.values())))
        result: np.ndarray | None = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for name, exponent in self.exponents:
                x = np.asarray(values[name], dtype=np.float64)
                if exponent.denominator == 1:
                    term = x ** int(exponent)
                elif exponent.denominator == 2:
                    # `sqrt` is correctly rounded; a float power of 0.5 need not be.
                    term = np.sqrt(x) ** exponent.numerator
                else:
                    term = np.power(x, float(exponent))
                result = term if result is None else result * term
        return np.asarray(result, dtype=np.float64)

    def dimension(self, units: Mapping[str, str | Dimension]) -> Dimension:
        """The dimension of the product.

        Args:
            units: A unit string or `Dimension` for each name in `names`.

        Returns:
            The product of each quantity's dimension to its exponent.

        Raises:
            UnitError: A name has no unit in `units`, or a unit is unreadable.
        """
        result = Dimension()
        for name, exponent in self.exponents:
            if name not in units:
                msg = (
                    f"`{name}` has no unit; add it to `units` (given: {sorted(units)})."
                )
                raise UnitError(msg)
            result = result * as_dimension(name, units[name]) ** exponent
        return result
