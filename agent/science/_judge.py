"""Judging rival laws: adequacy, the leader, and when to accept.

The rule, as a physicist states it: a law is *adequate* when it fits the
data to within the measurement uncertainty, where the uncertainty at a
point is the noise estimated from repeated measurements combined with the
relative `tolerance` to which laws are stated. The bound on the reduced
chi-square is `adequacy_chi2` where the relative precision dominates; where
measured noise dominates it is the 99% point of the F distribution (the
lack-of-fit F test: high while the noise estimate rests on few repeated
measurements, so an underestimated noise does not refute the true law; close
to 1 once many, so an approximation is not mistaken for the law). The
*leader* is the simplest adequate law (Occam), ties broken by BIC; with no adequate law, the lowest BIC leads. A law is
*accepted* when it leads and has predicted `confirmations` fresh batches
with the constants it had before those batches were measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lawloop.agent.record import FitScores

if TYPE_CHECKING:
    from lawloop.experiments import NoiseModel

__all__ = [
    "Judgement",
    "Scored",
    "adequacy_bound",
    "chi2_reduced",
    "judge",
    "point_sigma",
    "ranked_above",
]


def point_sigma(
    y: np.ndarray,
    noise_sd: float | None,
    tolerance: float,
    declared: NoiseModel | None = None,
) -> np.ndarray:
    """The measurement uncertainty at each point: noise and relative precision in quadrature.

    The noise is the backend's declared model where it fixes the spread at
    each point (Poisson counts, a relative error), else `noise_sd`, the
    estimate from repeated measurements.
    """
    fixed = declared.sigma(y) if declared is not None else None
    noise = fixed if fixed is not None else (noise_sd or 0.0)
    sigma = np.sqrt(noise**2 + (tolerance * np.abs(y)) ** 2)
    # A point measured exactly zero with no noise would get zero weight otherwise.
    floor = tolerance * float(np.sqrt(np.mean(y**2))) * 1e-3 if y.size else 0.0
    return np.asarray(np.maximum(sigma, floor + 1e-300), dtype=np.float64)


def chi2_reduced(
    y: np.ndarray, yhat: np.ndarray, sigma: np.ndarray, n_params: int = 0
) -> float:
    """Sum of squared normalised residuals per degree of freedom (inf if not finite)."""
    if y.size == 0:
        return float("inf")
    with np.errstate(all="ignore"):
        chi2 = float(np.sum(((y - yhat) / sigma) ** 2))
    dof = max(1, y.size - n_params)
    return chi2 / dof if np.isfinite(chi2) else float("inf")


def adequacy_bound(
    base: float,
    n: int,
    k: int,
    *,
    noise_sd: float | None,
    noise_dof: int,
    tolerance: float,
    y_rms: float,
) -> float:
    """The largest reduced chi-square an adequate law may have on `n` points with `k` constants.

    Args:
        base: The configured bound (`CampaignConfig.adequacy_chi2`).
        n: Number of points.
        k: Number of fitted constants.
        noise_sd: Noise estimated from replicates, or None.
        noise_dof: Degrees of freedom of that estimate.
        tolerance: Relative precision floor.
        y_rms: RMS of the target, to tell noise from the precision floor.

    Returns:
        `base` when the relative precision dominates the uncertainty; when the
        measured noise dominates, the 99% point of the F distribution of the
        lack-of-fit test (the reduced chi-square of a true law over the noise
        estimate's), which falls towards 1 as measurements and repeats grow.
        A fixed `base` there would let a law off by a constant fraction of the
        noise pass however many measurements show it (an approximation
        accepted for the law), and would refute nothing that more data could.
    """
    if not noise_sd or noise_dof <= 0 or noise_sd <= tolerance * y_rms:
        return base
    from scipy.stats import f  # noqa: PLC0415 - scipy.stats is slow to import

    return float(f.ppf(0.99, max(1, n - k), noise_dof))


@dataclass(frozen=True, slots=True)
class Scored:
    """One hypothesis's numbers in this iteration, as the judge needs them."""

    hypothesis_id: str
    complexity: int
    bic: float
    chi2: float
    """Reduced chi-square of the fit on all data so far."""
    fresh_chi2: float | None
    """Reduced chi-square on this iteration's batch with constants fitted before it."""
    bound: float
    """Adequacy bound for `chi2` (see `adequacy_bound`)."""
    streak: int
    """Consecutive fresh batches predicted adequately, this one included."""
    success: bool

    @classmethod
    def of(
        cls,
        hypothesis_id: str,
        scores: FitScores,
        *,
        success: bool,
        default_bound: float,
    ) -> Scored:
        """What the judge compares of one recorded fit (`default_bound` for fits stored without one)."""
        return cls(
            hypothesis_id=hypothesis_id,
            complexity=scores.complexity,
            bic=scores.finite_bic,
            chi2=scores.finite_chi2,
            fresh_chi2=scores.fresh_chi2,
            bound=scores.bound_or(default_bound),
            streak=scores.streak,
            success=success,
        )


@dataclass(frozen=True, slots=True)
class Judgement:
    """The decision of one iteration."""

    leader: str | None
    leader_adequate: bool
    accept: bool
    rejected: tuple[tuple[str, str], ...]
    """(hypothesis id, reason) of laws ruled out this iteration."""
    reason: str
    ranking: tuple[str, ...]
    """Hypothesis ids, leader first."""


def judge(
    scored: Sequence[Scored], *, confirmations: int, reject_factor: float = 100.0
) -> Judgement:
    """Rank rivals, pick the leader, decide acceptance and rejections.

    Args:
        scored: The hypotheses fitted this iteration, each with its adequacy bound.
        confirmations: Fresh batches a leader must predict to be accepted.
        reject_factor: A law whose chi-square exceeds this many times its
            adequacy bound, and whose BIC is worse than the leader's by more
            than 10, is rejected.

    Returns:
        The judgement, with reasons in words.
    """
    ok = [s for s in scored if s.success and np.isfinite(s.bic)]
    adequate = [s for s in ok if s.chi2 <= s.bound]
    if adequate:
        ranked = sorted(adequate, key=lambda s: (s.complexity, s.bic, s.hypothesis_id))
        rest = sorted(
            (s for s in ok if s not in adequate), key=lambda s: (s.bic, s.hypothesis_id)
        )
        ranked += rest
    else:
        ranked = sorted(ok, key=lambda s: (s.bic, s.hypothesis_id))
    if not ranked:
        return Judgement(None, False, False, (), "no hypothesis could be fitted", ())
    lead = ranked[0]
    rejected = []
    for s in scored:
        if s is lead:
            continue
        if not s.success:
            rejected.append((s.hypothesis_id, "the fit failed"))
        elif s.chi2 > reject_factor * s.bound and s.bic - lead.bic > 10:
            rejected.append(
                (
                    s.hypothesis_id,
                    f"misfit: reduced chi-square {s.chi2:.3g} (adequate <= {s.bound:.3g}), "
                    f"BIC {s.bic - lead.bic:.3g} above the leader",
                )
            )
    adequate_lead = bool(adequate) and lead.chi2 <= lead.bound
    accept = adequate_lead and lead.streak >= confirmations
    if accept:
        reason = (
            f"simplest adequate law (complexity {lead.complexity}, reduced chi-square {lead.chi2:.3g}) "
            f"and it predicted {lead.streak} fresh batch(es) it was not fitted to "
            f"(last fresh reduced chi-square {lead.fresh_chi2:.3g})"
        )
    elif adequate_lead:
        fresh = (
            "not yet tested on fresh data"
            if lead.fresh_chi2 is None
            else f"fresh reduced chi-square {lead.fresh_chi2:.3g}"
        )
        reason = (
            f"leader is adequate (reduced chi-square {lead.chi2:.3g}, complexity {lead.complexity}) "
            f"but has {lead.streak}/{confirmations} confirmations ({fresh})"
        )
    else:
        reason = f"no adequate law yet; lowest BIC {lead.bic:.4g} with reduced chi-square {lead.chi2:.3g}"
    return Judgement(
        lead.hypothesis_id,
        adequate_lead,
        accept,
        tuple(rejected),
        reason,
        tuple(s.hypothesis_id for s in ranked),
    )


def ranked_above(win: Scored, lose: Scored | None) -> str:
    """Why `judge` ranks `win` above `lose`: its ranking rule, applied to the two, in words.

    Adequate laws come first, simplest first and then by BIC; the rest
    follow by BIC; a failed fit is never ranked. `why` quotes this, so the
    rule is stated once, beside the code that applies it.
    """
    if lose is None or not lose.success or not np.isfinite(lose.bic):
        return "a failed fit is never ranked"
    win_ok, lose_ok = win.chi2 <= win.bound, lose.chi2 <= lose.bound
    if win_ok and lose_ok:
        if win.complexity != lose.complexity:
            return f"both adequate; simpler (complexity {win.complexity} vs {lose.complexity})"
        return (
            f"both adequate and as simple; lower BIC ({win.bic:.3g} vs {lose.bic:.3g})"
        )
    if win_ok:
        return (
            f"only one adequate: reduced chi-square {lose.chi2:.3g} exceeds its bound "
            f"{lose.bound:.3g}"
        )
    return f"neither adequate; lower BIC ({win.bic:.3g} vs {lose.bic:.3g})"
