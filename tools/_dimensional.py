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
from itertools import combinations
from math import comb as binomial
from math import gcd, lcm

import numpy as np
from lawloop.tools._units import Dimension, parse_unit
from lawloop.tools.errors import UnitError

__all__ = ["Monomial", "PiBasis", "pi_groups"]

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


def _as_dimension(name: str, unit: str | Dimension) -> Dimension:
    """The dimension of one quantity's unit, naming the quantity on failure."""
    if isinstance(unit, Dimension):
        return unit
    try:
        return parse_unit(unit)
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
            result = result * _as_dimension(name, units[name]) ** exponent
        return result


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

# Largest smallest exponent tried when reading a floating-point null vector
# as integers; vectors not read this way are computed exactly.
_MAX_MULTIPLE = 64

_EPS = float(np.finfo(np.float64).eps)

# Bound on the integers checked in bulk with int64 (sums stay below 2**63).
_SMALL = 2**20

# One element of an echelon basis: the pivot row, the reduced vector, and the
# combination of columns (the target in the last slot) that produced it.
_Row = tuple[int, list[int], list[int]]


def _reduce(
    vec: list[int], comb: list[int], basis: Sequence[_Row]
) -> tuple[list[int], list[int]]:
    """Eliminate the pivots of `basis` from `vec`, fraction-free, tracking `comb`."""
    for pivot, bvec, bcomb in basis:
        a = vec[pivot]
        if a:
            b = bvec[pivot]
            vec = [b * x - a * y for x, y in zip(vec, bvec, strict=True)]
            comb = [b * x - a * y for x, y in zip(comb, bcomb, strict=True)]
    return vec, comb


def _primitive(vector: Sequence[int]) -> tuple[int, ...]:
    """Integer vector divided by its gcd, with the sign that favours positive exponents.

    The sign makes the sum of exponents positive; on a tie the first nonzero
    exponent is positive (`m1/m2`, not `m2/m1`).
    """
    g = gcd(*vector)
    primitive = [x // g for x in vector]
    total = sum(primitive)
    first = next(x for x in primitive if x)
    if total < 0 or (total == 0 and first < 0):
        primitive = [-x for x in primitive]
    return tuple(primitive)


class _Matrix:
    """The dimension matrix of a `pi_groups` call, with exact linear algebra.

    Each base unit's row is multiplied by the lcm of its denominators (which
    keeps every solution of ``D v = t``); base units that appear nowhere
    are dropped. `gram` holds the dot products of the columns and the
    target (index n): small integers, exact in floating point.
    """

    def __init__(self, dims: Sequence[Dimension], target: Dimension) -> None:
        self.n = len(dims)
        self.columns: list[list[int]] = [[] for _ in dims]
        self.target: list[int] = []
        for i, t in enumerate(target.exponents):
            row = [d.exponents[i] for d in dims]
            if any(row) or t:
                factor = lcm(t.denominator, *(e.denominator for e in row))
                for column, e in zip(self.columns, row, strict=True):
                    column.append(int(e * factor))
                self.target.append(int(t * factor))
        a = np.zeros((self.n + 1, len(self.target)))
        a[:] = [*self.columns, self.target]
        self.gram = a @ a.T
        # An integer copy (target in the last column) for checking guesses
        # in bulk: with entries and guesses below _SMALL, int64 sums cannot
        # overflow. Otherwise every answer is computed exactly one by one.
        self.checkable = bool(np.all(np.abs(a) < _SMALL))
        self.integers = np.zeros((len(self.target), self.n + 1), dtype=np.int64)
        if self.checkable:
            self.integers[:] = a.T

    def span(self, subset: Sequence[int]) -> tuple[list[_Row], list[list[int]]]:
        """Echelon basis of the columns in `subset`, and the combination found for each dependent column."""
        basis: list[_Row] = []
        dependencies: list[list[int]] = []
        for j in subset:
            unit = [int(i == j) for i in range(self.n + 1)]
            vec, comb = _reduce(self.columns[j], unit, basis)
            if any(vec):
                g = gcd(*vec, *comb)
                pivot = next(i for i, x in enumerate(vec) if x)
                basis.append((pivot, [x // g for x in vec], [x // g for x in comb]))
            else:
                dependencies.append(comb[: self.n])
        return basis, dependencies

    def solve(self, basis: Sequence[_Row]) -> dict[int, Fraction] | None:
        """Exponents of the columns of `basis` that give the target, or `None`."""
        vec, comb = _reduce(self.target, [0] * self.n + [1], basis)
        if any(vec):
            return None
        return {i: Fraction(-comb[i], comb[self.n]) for i in range(self.n) if comb[i]}

    def products(self, subsets: np.ndarray, exponents: np.ndarray) -> np.ndarray:
        """Scaled dimensions of the products of each subset's columns (one row each).

        Only meaningful when `checkable`.
        """
        products: np.ndarray = np.einsum(
            "mck,ck->cm", self.integers[:, subsets], exponents
        )
        return products

    def circuit(self, subset: Sequence[int]) -> tuple[int, ...] | None:
        """The dimensionless product using every column of `subset`, if it is a circuit."""
        _, dependencies = self.span(subset)
        if len(dependencies) != 1 or not all(dependencies[0][i] for i in subset):
            return None
        return _primitive(dependencies[0])

    def scale(self, subset: Sequence[int]) -> dict[int, Fraction] | None:
        """Exponents of the columns of `subset` that give the target, if they are independent."""
        basis, dependencies = self.span(subset)
        return None if dependencies else self.solve(basis)


def _singular(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which Gram blocks are singular, and where floating point cannot tell.

    Gram determinants of integer columns are integers (Cauchy-Binet), so
    ``|det| < 0.5`` means zero. The rounding error of an LU determinant of
    a positive semidefinite matrix stays below about ``k**3 * eps * H *
    max(diag) / min(diag)``, with ``H`` the product of the diagonal (a
    bound on the determinant); where that reaches 1/4, decide exactly.
    """
    k = blocks.shape[-1]
    diagonal = np.diagonal(blocks, axis1=1, axis2=2)
    error = (
        16
        * k**3
        * _EPS
        * np.prod(diagonal, axis=1)
        * diagonal.max(axis=1)
        / np.maximum(diagonal.min(axis=1), 1.0)
    )
    return np.abs(np.linalg.det(blocks)) < 0.5, error >= 0.25


def _integer_guesses(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row read as proportional to small integers, and which rows could be read."""
    size = np.abs(vectors)
    smallest = size.min(axis=1, keepdims=True)
    full = smallest[:, 0] > 1e-9 * size.max(axis=1)
    # A primitive integer vector is its row divided by its smallest entry,
    # times that entry (an integer up to _MAX_MULTIPLE here).
    ratios = vectors / np.where(smallest > 0, smallest, 1.0)
    scaled = ratios[:, None, :] * np.arange(1, _MAX_MULTIPLE + 1)[None, :, None]
    rounded = np.round(scaled)
    close = np.all(
        np.abs(scaled - rounded) < 1e-7 * np.maximum(1.0, np.abs(rounded)), axis=2
    )
    first = close.argmax(axis=1)
    numerators = rounded[np.arange(len(vectors)), first]
    found = full & close.any(axis=1) & np.all(np.abs(numerators) < _SMALL, axis=1)
    return np.where(found[:, None], numerators, 0).astype(np.int64), found


def _subsets(n: int, size: int, circuits: Sequence[tuple[int, ...]]) -> np.ndarray:
    """The subsets of `size` columns (rows of indices) that hold none of `circuits`."""
    subsets = np.array(list(combinations(range(n), size)), dtype=np.intp)
    member = np.zeros((len(subsets), n), dtype=bool)
    member[np.arange(len(subsets))[:, None], subsets] = True
    free = np.ones(len(subsets), dtype=bool)
    for circuit in circuits:
        free &= ~member[:, [i for i, x in enumerate(circuit) if x]].all(axis=1)
    return subsets[free]


def _circuits(
    matrix: _Matrix, subsets: np.ndarray
) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """The circuits among subsets that hold no smaller circuit, and which subsets are independent.

    Such a subset is a circuit exactly when it is dependent.
    """
    blocks = matrix.gram[subsets[:, :, None], subsets[:, None, :]]
    dependent, unsure = _singular(blocks)
    circuits: list[tuple[int, ...]] = []
    independent = np.ones(len(subsets), dtype=bool)
    sure = np.flatnonzero(dependent & ~unsure)
    if len(sure) and matrix.checkable:
        # The eigenvector of the zero eigenvalue spans the null space.
        vectors = np.linalg.eigh(blocks[sure])[1][:, :, 0]
        numerators, found = _integer_guesses(vectors)
        found &= ~matrix.products(subsets[sure], numerators).any(axis=1)
        for i, exponents in zip(sure[found], numerators[found].tolist(), strict=True):
            vector = [0] * matrix.n
            for j, e in zip(subsets[i].tolist(), exponents, strict=True):
                vector[j] = e
            circuits.append(_primitive(vector))
            independent[i] = False
        dependent[sure[found]] = False  # settled
    for i in np.flatnonzero(dependent | unsure):
        circuit = matrix.circuit(subsets[i].tolist())
        if circuit is not None:
            circuits.append(circuit)
            independent[i] = False
    return circuits, independent


def _scales(matrix: _Matrix, subsets: np.ndarray) -> list[dict[int, Fraction]]:
    """The products of independent columns with the target's dimension, one per subset that has one."""
    n = matrix.n
    with_target = np.hstack([subsets, np.full((len(subsets), 1), n, dtype=np.intp)])
    blocks = matrix.gram[with_target[:, :, None], with_target[:, None, :]]
    reach, unsure = _singular(blocks)
    scales: list[dict[int, Fraction]] = []
    sure = np.flatnonzero(reach & ~unsure)
    if len(sure) and matrix.checkable:
        # Normal equations G x = b: x * det(G) is an integer vector (Cramer's
        # rule) and det(G) a positive integer, so rounding reads x exactly.
        gram, rhs = blocks[sure][:, :-1, :-1], blocks[sure][:, :-1, -1:]
        common = np.round(np.linalg.det(gram))
        usable = (common >= 1) & (common < _SMALL)
        sure, gram, rhs, common = (
            sure[usable],
            gram[usable],
            rhs[usable],
            common[usable],
        )
        numerators = np.round(np.linalg.solve(gram, rhs)[:, :, 0] * common[:, None])
        found = np.all(np.abs(numerators) < _SMALL, axis=1)
        numerators = np.where(found[:, None], numerators, 0).astype(np.int64)
        wanted = common.astype(np.int64)[:, None] * matrix.integers[None, :, n]
        found &= np.all(matrix.products(subsets[sure], numerators) == wanted, axis=1)
        for i, row, c in zip(
            sure[found], numerators[found].tolist(), common[found].tolist(), strict=True
        ):
            exponents = zip(subsets[i].tolist(), row, strict=True)
            scales.append({j: Fraction(e, int(c)) for j, e in exponents if e})
        reach[sure[found]] = False  # settled
    found_exactly = [
        matrix.scale(subsets[i].tolist()) for i in np.flatnonzero(reach | unsure)
    ]
    return scales + [s for s in found_exactly if s is not None]


class _GroupPicker:
    """Greedy choice of linearly independent integer vectors, in `_circuit_key` order."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.basis: list[_Row] = []
        self.chosen: list[tuple[int, ...]] = []

    @property
    def complete(self) -> bool:
        return len(self.chosen) == self.wanted

    def offer(self, vectors: Sequence[tuple[int, ...]]) -> None:
        for vector in sorted(vectors, key=_circuit_key):
            if self.complete:
                return
            vec, _ = _reduce(list(vector), [], self.basis)
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
    if target in quantities:
        msg = f"The target `{target}` is also an input; remove it from `quantities` ({sorted(quantities)})."
        raise UnitError(msg)
    names = list(quantities)
    n = len(names)
    dims = [_as_dimension(name, unit) for name, unit in quantities.items()]
    matrix = _Matrix(dims, _as_dimension(target, target_unit))

    # One exact pass over all columns gives the rank, the fallback groups
    # (each dependent column with the independent ones before it) and
    # whether any product of the inputs has the target's dimension.
    full_basis, fundamental = matrix.span(range(n))
    picker = _GroupPicker(len(fundamental))
    fallback_scale = matrix.solve(full_basis)
    # A dimensionless target needs no scale: the empty product, "1".
    scale: dict[int, Fraction] | None = None if any(matrix.target) else {}
    need_scale = scale is None and fallback_scale is not None

    # Search the subsets of inputs by size, skipping those that hold a
    # circuit already found: the rest are circuits when dependent, and
    # may carry the scale when independent.
    circuits: list[tuple[int, ...]] = []
    for size in range(1, len(full_basis) + 2):
        if (picker.complete and not need_scale) or binomial(n, size) > _MAX_SUBSETS:
            break
        subsets = _subsets(n, size, circuits)
        if not len(subsets):
            break
        new, independent = _circuits(matrix, subsets)
        circuits += new
        picker.offer([c for c in new if max(map(abs, c)) <= max_exponent])
        if need_scale and independent.any():
            solutions = _scales(matrix, subsets[independent])
            if solutions:
                scale, need_scale = min(solutions, key=_scale_key), False
    # Circuits over the exponent cap, then the exact basis, which always
    # completes the groups.
    picker.offer([c for c in circuits if max(map(abs, c)) > max_exponent])
    picker.offer([_primitive(f) for f in fundamental])
    if need_scale:
        scale = fallback_scale

    return PiBasis(
        scale=None
        if scale is None
        else _monomial(names, [scale.get(i, 0) for i in range(n)]),
        groups=tuple(_monomial(names, c) for c in picker.chosen),
        target=target,
    )
