"""The rule that picks one formula from a Pareto front, kept in one place."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._api import SRCandidate
from ._errors import SRError

__all__ = ["MSE_TOLERANCE", "pareto_filter", "select_candidate"]

MSE_TOLERANCE = 1.5
"""A candidate is "as good as the best" when its MSE is at most this factor
times the lowest MSE on the front (PLATFORM_NOTES section 3: this beat
pyoperon's own MDL and BIC selection, which often pick bloated members)."""


def select_candidate(
    candidates: Sequence[SRCandidate],
    *,
    tolerance: float = MSE_TOLERANCE,
    mse_floor: float = 0.0,
) -> int:
    """Return the index of the shortest candidate whose MSE is near the best.

    The rule: among candidates with `mse <= max(tolerance * min(mse), mse_floor)`,
    take the one with the lowest `complexity`; ties go to the lower MSE, then the
    earlier index. Candidates with a non-finite MSE are never selected unless
    all are.

    Args:
        candidates: A Pareto front (any order).
        tolerance: Factor on the best MSE; `1.5` unless a caller has a reason.
        mse_floor: MSE below which every candidate counts as exact. On clean data
            the front ends in round-off (1e-14 against 3e-14), where a factor
            of 1.5 means nothing; engines pass `1e-10 * mean(y**2)`, a relative
            RMS error of 1e-5.

    Returns:
        An index into `candidates`.

    Raises:
        SRError: `candidates` is empty or `tolerance` is below 1.
    """
    if not candidates:
        msg = "Cannot select from an empty Pareto front; the search returned no candidates."
        raise SRError(msg)
    if not tolerance >= 1.0:
        msg = f"`tolerance` must be >= 1, got {tolerance!r}."
        raise SRError(msg)
    if not mse_floor >= 0.0:
        msg = f"`mse_floor` must be >= 0, got {mse_floor!r}."
        raise SRError(msg)
    finite = [i for i, c in enumerate(candidates) if math.isfinite(c.mse)]
    pool = finite or list(range(len(candidates)))
    if not finite:
        return min(pool, key=lambda i: (candidates[i].complexity, i))
    best = min(candidates[i].mse for i in pool)
    threshold = max(tolerance * best, mse_floor)
    eligible = [i for i in pool if candidates[i].mse <= threshold]
    return min(eligible, key=lambda i: (candidates[i].complexity, candidates[i].mse, i))


def pareto_filter(candidates: Sequence[SRCandidate]) -> tuple[SRCandidate, ...]:
    """Keep the non-dominated candidates, sorted by complexity then MSE.

    A candidate survives when no candidate at most as complex has a lower or
    equal MSE; candidates with a non-finite MSE are dropped.

    Args:
        candidates: Front members in any order, possibly duplicated.

    Returns:
        The Pareto front, simplest first, with strictly falling MSE.
    """
    front: list[SRCandidate] = []
    finite = (c for c in candidates if math.isfinite(c.mse))
    for cand in sorted(finite, key=lambda c: (c.complexity, c.mse)):
        # Sorted by complexity, so a candidate is dominated exactly when the
        # last kept (simpler or equal) one already fits at least as well.
        if not front or cand.mse < front[-1].mse:
            front.append(cand)
    return tuple(front)
