"""Experiment design: which inputs to measure next, and why.

Designs live in the unit cube and are mapped to each variable's range by its
declared sampling (uniform or log-uniform), sign and integer rule, so a
space-filling design is space-filling in the way the backend's author meant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from lawloop.experiments import Variable

__all__ = [
    "Design",
    "bounds",
    "disagreement_design",
    "from_unit_cube",
    "probe_design",
    "random_design",
    "seen_box",
    "space_filling",
    "to_unit_cube",
]

Predictor = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True, slots=True)
class Design:
    """Input points to measure, with the reason they were chosen."""

    inputs: dict[str, np.ndarray]
    """One array per input variable, all of the same length."""
    reason: str
    """Why these points: recorded in the provenance next to the run."""


def bounds(var: Variable) -> tuple[float, float]:
    """The declared range of an input variable; an input without one cannot be designed."""
    if var.low is None or var.high is None:
        msg = f"Input `{var.name}` declares no range (low={var.low}, high={var.high}); a design needs both."
        raise ValueError(msg)
    return float(var.low), float(var.high)


def _unit_dims(variables: Sequence[Variable]) -> int:
    """Unit-cube dimensions: one per variable plus one per random sign."""
    return len(variables) + sum(_random_sign(v) for v in variables)


def _random_sign(var: Variable) -> bool:
    """Whether the sign is drawn apart from the magnitude.

    A `both` variable whose range already spans zero (low < 0) is sampled
    over [low, high] directly, as the backends do.
    """
    return var.sign == "both" and (var.low or 0.0) >= 0


def from_unit_cube(
    u: np.ndarray, variables: Sequence[Variable]
) -> dict[str, np.ndarray]:
    """Map points of the unit cube to input values by each variable's rules."""
    out: dict[str, np.ndarray] = {}
    extra = len(variables)
    for j, var in enumerate(variables):
        col = np.clip(u[:, j], 0.0, 1.0)
        low, high = bounds(var)
        if var.integer:
            ilo, ihi = math.ceil(low), math.floor(high)
            mag = np.minimum(np.floor(ilo + col * (ihi - ilo + 1)), ihi)
        elif var.sampling == "log-uniform":
            llo, lhi = math.log(low), math.log(high)
            mag = np.exp(llo + col * (lhi - llo))
        else:
            mag = low + col * (high - low)
        mag = np.clip(mag, low, high)
        if var.sign == "negative":
            mag = -mag
        elif var.sign == "both" and low >= 0:
            mag = np.where(u[:, extra] < 0.5, -mag, mag)
            extra += 1
        out[var.name] = mag.astype(np.float64)
    return out


def to_unit_cube(
    inputs: Mapping[str, np.ndarray], variables: Sequence[Variable]
) -> np.ndarray:
    """Map input values back to the unit cube (magnitudes; the sign dimensions are left out)."""
    cols = []
    for var in variables:
        low, high = bounds(var)
        mag = np.asarray(inputs[var.name], dtype=np.float64)
        if not (var.sign == "both" and low < 0):
            mag = np.abs(mag)
        with np.errstate(all="ignore"):
            if var.sampling == "log-uniform":
                u = (np.log(mag) - math.log(low)) / (math.log(high) - math.log(low))
            else:
                u = (mag - low) / (high - low) if high > low else np.zeros_like(mag)
        cols.append(np.clip(np.nan_to_num(u, nan=0.5), 0.0, 1.0))
    return np.column_stack(cols) if cols else np.empty((0, 0))


def seen_box(
    inputs: Mapping[str, np.ndarray], variables: Sequence[Variable]
) -> tuple[np.ndarray, np.ndarray]:
    """The smallest box of the unit cube holding every measured point: (low, high) per variable."""
    u = to_unit_cube(inputs, variables)
    if not u.size:
        return np.full(len(variables), 0.5), np.full(len(variables), 0.5)
    return u.min(axis=0), u.max(axis=0)


def _sobol(n: int, dims: int, rng: np.random.Generator) -> np.ndarray:
    """The first `n` points of a scrambled Sobol sequence (power-of-two draw, no warning)."""
    m = max(1, math.ceil(math.log2(max(n, 2))))
    sampler = qmc.Sobol(d=dims, scramble=True, rng=rng)
    return np.asarray(sampler.random_base2(m)[:n], dtype=np.float64)


def _with_replicates(
    inputs: dict[str, np.ndarray], replicates: int
) -> dict[str, np.ndarray]:
    """Append a second measurement of the first `replicates` points."""
    if replicates <= 0:
        return inputs
    return {k: np.concatenate([v, v[:replicates]]) for k, v in inputs.items()}


def space_filling(
    variables: Sequence[Variable],
    n: int,
    rng: np.random.Generator,
    *,
    replicates: int = 0,
    span: float = 1.0,
) -> Design:
    """A scrambled Sobol design over the central `span` of the declared ranges.

    Args:
        variables: The backend's input variables.
        n: Number of distinct points.
        rng: The design node's random stream.
        replicates: How many of the points to measure twice (noise estimate).
        span: Fraction of each range covered, centred (in the variable's
            sampling scale); 1 is the whole range. A first design on the
            core leaves room to test the laws it suggests beyond it.

    Returns:
        The design, `n + replicates` points.
    """
    u = _sobol(n, _unit_dims(variables), rng)
    m = len(variables)
    u[:, :m] = 0.5 + (u[:, :m] - 0.5) * span
    where = (
        "the declared ranges"
        if span >= 1
        else f"the central {span:.0%} of each declared range"
    )
    reason = f"space-filling: scrambled Sobol design of {n} points over {where}"
    if replicates:
        reason += f", {replicates} of them measured twice to estimate the noise"
    return Design(_with_replicates(from_unit_cube(u, variables), replicates), reason)


def random_design(
    variables: Sequence[Variable],
    n: int,
    rng: np.random.Generator,
    *,
    replicates: int = 0,
) -> Design:
    """Independent uniform points over the declared ranges: the baseline active design must beat."""
    u = rng.uniform(size=(n, _unit_dims(variables)))
    reason = f"random: {n} independent uniform points over the declared ranges"
    if replicates:
        reason += f", {replicates} of them measured twice"
    return Design(_with_replicates(from_unit_cube(u, variables), replicates), reason)


def _spread_pick(scores: np.ndarray, u: np.ndarray, k: int) -> np.ndarray:
    """Indices of `k` high-scoring points, skipping near neighbours of those taken."""
    order = np.argsort(-scores, kind="stable")
    min_dist = 0.25 / max(1, u.shape[1]) ** 0.5
    chosen: list[int] = []
    for i in order[
        : 4 * k
    ]:  # diversity among the best, never a poor point for its distance
        if len(chosen) == k:
            break
        if all(np.linalg.norm(u[i] - u[c]) >= min_dist for c in chosen):
            chosen.append(int(i))
    for i in order:  # not enough far-apart points: fill with the next best
        if len(chosen) == k:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return np.array(chosen, dtype=int)


RESOLVE = 3.0
"""Rival predictions this many measurement sigmas apart are told apart by one measurement."""
_MAX_REPEATS = 16


def _repeats_to_resolve(spread: np.ndarray, budget: int) -> np.ndarray:
    """Extra measurements of each point so that the mean resolves the rivals' spread there.

    A point where the rivals differ by `s` sigmas needs about
    `(RESOLVE / s)**2` measurements; points with no difference at all
    (s ~ 0) cannot be resolved and get none. The most resolvable points
    are served first, within `budget` extra measurements.
    """
    copies = np.zeros(spread.size, dtype=int)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.ceil((RESOLVE / spread) ** 2) - 1
    hidden = np.isfinite(need) & (spread > 0.2) & (spread < RESOLVE)
    for i in np.argsort(-np.where(hidden, spread, -np.inf), kind="stable"):
        if not hidden[i] or budget <= 0:
            break
        copies[i] = int(min(need[i], _MAX_REPEATS, budget))
        budget -= copies[i]
    return copies


def disagreement_design(
    variables: Sequence[Variable],
    rivals: Sequence[tuple[str, Predictor]],
    n: int,
    rng: np.random.Generator,
    *,
    noise_sd: float,
    tolerance: float,
    replicates: int = 0,
    pool_size: int = 2048,
) -> Design:
    """Half the points where the rival laws disagree most, half space-filling.

    The disagreement at a point is the spread of the rivals' predictions in
    units of the measurement uncertainty there, so a design is spent where a
    measurement can tell the rivals apart. Where the rivals differ by less
    than `RESOLVE` sigmas the replicates go to repeats of those points,
    whose mean the noise hides less; otherwise they are plain repeats for
    the noise estimate. The space-filling half keeps the fresh data an
    unbiased test of whichever law leads.

    Args:
        variables: The backend's input variables.
        rivals: (label, predictor) of the leading laws, best first.
        n: Number of distinct points.
        rng: The design node's random stream.
        noise_sd: Estimated noise standard deviation of the target.
        tolerance: Relative precision floor (see `CampaignConfig.tolerance`).
        replicates: Extra measurements of chosen points (repeats).
        pool_size: Candidate points scored for disagreement.

    Returns:
        The design, `n + replicates` points.
    """
    if len(rivals) < 2:
        design = space_filling(variables, n, rng, replicates=replicates)
        return Design(
            design.inputs, design.reason + " (fewer than two rival laws to separate)"
        )
    dims = _unit_dims(variables)
    pool_u = _sobol(pool_size, dims, rng)
    spread = _rival_spread(
        rivals, from_unit_cube(pool_u, variables), noise_sd, tolerance
    )
    n_dis = n // 2
    picked = _spread_pick(spread, pool_u, n_dis)
    rest_u = _sobol(n - n_dis, dims, rng)
    u = np.vstack([pool_u[picked], rest_u])
    labels = ", ".join(label for label, _ in rivals)
    finite = spread[picked][np.isfinite(spread[picked])]
    top = f"{float(np.max(finite)):.3g}" if finite.size else "inf"
    reason = (
        f"disagreement: {n_dis} points where the rivals [{labels}] disagree most "
        f"(largest spread {top} measurement sigmas), {n - n_dis} space-filling points"
    )
    rows, repeats = _replicate_rows(spread[picked], len(u), replicates)
    return Design(from_unit_cube(np.vstack([u, u[rows]]), variables), reason + repeats)


def _rival_spread(
    rivals: Sequence[tuple[str, Predictor]],
    pool: Mapping[str, np.ndarray],
    noise_sd: float,
    tolerance: float,
) -> np.ndarray:
    """The rivals' spread at each pool point, in measurement sigmas (inf where one breaks down)."""
    preds = []
    for _, predict in rivals:
        with np.errstate(all="ignore"):
            p = np.asarray(predict(pool), dtype=np.float64)
        preds.append(np.where(np.isfinite(p), p, np.nan))
    stack = np.vstack(preds)
    centre = np.nanmedian(stack, axis=0)
    sigma = np.sqrt(noise_sd**2 + (tolerance * np.abs(centre)) ** 2) + 1e-300
    spread = (np.nanmax(stack, axis=0) - np.nanmin(stack, axis=0)) / sigma
    # A rival that breaks down at a point: ask there.
    return np.where(np.isfinite(spread), spread, np.inf)


def _replicate_rows(
    picked_spread: np.ndarray, n_points: int, replicates: int
) -> tuple[np.ndarray, str]:
    """Which design rows to measure again, and the reason's words for them.

    The picked points come first in the design, so their indices are rows.
    """
    copies = _repeats_to_resolve(picked_spread, replicates)
    # Repeats of the points whose difference the noise hides (the mean of m
    # repeats has sqrt(m) times less noise), then plain repeats of the design
    # with what is left, for the noise estimate.
    rest = replicates - int(copies.sum())
    rows = np.concatenate(
        [np.repeat(np.arange(len(picked_spread)), copies), np.arange(rest) % n_points]
    )
    reason = ""
    if copies.sum():
        reason += (
            f", {int(copies.sum())} repeats of {int((copies > 0).sum())} points where "
            f"the rivals differ by less than {RESOLVE:g} sigmas (noise hides the difference)"
        )
    if rest:
        reason += f", {rest} more measured twice"
    return rows, reason


def probe_design(
    variables: Sequence[Variable],
    seen: tuple[np.ndarray, np.ndarray],
    n: int,
    rng: np.random.Generator,
    *,
    law: str,
    pool_size: int = 1024,
) -> Design | None:
    """Points beyond the range measured so far, to stress the leading law there.

    A law fitted on part of the ranges is a claim about all of them; these
    points are where that claim is untested. Candidates outside the seen
    box are ranked by how far outside they lie, and spread out.

    Returns:
        The design, or None when the data already span the declared ranges.
    """
    low, high = seen
    if n <= 0 or ((low <= 1e-3).all() and (high >= 1 - 1e-3).all()):
        return None
    dims = _unit_dims(variables)
    pool_u = _sobol(pool_size, dims, rng)
    m = len(variables)
    outside = np.maximum(low - pool_u[:, :m], 0) + np.maximum(pool_u[:, :m] - high, 0)
    distance = outside.sum(axis=1)
    if not (distance > 0).any():
        return None
    picked = _spread_pick(np.where(distance > 0, distance, -np.inf), pool_u, n)
    picked = picked[distance[picked] > 0]
    names = ", ".join(
        f"{v.name} {_direction(lo, hi)}"
        for v, lo, hi in zip(variables, low, high, strict=True)
        if _direction(lo, hi)
    )
    reason = (
        f"probe: {len(picked)} points beyond the range measured so far ({names}) "
        f"to stress the leading law {law}"
    )
    return Design(from_unit_cube(pool_u[picked], variables), reason)


def _direction(low: float, high: float) -> str:
    """Which way a variable's seen range can still grow: `up`, `down`, `up/down` or ``."""
    ways = [w for w, room in (("up", high < 1 - 1e-3), ("down", low > 1e-3)) if room]
    return "/".join(ways)
