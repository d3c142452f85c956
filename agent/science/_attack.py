"""The attack on the leading law: design the measurements that would refute it, then test it.

Before a law is accepted the loop tries to break it. The most general small
way it could be wrong is a smooth relative correction (a constant, linear
and quadratic term in each input, in each input's sampling scale) with the
law's constants refitted; `tools.deviation_test` says whether such a
correction is seen and bounds it over the measured box ("holds to X,
relative, 95 %"). The attack design puts measurements where that bound is
weakest per unit of noise (sequential D-optimal choice, repeats allowed),
over the whole declared ranges: the law is claimed there, so it is tested
there.

A law is *refuted* by the attack when the correction is significant and
larger than the campaign's tolerance (smaller ones are within the precision
the law is stated to); it *holds* when the bound is below the campaign's
`claim_precision`; otherwise the attack goes on while the budget lasts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import qmc

from lawloop.agent.record import AttackEvidence
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._design import (
    Design,
    _random_sign,
    _sobol,
    from_unit_cube,
    to_unit_cube,
)
from lawloop.experiments import Variable
from lawloop.tools import DeviationTest, deviation_test

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "AttackResult",
    "attack_design",
    "attack_law",
    "correction_shapes",
    "holds_to_text",
    "jacobian",
]

ALPHA = 0.01
"""Significance at which a seen correction refutes a law."""
CONFIDENCE = 0.95
"""Level of the stated precision."""
_MAX_BOX_POINTS = 4096

Predict = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def correction_shapes(u: np.ndarray) -> np.ndarray:
    """Shapes of a smooth correction at unit-cube points: 1, and P1, P2 of each input.

    Legendre polynomials of t = 2u - 1, so the shapes are of size ~1 over
    the declared ranges and nearly orthogonal on a uniform design.
    """
    t = 2.0 * u - 1.0
    return np.column_stack([np.ones(u.shape[0]), t, 1.5 * t**2 - 0.5])


def _grid(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Points spanning the box [low, high] of the unit cube: a grid, or Sobol points when large."""
    m = low.size
    levels = 5 if m <= 4 else 3
    if levels**m <= _MAX_BOX_POINTS:
        axes = [np.linspace(lo, hi, levels) for lo, hi in zip(low, high, strict=True)]
        return np.array(list(itertools.product(*axes)), dtype=np.float64)
    sobol = qmc.Sobol(d=m, scramble=False).random_base2(12)
    corners = np.array(
        list(itertools.islice(itertools.product((0.0, 1.0), repeat=m), 1024))
    )
    u = np.vstack([sobol, corners])
    return np.asarray(low + u * (high - low), dtype=np.float64)


def jacobian(
    make: Callable[[Mapping[str, float]], Predict],
    values: Mapping[str, float],
    inputs: Mapping[str, np.ndarray],
) -> np.ndarray:
    """The derivatives of the prediction by each constant, central differences, shape (n, k)."""
    n = len(next(iter(inputs.values()))) if inputs else 0
    cols = []
    for name, v in values.items():
        h = 1e-6 * max(abs(v), 1e-12)
        up = make({**values, name: v + h})(inputs)
        down = make({**values, name: v - h})(inputs)
        cols.append((up - down) / (2 * h))
    if not cols:
        return np.zeros((n, 0))
    out = np.column_stack(cols)
    return np.where(np.isfinite(out), out, 0.0)


Verdict = Literal["holds", "refuted", "undecided"]


@dataclass(frozen=True, slots=True)
class AttackResult:
    """The attack's verdict on one law, with what it is based on."""

    verdict: Verdict
    test: DeviationTest
    n: int
    ranges: dict[str, tuple[float, float]]
    worst: dict[str, float]
    goal: float
    material: float
    reference: float | None = None
    """The scale the bound is a fraction of (the output's RMS); None: the law's own value."""

    def evidence(self) -> AttackEvidence:
        """The record's form: JSON numbers and words."""
        t = self.test
        return AttackEvidence(
            verdict=self.verdict,
            precision=_finite(t.precision),
            largest=_finite(t.largest),
            p_value=t.p_value,
            terms=t.terms,
            dof=t.dof,
            scale=_finite(t.scale),
            n=self.n,
            confidence=CONFIDENCE,
            alpha=ALPHA,
            goal=self.goal,
            material=self.material,
            ranges={k: list(v) for k, v in self.ranges.items()},
            worst=self.worst,
            reference=self.reference,
        )


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def attack_law(
    variables: Sequence[Variable],
    data: Dataset,
    make: Callable[[Mapping[str, float]], Predict],
    values: Mapping[str, float],
    sigma: np.ndarray,
    *,
    goal: float,
    material: float,
    reference: float | None = None,
) -> AttackResult:
    """Test a fitted law on all the data against every smooth relative correction.

    The bound is relative to the law's value at each point; with
    `reference`, relative to that fixed scale instead. Under noise of fixed
    size (a fraction of the output's RMS) a relative bound is set by the
    box's corner where the output is smallest, where no budget could pin a
    relative correction; a bound in units of the output's RMS is what such
    data can support, and says so.

    Args:
        variables: The backend's inputs (ranges and sampling scales).
        data: Every finite measurement.
        make: Builds the law's predictor from values of its constants.
        values: The fitted constants.
        sigma: Stated uncertainty of each measurement.
        goal: The precision an accepted law must be shown to hold to.
        material: Corrections smaller than this are within the stated
            precision of laws and refute nothing.
        reference: The scale of the bound (see above); None: relative.

    Returns:
        `refuted` (a significant, material correction), `holds` (no such
        correction and the 95 % bound is within `goal`) or `undecided`.
    """
    law = make(values)
    yhat = law(data.inputs)
    ok = np.isfinite(yhat)
    inputs = {k: v[ok] for k, v in data.inputs.items()}
    u = to_unit_cube(inputs, variables)
    box, f_box, box_inputs = _attack_box(variables, law, u, inputs, yhat[ok])
    test = deviation_test(
        data.y[ok],
        yhat[ok],
        jacobian(make, values, inputs),
        sigma[ok],
        correction_shapes(u),
        correction_shapes(box),
        jacobian(make, values, box_inputs) / f_box[:, None],
        box_weight=None if reference is None else np.abs(f_box) / reference,
    )
    ranges = {
        v.name: (float(np.min(inputs[v.name])), float(np.max(inputs[v.name])))
        for v in variables
    }
    worst = {k: float(a[test.worst]) for k, a in box_inputs.items()}
    return AttackResult(
        _verdict(test, goal, material),
        test,
        int(ok.sum()),
        ranges,
        worst,
        goal,
        material,
        reference,
    )


def _attack_box(
    variables: Sequence[Variable],
    law: Predict,
    u: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    yhat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The points the bound is stated over: (unit-cube points, the law there, inputs there).

    A grid over the box the measured points `u` span, where the law is
    defined and not zero, plus a sample of the measured points themselves.
    """
    grid = _grid(u.min(axis=0), u.max(axis=0))
    # Magnitudes: a claim over a sign-symmetric range is tested on the positive side.
    grid_inputs = from_unit_cube(
        np.hstack(
            [grid, np.ones((grid.shape[0], sum(_random_sign(v) for v in variables)))]
        ),
        variables,
    )
    f_grid = law(grid_inputs)
    inside = np.isfinite(f_grid) & (f_grid != 0)
    # The measured points too (the law is defined there), so the box is never empty.
    step = max(1, u.shape[0] // 1000)
    box = np.vstack([grid[inside], u[::step]])
    f_box = np.concatenate([f_grid[inside], yhat[::step]])
    box_inputs = {
        k: np.concatenate([grid_inputs[k][inside], inputs[k][::step]]) for k in inputs
    }
    return box, f_box, box_inputs


def _verdict(test: DeviationTest, goal: float, material: float) -> Verdict:
    """`refuted`, `holds` or `undecided` (see the module's docstring)."""
    if test.refutes(ALPHA, material):
        return "refuted"
    if test.precision <= goal:
        return "holds"
    return "undecided"


def attack_design(
    variables: Sequence[Variable],
    data: Dataset,
    predict: Predict,
    sigma_of: Callable[[np.ndarray], np.ndarray],
    n: int,
    rng: np.random.Generator,
) -> Design | None:
    """`n` measurements where the bound on a correction to the law is weakest per unit noise.

    Greedy sequential D-optimal design (Fedorov-Wynn) for the correction's
    coefficients over the whole declared ranges, starting from the
    information the data already hold; a point may be chosen again (a
    repeat) when that is where the bound gains most. The law's own
    predictions set each candidate's relative noise.

    Returns:
        The design, or None when the law predicts nowhere or nothing is known yet.
    """
    if n <= 0 or not len(data):
        return None
    m = len(variables)
    pool = np.vstack([_grid(np.zeros(m), np.ones(m)), _sobol(256, m, rng)])
    signs = rng.uniform(size=(pool.shape[0], sum(_random_sign(v) for v in variables)))
    pool_inputs = from_unit_cube(np.hstack([pool, signs]), variables)
    f_pool = predict(pool_inputs)
    usable = np.isfinite(f_pool) & (f_pool != 0)
    if not usable.any():
        return None
    rel_sigma = sigma_of(f_pool[usable]) / np.abs(f_pool[usable])
    cand = correction_shapes(pool[usable]) / rel_sigma[:, None]
    f_data = predict(data.inputs)
    ok = np.isfinite(f_data) & (f_data != 0)
    rel_data = sigma_of(f_data[ok]) / np.abs(f_data[ok])
    have = correction_shapes(
        to_unit_cube({k: v[ok] for k, v in data.inputs.items()}, variables)
    )
    have = have / rel_data[:, None]
    info = have.T @ have
    info += np.eye(info.shape[0]) * (1e-9 * np.trace(info) / info.shape[0] + 1e-300)
    inv = np.linalg.pinv(info)
    picks = np.empty(n, dtype=int)
    for i in range(n):
        gain = np.einsum("ij,jk,ik->i", cand, inv, cand)
        j = int(np.argmax(gain))
        picks[i] = j
        c = inv @ cand[j]
        inv -= np.outer(c, c) / (1.0 + cand[j] @ c)
    chosen = np.flatnonzero(usable)[picks]
    inputs = {k: v[chosen] for k, v in pool_inputs.items()}
    distinct = len(np.unique(chosen))
    reason = (
        f"attack: {n} measurements at {distinct} points where a smooth relative "
        "correction to the leading law is least constrained per unit of noise "
        "(sequential D-optimal over the declared ranges, repeats where noise hides it)"
    )
    return Design(inputs, reason)


def holds_to_text(evidence: AttackEvidence, digits: int = 2) -> str:
    """`holds to 2e-04 (relative, 95 %) over L in [0.1, 2], g in [1, 20]` from attack evidence."""
    precision = evidence.precision
    if precision is None:
        return "no precision could be stated"
    ranges = ", ".join(
        f"{name} in [{lo:.3g}, {hi:.3g}]" for name, (lo, hi) in evidence.ranges.items()
    )
    conf = round(100 * float(evidence.confidence))
    scale = scale_words(evidence.reference)
    text = f"holds to {precision:.{digits - 1}e} ({scale}, {conf} %)"
    return f"{text} over {ranges}" if ranges else text


def scale_words(reference: float | None) -> str:
    """What an attack's numbers are fractions of: `relative` or `of the output's RMS 0.467`."""
    if reference is None:
        return "relative"
    return f"of the output's RMS {float(reference):.3g}"
