"""Recovery under noise: the right form, with the true constants inside their stated intervals.

The equivalence rule (`tools._equivalence`) snaps fitted constants to
simple ones within 1e-3 and asks sympy whether the result is the truth.
Under noise a constant is only known to its interval: Planck's law fitted
on 1 % noise has constants 0.6 % off, which no snapping mends, yet the
campaign found the law and said how well it knows its constants. This
rule asks what a physicist would: can the found law, with its constants
free, be the truth exactly, and do the constants that make it so lie
within the 95 % intervals the campaign stated?
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy

from lawloop.tools._compiled import compile_expression, evaluate_compiled
from lawloop.tools._equivalence import EquivalenceVerdict, _max_relative_error, _sample
from lawloop.tools._fitting import fit_parameters

__all__ = ["constants_within_intervals"]

Interval = tuple[float, float, float]  # (fitted value, lower, upper)


def constants_within_intervals(
    law: sympy.Expr,
    constants: Mapping[str, Interval],
    truth: sympy.Expr,
    sample: Callable[[int], Mapping[str, np.ndarray]] | Mapping[str, np.ndarray],
    *,
    rel_tol: float = 1e-9,
    n_points: int = 400,
) -> EquivalenceVerdict:
    """Whether `law` is `truth` for constants that each lie in their stated interval.

    The law's constants are fitted to the truth's exact values on sampled
    points, starting from the campaign's values (so a law whose constants
    trade off lands on the nearest exact solution). The form is right when
    that fit agrees with the truth to `rel_tol` at every point; the law is
    recovered when, besides, every constant so found lies within its
    interval. Each interval is marginal (95 % each), so a right law with
    three constants fails this rule about one time in seven by chance.

    Args:
        law: The found law with its constants as free symbols.
        constants: Name to (fitted value, lower, upper) for each constant.
        truth: The true law, over symbols of the same names as the sample.
        sample: A function of a point count returning arrays by variable
            name, or such arrays.
        rel_tol: Relative agreement that counts as exact. Tight: the fit to
            exact values reaches about 1e-12 for the true form, while an
            approximation whose dropped term is 1e-7 of the law over the
            ranges (a Clausius-Mossotti law without its denominator) is
            not the true form, however small its constants' intervals.
        n_points: Points asked of a sampling function.

    Returns:
        The verdict, method `form+intervals` when recovered.
    """
    names = {s.name for s in law.free_symbols if isinstance(s, sympy.Symbol)}
    params = [p for p in constants if p in names]
    unusable = _unusable(params, constants)
    if unusable is not None:
        return unusable
    points = _sample(sample, n_points)
    extra = sorted(names - set(params) - set(points))
    if extra:
        return EquivalenceVerdict(
            False, "none", f"the law uses {extra}, neither inputs nor constants"
        )
    exact = _exact_values(truth, points)
    ok = np.isfinite(exact)
    if ok.sum() < max(1, exact.size // 2):
        return EquivalenceVerdict(
            False, "none", "the truth is not finite on the sample"
        )
    data = {k: v[ok] for k, v in points.items() if k in names}
    fit = fit_parameters(
        law,
        params,
        data,
        exact[ok],
        seed=0,
        n_starts=4,
        initial={p: float(constants[p][0]) for p in params},
    )
    if not all(np.isfinite(v) for v in fit.values.values()):
        return EquivalenceVerdict(False, "none", f"no fit of the form: {fit.message}")
    values = _fitted_values(law, fit.values, data, int(ok.sum()))
    error = _max_relative_error(values, exact[ok])
    if not error <= rel_tol:
        return EquivalenceVerdict(
            False,
            "none",
            f"not the true form: with its best constants it is off by {error:.2g} (relative)",
        )
    return _interval_verdict(params, constants, fit.values, error)


def _unusable(
    params: list[str], constants: Mapping[str, Interval]
) -> EquivalenceVerdict | None:
    """The verdict on a law without free constants or without finite intervals; `None` when usable."""
    if not params:
        return EquivalenceVerdict(False, "none", "the law has no free constants")
    bad = [
        p
        for p in params
        if len(constants[p]) != 3 or not all(np.isfinite(constants[p]))
    ]
    if bad:
        return EquivalenceVerdict(False, "none", f"no finite interval for {bad}")
    return None


def _exact_values(truth: sympy.Expr, points: Mapping[str, np.ndarray]) -> np.ndarray:
    """The truth evaluated on the sampled points (NaN where it is not defined)."""
    variables = sorted(
        (s for s in truth.free_symbols if isinstance(s, sympy.Symbol)),
        key=lambda s: s.name,
    )
    n = max((c.size for c in points.values()), default=1)
    return evaluate_compiled(
        compile_expression(truth, variables), [points[s.name] for s in variables], n
    )


def _fitted_values(
    law: sympy.Expr,
    values: Mapping[str, float],
    data: Mapping[str, np.ndarray],
    n: int,
) -> np.ndarray:
    """The law with its fitted constants, evaluated on the `n` points of `data`."""
    fitted = law.xreplace(
        {
            s: sympy.Float(values[s.name])
            for s in law.free_symbols
            if isinstance(s, sympy.Symbol) and s.name in values
        }
    )
    order = sorted(
        (s for s in fitted.free_symbols if isinstance(s, sympy.Symbol)),
        key=lambda s: s.name,
    )
    return evaluate_compiled(
        compile_expression(fitted, order), [data[s.name] for s in order], n
    )


def _interval_verdict(
    params: list[str],
    constants: Mapping[str, Interval],
    values: Mapping[str, float],
    error: float,
) -> EquivalenceVerdict:
    """The verdict on the true form: recovered when every exact constant lies in its interval."""
    outside = [
        f"{p} = {values[p]:.6g} not in [{constants[p][1]:.6g}, {constants[p][2]:.6g}]"
        for p in params
        if not constants[p][1] <= values[p] <= constants[p][2]
    ]
    if outside:
        return EquivalenceVerdict(
            False, "none", "the true form, but " + "; ".join(outside)
        )
    inside = ", ".join(
        f"{p} = {values[p]:.6g} in [{constants[p][1]:.6g}, {constants[p][2]:.6g}]"
        for p in params
    )
    return EquivalenceVerdict(
        True,
        "form+intervals",
        f"the true form (to {error:.1g}); the true constants lie in the stated 95 % intervals: {inside}",
    )
