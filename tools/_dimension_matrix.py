"""The dimension matrix behind `pi_groups`: exact integer linear algebra, proposed in bulk by floating point.

Circuits (minimal dimensionless products) and scales (products with the
target's dimension) of many subsets of quantities are proposed at once
from Gram determinants and eigenvectors, and every proposal is checked,
or computed, in exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations
from math import gcd, lcm

import numpy as np

from lawloop.tools._units import Dimension

__all__ = [
    "DimensionMatrix",
    "Row",
    "circuits_among",
    "eliminate",
    "primitive",
    "scales_among",
    "subsets_without",
]

# Largest smallest exponent tried when reading a floating-point null vector
# as integers; vectors not read this way are computed exactly.
_MAX_MULTIPLE = 64

_EPS = float(np.finfo(np.float64).eps)

# Bound on the integers checked in bulk with int64 (sums stay below 2**63).
_SMALL = 2**20

# One element of an echelon basis: the pivot row, the reduced vector, and the
# combination of columns (the target in the last slot) that produced it.
Row = tuple[int, list[int], list[int]]


def eliminate(
    vec: list[int], comb: list[int], basis: Sequence[Row]
) -> tuple[list[int], list[int]]:
    """Eliminate the pivots of `basis` from `vec`, fraction-free, tracking `comb`."""
    for pivot, bvec, bcomb in basis:
        a = vec[pivot]
        if a:
            b = bvec[pivot]
            vec = [b * x - a * y for x, y in zip(vec, bvec, strict=True)]
            comb = [b * x - a * y for x, y in zip(comb, bcomb, strict=True)]
    return vec, comb


def primitive(vector: Sequence[int]) -> tuple[int, ...]:
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


class DimensionMatrix:
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

    def span(self, subset: Sequence[int]) -> tuple[list[Row], list[list[int]]]:
        """Echelon basis of the columns in `subset`, and the combination found for each dependent column."""
        basis: list[Row] = []
        dependencies: list[list[int]] = []
        for j in subset:
            unit = [int(i == j) for i in range(self.n + 1)]
            vec, comb = eliminate(self.columns[j], unit, basis)
            if any(vec):
                g = gcd(*vec, *comb)
                pivot = next(i for i, x in enumerate(vec) if x)
                basis.append((pivot, [x // g for x in vec], [x // g for x in comb]))
            else:
                dependencies.append(comb[: self.n])
        return basis, dependencies

    def solve(self, basis: Sequence[Row]) -> dict[int, Fraction] | None:
        """Exponents of the columns of `basis` that give the target, or `None`."""
        vec, comb = eliminate(self.target, [0] * self.n + [1], basis)
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
        return primitive(dependencies[0])

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


def subsets_without(
    n: int, size: int, circuits: Sequence[tuple[int, ...]]
) -> np.ndarray:
    """The subsets of `size` columns (rows of indices) that hold none of `circuits`."""
    subsets = np.array(list(combinations(range(n), size)), dtype=np.intp)
    member = np.zeros((len(subsets), n), dtype=bool)
    member[np.arange(len(subsets))[:, None], subsets] = True
    free = np.ones(len(subsets), dtype=bool)
    for circuit in circuits:
        free &= ~member[:, [i for i, x in enumerate(circuit) if x]].all(axis=1)
    return subsets[free]


def circuits_among(
    matrix: DimensionMatrix, subsets: np.ndarray
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
            circuits.append(primitive(vector))
            independent[i] = False
        dependent[sure[found]] = False  # settled
    for i in np.flatnonzero(dependent | unsure):
        circuit = matrix.circuit(subsets[i].tolist())
        if circuit is not None:
            circuits.append(circuit)
            independent[i] = False
    return circuits, independent


def scales_among(
    matrix: DimensionMatrix, subsets: np.ndarray
) -> list[dict[int, Fraction]]:
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
