"""Dimensional analysis: Buckingham pi groups and a dimensional scale for a target.

Given the units of the input quantities of an experiment and of its target,
`pi_groups` finds a small basis of dimensionless products of the inputs (the
Buckingham pi groups) and a product of the inputs with the target's
dimension (the scale). Any dimensionally consistent law then reads
``target = scale * f(groups)``, which turns a search over n inputs into one
over n - rank dimensionless groups.

The groups are built from the circuits of the dimension matrix: the
products whose quantities are minimal (no proper subset has a dimensionless
product). Circuits use few quantities and have the smallest integer
exponents for their quantities, which is what makes a group readable
(``m1/m2``, ``rho*v*L/mu``) rather than an arbitrary null-space basis.
Floating point (batched Gram determinants) only proposes; every group and
scale is checked, or computed, in exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb as binomial

from lawloop.tools._dimension_matrix import (
    DimensionMatrix,
    Row,
    circuits_among,
    eliminate,
    primitive,
    scales_among,
    subsets_without,
)
from lawloop.tools._monomial import Monomial, as_dimension
from lawloop.tools._units import Dimension
from lawloop.tools.errors import UnitError

__all__ = ["PiBasis", "pi_groups"]


@dataclass(frozen=True, slots=True)
class PiBasis:
    """Result of `pi_groups`: a scale for the target and a basis of dimensionless groups.

    A dimensionally consistent law for the target has the form
    ``target = scale * f(*groups)``, i.e. ``target_group() = f(*groups)``.

    Example:
        >>> basis = pi_groups({"L": "m", "g": "m/s**2", "m": "kg", "theta0": "rad"}, "T", "s")
        >>> basis.target_group().text(), [g.text() for g in basis.groups]
        ('T*sqrt(g)/sqrt(L)', ['theta0'])
    """

    scale: Monomial | None
    """A product of the inputs with the target's dimension; `None` when no product of the inputs has it."""
    groups: tuple[Monomial, ...]
    """An independent basis of dimensionless products of the inputs (n_inputs - rank of them)."""
    target: str
    """Name of the target quantity."""

    @property
    def reachable(self) -> bool:
        """Whether some product of the inputs has the target's dimension."""
        return self.scale is not None

    def target_group(self) -> Monomial | None:
        """The dimensionless target, ``target * scale**-1``; `None` when unreachable."""
        if self.scale is None:
            return None
        inverse = tuple((name, -e) for name, e in self.scale.exponents)
        return Monomial(((self.target, Fraction(1)), *inverse))


# Above this many subsets of one size the search for small groups stops, and
# the exact basis completes the groups (from about 16 quantities on).
_MAX_SUBSETS = 20_000


class _GroupPicker:
    """Greedy choice of linearly independent integer vectors, in `_circuit_key` order."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.basis: list[Row] = []
        self.chosen: list[tuple[int, ...]] = []

    @property
    def complete(self) -> bool:
        return len(self.chosen) == self.wanted

    def offer(self, vectors: Sequence[tuple[int, ...]]) -> None:
        for vector in sorted(vectors, key=_circuit_key):
            if self.complete:
                return
            vec, _ = eliminate(list(vector), [], self.basis)
            if any(vec):
                pivot = next(i for i, x in enumerate(vec) if x)
                self.basis.append((pivot, vec, []))
                self.chosen.append(vector)


def _circuit_key(vector: tuple[int, ...]) -> tuple[int, int, int, tuple[int, ...]]:
    """Preference order of groups: fewer quantities, smaller exponents, earlier inputs."""
    support = tuple(i for i, x in enumerate(vector) if x)
    return (
        len(support),
        sum(abs(x) for x in vector),
        max(abs(x) for x in vector),
        support,
    )


def _scale_key(
    solution: dict[int, Fraction],
) -> tuple[int, int, Fraction, tuple[int, ...]]:
    """Preference order of scales: fewer quantities, smaller denominators, smaller exponents."""
    return (
        len(solution),
        max((e.denominator for e in solution.values()), default=1),
        sum((abs(e) for e in solution.values()), Fraction(0)),
        tuple(sorted(solution)),
    )


def _monomial(names: Sequence[str], exponents: Sequence[Fraction | int]) -> Monomial:
    """The monomial of an exponent vector over `names`."""
    return Monomial(
        tuple((n, Fraction(e)) for n, e in zip(names, exponents, strict=True) if e)
    )


def pi_groups(
    quantities: Mapping[str, str | Dimension],
    target: str,
    target_unit: str | Dimension,
    *,
    max_exponent: int = 3,
) -> PiBasis:
    """Buckingham pi analysis: dimensionless groups of the inputs and a scale for the target.

    Groups are integer, primitive (gcd of exponents 1) products of the
    inputs. Candidates are the minimal dimensionless products (for each
    subset of inputs whose only dimensionless product uses all of them);
    they are chosen greedily by (number of quantities, sum of
    ``|exponents|``, largest ``|exponent|``, positions in input order)
    while they stay linearly independent. Candidates with an exponent
    beyond `max_exponent` come only after all others, and an exact
    null-space basis completes the groups if needed, so there are always
    ``n_inputs - rank`` of them. Each group has the sign that makes the
    sum of its exponents positive (on a tie, its first exponent positive).
    A dimensionless input is a group by itself.

    The scale is the product with the target's dimension that uses the
    fewest quantities, then the smallest denominators, then the smallest
    sum of ``|exponents|`` (it may hold fractions such as 1/2). Inputs
    that fit neither a group nor the scale (the mass of a pendulum) do
    not appear. All exponents are exact: floating point only proposes
    them, and each is checked in integer arithmetic.

    Args:
        quantities: Unit (string or `Dimension`) of each input quantity, in
            the order that breaks ties.
        target: Name of the target quantity (not one of `quantities`).
        target_unit: Unit of the target.
        max_exponent: Largest ``|exponent|`` of a preferred group.

    Returns:
        The `PiBasis`.

    Raises:
        UnitError: A unit cannot be read, or `target` is also an input.

    Example:
        >>> units = {"m1": "kg", "m2": "kg", "r": "m", "G": "m**3/(kg*s**2)"}
        >>> basis = pi_groups(units, "F", "kg*m/s**2")
        >>> basis.scale.text(), [g.text() for g in basis.groups]
        ('m1**2*G/r**2', ['m1/m2'])
    """
    names = list(quantities)
    n = len(names)
    matrix = _dimension_matrix(quantities, target, target_unit)

    # One exact pass over all columns gives the rank, the fallback groups
    # (each dependent column with the independent ones before it) and
    # whether any product of the inputs has the target's dimension.
    full_basis, fundamental = matrix.span(range(n))
    picker = _GroupPicker(len(fundamental))
    fallback_scale = matrix.solve(full_basis)
    # A dimensionless target needs no scale: the empty product, "1".
    need_scale = any(matrix.target) and fallback_scale is not None
    circuits, scale = _small_groups(
        matrix, len(full_basis), picker, need_scale, max_exponent
    )
    # Circuits over the exponent cap, then the exact basis, which always
    # completes the groups.
    picker.offer([c for c in circuits if max(map(abs, c)) > max_exponent])
    picker.offer([primitive(f) for f in fundamental])
    if not any(matrix.target):
        scale = {}
    elif scale is None:
        scale = fallback_scale

    return PiBasis(
        scale=None
        if scale is None
        else _monomial(names, [scale.get(i, 0) for i in range(n)]),
        groups=tuple(_monomial(names, c) for c in picker.chosen),
        target=target,
    )


def _dimension_matrix(
    quantities: Mapping[str, str | Dimension],
    target: str,
    target_unit: str | Dimension,
) -> DimensionMatrix:
    """The dimension matrix of the inputs and the target; refuses a target among the inputs."""
    if target in quantities:
        msg = f"The target `{target}` is also an input; remove it from `quantities` ({sorted(quantities)})."
        raise UnitError(msg)
    dims = [as_dimension(name, unit) for name, unit in quantities.items()]
    return DimensionMatrix(dims, as_dimension(target, target_unit))


def _small_groups(
    matrix: DimensionMatrix,
    rank: int,
    picker: _GroupPicker,
    need_scale: bool,
    max_exponent: int,
) -> tuple[list[tuple[int, ...]], dict[int, Fraction] | None]:
    """Offer `picker` the circuits of few quantities; return all circuits found, and the best scale if sought and found.

    The subsets of inputs are searched by size, skipping those that hold a
    circuit already found: the rest are circuits when dependent, and may
    carry the scale when independent.
    """
    n = matrix.n
    scale: dict[int, Fraction] | None = None
    circuits: list[tuple[int, ...]] = []
    for size in range(1, rank + 2):
        if (picker.complete and not need_scale) or binomial(n, size) > _MAX_SUBSETS:
            break
        subsets = subsets_without(n, size, circuits)
        if not len(subsets):
            break
        new, independent = circuits_among(matrix, subsets)
        circuits += new
        picker.offer([c for c in new if max(map(abs, c)) <= max_exponent])
        if need_scale and independent.any():
            solutions = scales_among(matrix, subsets[independent])
            if solutions:
                scale, need_scale = min(solutions, key=_scale_key), False
    return circuits, scale
