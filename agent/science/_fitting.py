"""Fitting hypotheses to data and predicting with them (the judge's numbers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

if TYPE_CHECKING:
    from lawloop.experiments import NoiseModel

from lawloop.agent.record import Bootstrap, FitScores
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._judge import chi2_reduced, point_sigma
from lawloop.tools import (
    FitResult,
    bic,
    complexity,
    fit_parameters,
    machine_numbers,
    parse_expression,
    r2,
    rmse,
)

__all__ = ["HypothesisFit", "fit_hypothesis", "predictor"]

_KNOWN_STARTS = 2
_FRESH_STARTS = 8


@dataclass(frozen=True, slots=True)
class HypothesisFit:
    """A fit of one hypothesis with its scores, ready to record."""

    values: dict[str, float]
    stderr: dict[str, float]
    covariance: list[list[float]]
    success: bool
    message: str
    scores: FitScores | None = None
    """n, rss, rmse, r2, bic, chi2, complexity, noise_sd (None when the fit timed out)."""
    timed_out: bool = False
    """The fit was stopped at its deadline: nothing to record, it was not made."""


@lru_cache(maxsize=512)
def _compiled(
    expression: str, variables: tuple[str, ...], parameters: tuple[str, ...]
) -> Callable[..., Any]:
    """The law as a NumPy function of (variables..., parameters...); parsed, never evaluated as text."""
    expr = parse_expression(expression, variables, parameters)
    symbols = [sympy.Symbol(n, real=True) for n in (*variables, *parameters)]
    return sympy.lambdify(symbols, machine_numbers(expr), modules="numpy")  # type: ignore[no-any-return]


def predictor(
    expression: str,
    variables: Sequence[str],
    parameters: Sequence[str],
    values: Mapping[str, float],
) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """A function from input columns to the law's predictions (NaN where undefined)."""
    fn = _compiled(expression, tuple(variables), tuple(parameters))
    # NumPy scalars, not floats: `k**c` on Python floats raises OverflowError
    # where NumPy gives inf (then NaN below), and a bad law must not stop a fit.
    consts = [np.float64(values[p]) for p in parameters]

    def predict(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        cols = [np.asarray(inputs[v], dtype=np.float64) for v in variables]
        n = cols[0].shape[0] if cols else 1
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*cols, *consts), dtype=np.float64)
        out = np.broadcast_to(out, (n,)).copy() if out.shape != (n,) else out
        return np.where(np.isfinite(out), out, np.nan)

    return predict


def fit_hypothesis(
    expression: str,
    variables: Sequence[str],
    parameters: Sequence[str],
    data: Dataset,
    *,
    initial: Mapping[str, float],
    seed: int,
    noise_sd: float | None,
    tolerance: float,
    bootstrap: int = 0,
    declared: NoiseModel | None = None,
    deadline: float | None = None,
) -> HypothesisFit:
    """Fit the free constants of a law on `data` and score it.

    Args:
        expression: The law's canonical text.
        variables: Input variable names.
        parameters: Free constants of the law.
        data: Every finite measurement to fit.
        initial: Starting values (from the proposer or an earlier fit).
        seed: The fit node's random stream (multi-start).
        noise_sd: Noise estimated from replicates, or None.
        tolerance: Relative precision floor of the measurement uncertainty.
        bootstrap: Case resamples for percentile intervals (0: none); the
            intervals land in `scores["bootstrap"]`.
        declared: The backend's declared noise model, which weights the
            points where it fixes their spread (see `point_sigma`).
        deadline: A `time.monotonic()` reading at which the fit gives up
            (`timed_out` in the record); `None`: none.

    Returns:
        The fit and its scores; a failed fit is a record with `success=False`.
    """
    expr = parse_expression(expression, variables, parameters)
    sigma = point_sigma(data.y, noise_sd, tolerance, declared)
    # Starting values from an earlier fit or from SR sit near the optimum already;
    # a second start guards against a poor one, eight random ones would mostly
    # re-find it at several seconds a law for SR's longer expressions.
    known = all(p in initial for p in parameters)
    result = fit_parameters(
        expr,
        list(parameters),
        data.inputs,
        data.y,
        sigma=sigma,
        seed=seed,
        initial=dict(initial),
        n_starts=_KNOWN_STARTS if known else _FRESH_STARTS,
        bootstrap=bootstrap,
        deadline=deadline,
    )
    if result.timed_out:
        return HypothesisFit({}, {}, [], False, result.message, timed_out=True)
    values = {k: float(v) for k, v in result.values.items()}
    yhat = predictor(expression, variables, parameters, values)(data.inputs)
    finite = bool(np.isfinite(yhat).all())
    success = bool(result.success and finite)
    return HypothesisFit(
        values=values,
        stderr={p: float(v) for p, v in result.stderr.items()},
        covariance=_covariance_rows(result.covariance, len(parameters)),
        success=success,
        message=result.message if finite else "predictions not finite on the data",
        scores=_scores(
            expr,
            data,
            yhat,
            sigma,
            k=len(parameters),
            success=success,
            finite=finite,
            noise_sd=noise_sd,
            bootstrap=_bootstrap(result, bootstrap),
        ),
    )


def _scores(
    expr: sympy.Expr,
    data: Dataset,
    yhat: np.ndarray,
    sigma: np.ndarray,
    *,
    k: int,
    success: bool,
    finite: bool,
    noise_sd: float | None,
    bootstrap: Bootstrap | None,
) -> FitScores:
    """A fit's scores; those that need finite predictions are None for a failed fit."""
    n = len(data)
    rss = float(np.sum((data.y - yhat) ** 2)) if finite else float("inf")
    return FitScores(
        n=n,
        rss=rss,
        rmse=float(rmse(data.y, yhat)) if success else None,
        r2=float(r2(data.y, yhat)) if success else None,
        bic=float(bic(rss, n, k)) if success else None,
        chi2=chi2_reduced(data.y, yhat, sigma, k) if success else None,
        complexity=int(complexity(expr)),
        noise_sd=noise_sd,
        bootstrap=bootstrap,
    )


def _bootstrap(result: FitResult, resamples: int) -> Bootstrap | None:
    """The bootstrap's percentile intervals as recorded; None when none was asked for."""
    if not resamples:
        return None
    return Bootstrap(
        resamples=resamples,
        converged=result.bootstrap_n,
        confidence=0.95,
        intervals={p: list(v) for p, v in result.intervals.items()},
    )


def _covariance_rows(covariance: np.ndarray, k: int) -> list[list[float]]:
    """The covariance as JSON rows, a non-finite entry as None (JSON has no inf)."""
    cov = (
        np.asarray(covariance, dtype=np.float64).reshape(k, k)
        if k
        else np.zeros((0, 0))
    )
    return [[float(x) if np.isfinite(x) else None for x in row] for row in cov]  # type: ignore[misc]
