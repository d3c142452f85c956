"""How far a law may deviate from the truth: the test an accepted law must survive.

A law fitted to data claims more than "it fits": it claims the truth is
that law, to some precision, over the measured ranges. The claim is tested
against the most general small correction we can afford: the law times
`1 + sum_j beta_j b_j(x)`, where the `b_j` are smooth shapes (a constant, and
a linear and a quadratic term in each input), with the law's own constants
refitted alongside. That augmented model is linear in `beta` near the fit,
so its test is exact least squares (Frisch-Waugh-Lovell: regress the
residuals on the shapes with the law's parameter directions projected out):

- an F test says whether any correction is seen at all (the noise scale is
  estimated from the residuals, so an unknown or misdeclared noise level
  cannot make a wrong law pass or a right one fail);
- Scheffe's simultaneous 95 % band bounds the correction everywhere in the
  measured box at once: the law "holds to X (relative, 95 %)", where X is
  the largest upper bound. X is a statement with stated power: a smooth
  deviation larger than X would have been seen.

Pure NumPy and SciPy on arrays; what the shapes and the box are is the
caller's business (the agent builds them from the backend's inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DeviationTest", "deviation_test"]

_RANK_TOL = 1e-9
"""Singular values below this fraction of the largest count as zero (absorbed directions)."""
_RESOLUTION = 1e-10
"""Relative resolution below which no claim is made: float64 and printed constants decide there."""


@dataclass(frozen=True, slots=True)
class DeviationTest:
    """What the data say about a smooth relative correction to a law."""

    precision: float
    """Simultaneous 95 % upper bound on |relative correction| over the box: "holds to X"."""
    largest: float
    """Largest |estimated relative correction| over the box (the point estimate)."""
    worst: int
    """Index, into the box points, where the estimated correction is largest."""
    p_value: float
    """F test of "no correction": small means a correction is seen."""
    terms: int
    """Correction shapes the test could tell from the law's own constants."""
    dof: int
    """Residual degrees of freedom behind the noise scale."""
    scale: float
    """Residual scatter in units of the stated uncertainties (1: as stated)."""

    def refutes(self, alpha: float, material: float) -> bool:
        """Whether a correction is both significant at `alpha` and larger than `material`."""
        return self.p_value < alpha and self.largest > material


def deviation_test(
    y: np.ndarray,
    yhat: np.ndarray,
    jacobian: np.ndarray,
    sigma: np.ndarray,
    shapes: np.ndarray,
    box_shapes: np.ndarray,
    box_jacobian: np.ndarray,
    *,
    box_weight: np.ndarray | None = None,
    confidence: float = 0.95,
) -> DeviationTest:
    """Test a fitted law against every smooth relative correction the shapes span.

    The bound is on what matters to a user of the law: how far the
    predictions of the law with the correction (and its constants refitted)
    could differ from the law's own, relative to them, anywhere in the box.
    A correction that refitting the constants mostly absorbs moves the
    predictions little, whatever its coefficients.

    Args:
        y: Measured target, shape (n,).
        yhat: The fitted law's predictions at the same points.
        jacobian: d yhat / d constants at the fit, shape (n, k) (k may be 0).
        sigma: Stated uncertainty of each measurement (shape only matters:
            the scale is estimated, but not below `_RESOLUTION` relative),
            all positive.
        shapes: Correction shapes b_j(x) at the measured points, shape (n, p).
        box_shapes: The same shapes at points spanning the box the claim
            covers, shape (g, p).
        box_jacobian: d yhat / d constants divided by yhat at those points,
            shape (g, k).
        box_weight: Multiplies the relative change at each box point, shape
            (g,): `|yhat| / reference` states the bound as a fraction of a
            reference scale (the output's RMS) instead of the law's own
            value, as absolute noise can only support. `None`: relative.
        confidence: Level of the simultaneous band.

    Returns:
        The test; with too few points for any test, precision and p-value
        are infinite and 1.

    Raises:
        ValueError: Shapes of the arrays disagree.
    """
    n, k = jacobian.shape if jacobian.ndim == 2 else (-1, -1)
    _check_shapes(n, k, y, yhat, sigma, shapes, box_shapes, box_jacobian)
    w = 1.0 / sigma
    jw = jacobian * w[:, None]
    cw = (yhat * w)[:, None] * shapes
    r, u, dof = _unabsorbed((y - yhat) * w, jw, cw)
    terms = u.shape[1]
    if terms == 0 or dof < 1:
        return DeviationTest(
            float("inf"), float("inf"), 0, 1.0, terms, max(dof, 0), float("nan")
        )
    coef = u.T @ r  # the fitted change of the predictions, in an orthonormal basis
    rss = float(r @ r - coef @ coef)
    scale2 = max(max(rss, 0.0) / dof, _resolution_floor2(sigma, yhat))
    h = _box_changes(
        np.hstack([jw, cw]), u, np.hstack([box_jacobian, box_shapes]), box_weight
    )
    return _bounded(h, coef, scale2, terms, dof, confidence)


def _check_shapes(
    n: int,
    k: int,
    y: np.ndarray,
    yhat: np.ndarray,
    sigma: np.ndarray,
    shapes: np.ndarray,
    box_shapes: np.ndarray,
    box_jacobian: np.ndarray,
) -> None:
    """Refuse arrays whose shapes disagree with `n` measurements and `k` constants."""
    if yhat.shape != (n,) or sigma.shape != (n,) or y.shape != (n,):
        msg = "y, yhat, sigma and jacobian must have one row per measurement."
        raise ValueError(msg)
    if shapes.shape[0] != n or box_shapes.shape[1] != shapes.shape[1]:
        msg = "shapes must have one row per measurement, box_shapes the same columns."
        raise ValueError(msg)
    if box_jacobian.shape != (box_shapes.shape[0], k):
        msg = (
            "box_jacobian must have one row per box point and one column per constant."
        )
        raise ValueError(msg)


def _unabsorbed(
    r: np.ndarray, jw: np.ndarray, cw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Residuals and an orthonormal basis of the corrections, both without what the law's constants absorb, and the degrees of freedom left."""
    law = _orthonormal(jw)
    # Frisch-Waugh-Lovell: what the correction adds beyond refitting the
    # law's constants is the part of its columns the law cannot absorb.
    cp = cw - law @ (law.T @ cw)
    r = r - law @ (law.T @ r)
    u, s, _ = np.linalg.svd(cp, full_matrices=False)
    keep = s > _RANK_TOL * (s[0] if s.size else 0.0)
    dof = r.shape[0] - law.shape[1] - int(keep.sum())
    return r, u[:, keep], dof


def _resolution_floor2(sigma: np.ndarray, yhat: np.ndarray) -> float:
    """The smallest squared noise scale claimed: where the points' relative uncertainty reaches `_RESOLUTION`.

    A noiseless simulator's residuals can be rounding (1e-16): an exact fit
    would "hold to 0", which float64 alone breaks, as does printing its
    constants to 11 digits.
    """
    with np.errstate(all="ignore"):
        relative = sigma / np.abs(yhat)
    relative = relative[np.isfinite(relative) & (relative > 0)]
    return (_RESOLUTION / float(np.median(relative))) ** 2 if relative.size else 0.0


def _box_changes(
    full: np.ndarray,
    u: np.ndarray,
    box_full: np.ndarray,
    box_weight: np.ndarray | None,
) -> np.ndarray:
    """Each basis change of the predictions carried to the box points, shape (g, terms).

    The same change as coefficients of (constants, correction) of `full`,
    found with columns scaled to unit length so the pseudo-inverse sees
    their directions, not their units, then applied to `box_full`.

    Raises:
        ValueError: `box_weight` has not one entry per box point.
    """
    norms = np.linalg.norm(full, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    lift = (np.linalg.pinv(full / norms, rcond=_RANK_TOL) @ u) / norms[:, None]
    h = box_full @ lift
    if box_weight is not None:
        if box_weight.shape != (h.shape[0],):
            msg = "box_weight must have one entry per box point."
            raise ValueError(msg)
        h = h * box_weight[:, None]
    return np.asarray(h)


def _bounded(
    h: np.ndarray,
    coef: np.ndarray,
    scale2: float,
    terms: int,
    dof: int,
    confidence: float,
) -> DeviationTest:
    """The F test and the simultaneous band of the estimated change `h @ coef` over the box."""
    from scipy.stats import f  # noqa: PLC0415 - scipy.stats is slow to import

    estimate = np.abs(h @ coef)
    se = np.sqrt(scale2) * np.linalg.norm(h, axis=1)
    explained = float(coef @ coef) / terms
    if scale2 > 0:
        p_value = float(f.sf(explained / scale2, terms, dof))
    else:
        p_value = 0.0 if explained > 0 else 1.0
    band = float(np.sqrt(terms * f.ppf(confidence, terms, dof)))
    upper = estimate + band * se
    return DeviationTest(
        precision=float(np.max(upper)),
        largest=float(np.max(estimate)),
        worst=int(np.argmax(estimate)),
        p_value=p_value,
        terms=terms,
        dof=int(dof),
        scale=float(np.sqrt(scale2)),
    )


def _orthonormal(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of `a` (rank-revealing), shape (n, r)."""
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], 0))
    finite = np.where(np.isfinite(a), a, 0.0)
    u, s, _ = np.linalg.svd(finite, full_matrices=False)
    keep = s > _RANK_TOL * (s[0] if s.size else 0.0)
    return np.asarray(u[:, keep])
