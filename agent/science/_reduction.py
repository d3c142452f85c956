"""Dimensional reduction: search for the law in dimensionless groups, then map it back.

Buckingham's theorem says a law `y = F(x_1..x_n)` between quantities with
units can be written `y = S(x) * f(pi_1..pi_k)`, where `S` is a product of
inputs with the units of `y` and the `pi_j` are the `k = n - rank`
independent dimensionless products of the inputs. Searching `f` over `k`
groups instead of `F` over `n` inputs is what lets a short search find laws
that raw symbolic regression misses.

Laws often hide a constant of nature (`c` in a relativistic factor, `k_B`
in a Boltzmann factor). A backend does not say which, so each small set of
the well-known constants (`tools.PHYSICAL_CONSTANTS`) is a candidate, and
the data decide: a reduction is plausible when `q = y / S(x)` is as well
predicted by its nearest neighbours in the space of the groups as in the
space of the raw inputs (a missing dependence shows up as scatter). The
candidates are ranked by that error; fewer groups and fewer constants win
ties. Everything here is a deterministic function of the data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from scipy.spatial import cKDTree

from lawloop.agent.science._dataset import Dataset
from lawloop.experiments import Variable
from lawloop.tools import (
    PHYSICAL_CONSTANTS,
    Monomial,
    PhysicalConstant,
    UnitError,
    make_symbol,
    pi_groups,
)

__all__ = ["Reduction", "find_reductions"]

_MAX_CONSTANTS = 2  # sets of up to two constants: c with h, k_B with h ...
# With few inputs, sets of three are affordable (84 more bases, ~0.2 s) and
# needed: Planck's law hides h, c and k_B.
_MAX_CONSTANTS_FEW_INPUTS = 3
_FEW_INPUTS = 3
_NEIGHBOURS = 8
_MAX_POINTS = 2000  # enough for the neighbour test, cheap on any campaign
# A reduction within this factor of the best one's neighbour error counts as
# tied; among tied ones the simpler (fewer groups, fewer constants) leads.
_TIE = 1.15
# A reduction whose error is this much worse than the raw inputs' is implausible.
# Generous: a law that changes sharply in one corner of the range (a
# relativistic correction) interpolates worse in its groups than the
# raw-input error suggests; the judge, not this screen, has the last word.
_PLAUSIBLE = 4.0
_GROUP_PREFIX = "Pi_"
_MAX_POWER = 4
# The scale carries the target's dimension and may need one more: Planck's
# h*c**2/lam**5.
_MAX_SCALE_POWER = 5


@dataclass(frozen=True, slots=True)
class Reduction:
    """`y = scale(x) * f(groups(x))`, with the constants of nature it uses."""

    scale: Monomial
    """Product of inputs (and constants) with the target's units."""
    groups: tuple[Monomial, ...]
    """Independent dimensionless products of inputs (and constants)."""
    constants: tuple[PhysicalConstant, ...]
    """The constants of nature that appear, by their names in the monomials."""
    constant_names: tuple[str, ...]
    """Name of each constant inside the monomials (prefixed to avoid inputs' names)."""
    error: float
    """Neighbour error of `q` in the space of the groups."""
    raw_error: float
    """The same error in the space of the raw inputs."""

    @property
    def names(self) -> list[str]:
        """Names of the group variables, `Pi_0, Pi_1, ...`."""
        return [f"{_GROUP_PREFIX}{j}" for j in range(len(self.groups))]

    def _values(self, inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
        values: dict[str, Any] = dict(inputs)
        for name, const in zip(self.constant_names, self.constants, strict=True):
            values[name] = const.value
        return values

    def features(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The groups evaluated at the inputs, one column each (n x k)."""
        values = self._values(inputs)
        n = len(next(iter(inputs.values())))
        if not self.groups:
            return np.zeros((n, 0))
        return np.column_stack(
            [np.broadcast_to(g.evaluate(values), (n,)) for g in self.groups]
        )

    def reduced_target(
        self, inputs: Mapping[str, np.ndarray], y: np.ndarray
    ) -> np.ndarray:
        """`q = y / scale(x)`, the dimensionless target."""
        with np.errstate(all="ignore"):
            return np.asarray(y / self.scale.evaluate(self._values(inputs)), float)

    def _sympy(self, mono: Monomial) -> sympy.Expr:
        exact = {
            name: sympy.Rational(repr(const.value))
            for name, const in zip(self.constant_names, self.constants, strict=True)
        }
        out: sympy.Expr = sympy.Integer(1)
        for name, power in mono.exponents:
            base = exact.get(name, make_symbol(name))
            out *= base ** sympy.Rational(power.numerator, power.denominator)
        return out

    def to_original(self, law: sympy.Expr) -> sympy.Expr:
        """Map `f(Pi_0..)` to `scale(x) * f(groups(x))` in the input variables.

        The constants of nature enter as exact decimals (never as floats),
        so fitting and snapping leave them alone.
        """
        mapping = {
            make_symbol(name): self._sympy(g)
            for name, g in zip(self.names, self.groups, strict=True)
        }
        return self._sympy(self.scale) * law.xreplace(mapping)

    def describe(self) -> dict[str, Any]:
        """The reduction as recorded in provenance."""
        return {
            "scale": self.scale.text(),
            "groups": [g.text() for g in self.groups],
            "constants": {
                name: {"value": c.value, "unit": c.unit, "description": c.description}
                for name, c in zip(self.constant_names, self.constants, strict=True)
            },
            "neighbour_error": self.error,
            "raw_neighbour_error": self.raw_error,
        }


def _log_or_raw(column: np.ndarray) -> np.ndarray:
    """log|x| for one-signed columns (relative scale), the values otherwise."""
    with np.errstate(all="ignore"):
        if np.all(column > 0) or np.all(column < 0):
            return np.asarray(np.log(np.abs(column)))
    return column


def _neighbour_error(features: np.ndarray, q: np.ndarray) -> float:
    """Median leave-one-out error of predicting `q` from its nearest neighbours.

    Each point is predicted by an affine fit to its neighbours (local linear
    regression), so a smooth dependence costs only second-order error and a
    dependence on something outside `features` shows up as scatter.
    """
    if features.shape[1] == 0:
        return float(np.median(np.abs(q - np.median(q))))
    cols = np.column_stack([_log_or_raw(c) for c in features.T])
    sd = cols.std(axis=0)
    cols = (cols - cols.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    d = cols.shape[1]
    k = min(_NEIGHBOURS + 2 * d, len(q) - 1)
    _, idx = cKDTree(cols).query(cols, k=k + 1)
    # Column 0 is usually the point itself; a replicate at distance 0 may take
    # its place, which is fine: replicates predict each other up to noise.
    nb = idx[:, 1:]
    offsets = cols[nb] - cols[:, None, :]  # (n, k, d)
    design = np.concatenate([np.ones((*nb.shape, 1)), offsets], axis=2)
    gram = np.einsum("nki,nkj->nij", design, design)
    gram += 1e-8 * np.eye(d + 1)  # ridge: neighbours on a line or a plane
    rhs = np.einsum("nki,nk->ni", design, q[nb])
    pred = np.linalg.solve(gram, rhs[..., None])[:, 0, 0]
    return float(np.median(np.abs(q - pred)))


def _target_scale(q: np.ndarray) -> np.ndarray:
    """Compare relative errors where `q` keeps one sign."""
    return _log_or_raw(q)


def _constant_names(inputs: Sequence[str]) -> dict[str, str]:
    """A name for each constant that no input uses."""
    taken = set(inputs)
    out = {}
    for const in PHYSICAL_CONSTANTS:
        name = f"const_{const.name}"
        while name in taken:
            name += "_"
        out[const.name] = name
    return out


def _bases(
    variables: Sequence[Variable], target: Variable
) -> list[tuple[tuple[PhysicalConstant, ...], Monomial, tuple[Monomial, ...]]]:
    """Reachable pi bases for each small set of constants (see `_MAX_CONSTANTS`), deduplicated."""
    units = {v.name: v.unit or "1" for v in variables}
    names = _constant_names(list(units))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    most = _MAX_CONSTANTS_FEW_INPUTS if len(units) <= _FEW_INPUTS else _MAX_CONSTANTS
    for size in range(most + 1):
        for combo in itertools.combinations(PHYSICAL_CONSTANTS, size):
            quantities = dict(units)
            quantities.update({names[c.name]: c.unit for c in combo})
            try:
                basis = pi_groups(quantities, target.name, target.unit or "1")
            except UnitError:
                return []  # the backend's units cannot be read: no reduction at all
            if basis.scale is None:
                continue
            used = {n for m in (basis.scale, *basis.groups) for n in m.names}
            if any(names[c.name] not in used for c in combo):
                continue  # a constant that enters nothing adds nothing
            key = (basis.scale.text(), tuple(sorted(g.text() for g in basis.groups)))
            if key in seen:
                continue
            seen.add(key)
            out.append((combo, basis.scale, basis.groups))
    return out


def _exotic(reduction: Reduction) -> bool:
    """Groups with powers beyond `_MAX_POWER`, which no textbook law has (k**3*x**11/(G*h**4))."""
    return any(
        abs(power) > _MAX_POWER
        for mono in reduction.groups
        for _, power in mono.exponents
    ) or any(abs(power) > _MAX_SCALE_POWER for _, power in reduction.scale.exponents)


def find_reductions(
    variables: Sequence[Variable], target: Variable, data: Dataset, *, limit: int = 3
) -> list[Reduction]:
    """Plausible reductions of the data, best first (possibly none).

    Args:
        variables: The backend's inputs, with units.
        target: The observable explained, with its unit.
        data: The finite measurements so far.
        limit: At most this many are returned.

    Returns:
        Reductions whose groups predict `y / scale` about as well as the raw
        inputs do, ranked by that error (ties to fewer groups and constants).
        Reductions that keep as many groups as there are inputs and use no
        constant reduce nothing and are left out.
    """
    if len(data) < 2 * _NEIGHBOURS:
        return []
    step = max(1, math.ceil(len(data) / _MAX_POINTS))
    inputs = {k: v[::step] for k, v in data.inputs.items()}
    y = data.y[::step]
    raw = np.column_stack([inputs[v.name] for v in variables])
    names = _constant_names([v.name for v in variables])
    candidates: list[Reduction] = []
    for combo, scale, groups in _bases(variables, target):
        if len(groups) >= len(variables) and not combo:
            continue
        reduction = Reduction(
            scale,
            groups,
            combo,
            tuple(names[c.name] for c in combo),
            math.inf,
            math.inf,
        )
        if _exotic(reduction):
            continue
        with np.errstate(all="ignore"):  # huge groups are rejected, not warned about
            q = reduction.reduced_target(inputs, y)
            feats = reduction.features(inputs)
            tq = _target_scale(q)
            if not all(np.all(np.isfinite(a)) for a in (q, feats, tq)):
                continue
            error = _neighbour_error(feats, tq)
            raw_error = _neighbour_error(raw, tq)
        if not (math.isfinite(error) and math.isfinite(raw_error)):
            continue
        candidates.append(
            Reduction(scale, groups, combo, reduction.constant_names, error, raw_error)
        )
    plausible = [r for r in candidates if r.error <= _PLAUSIBLE * r.raw_error + 1e-12]
    if not plausible:
        return []
    # Errors are compared relative to the spread of each candidate's own `q`
    # through the raw-input error, which shares that scale.
    best = min(r.error / max(r.raw_error, 1e-300) for r in plausible)

    def rank(r: Reduction) -> tuple[bool, int, int, float]:
        ratio = r.error / max(r.raw_error, 1e-300)
        return (ratio > _TIE * best + 1e-9, len(r.groups), len(r.constants), ratio)

    return sorted(plausible, key=rank)[:limit]
