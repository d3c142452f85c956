"""The equivalence rule: does a found expression recover the true law?

ARCHITECTURE.md's rule: after snapping fitted constants to simple ones,
sympy shows ``found - truth`` or ``found / truth`` to be a constant (the
SRBench symbolic solution); where simplification cannot decide, the two
must agree to `rel_tol` relative error on sampled points of the range and
have the same `canonical_key`.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy

from lawloop.tools._canonical import canonical_key
from lawloop.tools._compiled import compile_expression, evaluate_compiled
from lawloop.tools._snap import snap_constants
from lawloop.tools.errors import ToolError

__all__ = ["EquivalenceVerdict", "is_equivalent"]

Method = Literal[
    "symbolic-ratio",
    "symbolic-difference",
    "numeric+structure",
    "form+intervals",
    "none",
]

_SIMPLIFY_MAX_OPS = 150  # sympy.simplify is skipped above this size
_PLAUSIBLE_SPREAD = 1e-4  # numeric spread beyond which no symbolic proof is tried


@dataclass(frozen=True, slots=True)
class EquivalenceVerdict:
    """Whether a found expression recovers the truth, how it was decided, and why.

    Example:
        >>> from lawloop.tools import parse_expression
        >>> truth = parse_expression("2*pi*sqrt(L/g)", ["L", "g"])
        >>> found = parse_expression("6.283185307179586*sqrt(L/g)", ["L", "g"])
        >>> rng = np.random.default_rng(0)
        >>> def sampler(n):
        ...     return {"L": rng.uniform(0.1, 2, n), "g": rng.uniform(1, 20, n)}
        >>> verdict = is_equivalent(found, truth, sampler)
        >>> verdict.recovered, verdict.method
        (True, 'symbolic-ratio')
    """

    recovered: bool
    """The verdict of the equivalence rule."""
    method: Method
    """What decided it: a symbolic proof, numeric agreement plus structure, or none."""
    detail: str
    """A sentence for people: the constant found, or why it failed."""


class _Timeout(Exception):
    """Raised inside a guarded block when its time is up."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread, no other timer only)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    )
    if not usable:
        yield
        return

    def _handler(signum: int, frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, _handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _constant_value(
    expr: sympy.Expr, variables: set[sympy.Symbol], nonzero: bool
) -> sympy.Expr | None:
    """`expr` if it is a finite (nonzero) constant free of `variables`, else None."""
    if expr.free_symbols & variables:
        return None
    try:
        value = complex(sympy.N(expr))
    except (TypeError, ValueError, ArithmeticError):
        return None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)) or (
        nonzero and value == 0
    ):
        return None
    return expr


def _split_powers(expr: sympy.Expr) -> sympy.Expr:
    """Split and join powers as if every symbol were positive."""
    return sympy.powsimp(
        sympy.powdenest(sympy.expand_power_base(expr, force=True), force=True),
        force=True,
    )


_PIPELINES: tuple[tuple[Callable[[sympy.Expr], sympy.Expr], ...], ...] = (
    (),
    (sympy.cancel,),
    (_split_powers,),
    (_split_powers, sympy.cancel),
    (sympy.simplify,),
    (_split_powers, sympy.simplify),
)


def _prove_constant(
    expr: sympy.Expr, variables: set[sympy.Symbol], nonzero: bool, deadline: float
) -> sympy.Expr | None:
    """Try cheap rewrites, then guarded `simplify`, to show `expr` is constant."""
    for pipeline in _PIPELINES:
        current = expr
        try:
            for step in pipeline:
                if (
                    step is sympy.simplify
                    and sympy.count_ops(current) > _SIMPLIFY_MAX_OPS
                ):
                    raise _Timeout
                seconds = deadline - time.monotonic()
                if seconds <= 0:
                    return None
                with _time_limit(seconds):
                    current = step(current)
        except (_Timeout, sympy.PolynomialError, TypeError, ValueError, RecursionError):
            continue
        found = _constant_value(current, variables, nonzero)
        if found is not None:
            return found
    return None


def _spreads(f_val: np.ndarray, t_val: np.ndarray) -> tuple[float, float]:
    """Relative spreads of found/truth (where truth is nonzero) and of found - truth."""
    with np.errstate(all="ignore"):
        nonzero = t_val != 0
        ratio = f_val[nonzero] / t_val[nonzero]
        centre = float(np.median(ratio)) if ratio.size else 0.0
        ratio_spread = (
            float(np.max(np.abs(ratio - centre)) / abs(centre)) if centre else math.inf
        )
        diff = f_val - t_val
        scale = max(float(np.max(np.abs(t_val))), 1e-300)
        diff_spread = float(np.max(np.abs(diff - np.median(diff))) / scale)
    return ratio_spread, diff_spread


def _max_relative_error(f_val: np.ndarray, t_val: np.ndarray) -> float:
    """Largest |found - truth| / |truth|, |truth| floored at 1e-12 of its maximum."""
    with np.errstate(all="ignore"):
        floor = max(1e-12 * float(np.max(np.abs(t_val))), 1e-300)
        return float(np.max(np.abs(f_val - t_val) / np.maximum(np.abs(t_val), floor)))


def _sample(
    sample: Callable[[int], Mapping[str, np.ndarray]] | Mapping[str, np.ndarray],
    n_points: int,
) -> dict[str, np.ndarray]:
    """Points as float arrays by variable name."""
    points = sample(n_points) if callable(sample) else sample
    return {str(k): np.asarray(v, dtype=float).ravel() for k, v in points.items()}


def is_equivalent(
    found: sympy.Expr,
    truth: sympy.Expr,
    sample: Callable[[int], Mapping[str, np.ndarray]] | Mapping[str, np.ndarray],
    *,
    rel_tol: float = 1e-6,
    n_points: int = 1000,
    rel_precision: float = 1e-3,
    time_limit: float = 5.0,
) -> EquivalenceVerdict:
    """Apply the equivalence rule to a found expression and the true law.

    Steps: symbols of `found` are matched to those of `truth` by name; the
    constants of `found` are snapped (`snap_constants`); the snapped and
    the as-fitted forms and `truth` are evaluated on the sampled points.
    If for neither form the ratio or the difference to `truth` is
    numerically constant there (spread above 1e-4), the verdict is False
    at once. Otherwise sympy tries to show ``found/truth`` (a nonzero
    constant) or ``found - truth`` free of the variables, snapped form
    first: cheap rewrites (powers split as for positive symbols; the
    numeric check guards the range), then `sympy.simplify` on expressions
    of at most 150 operations, all within `time_limit` seconds in total
    (by SIGALRM, only in the main thread with no other timer running). If
    that fails, the verdict is True only when a form agrees with `truth`
    within `rel_tol` at every sampled point where both are finite, up to a
    constant factor or offset (the relative spread of the ratio or
    difference is at most `rel_tol`), and has the same `canonical_key`.
    The as-fitted form counts here because rounding a non-simple constant
    to 1e-3 spoils a 1e-6 agreement.

    Args:
        found: The found expression, its fitted constants substituted.
        truth: The true law, over symbols of the same names.
        sample: A function of a point count returning arrays by variable
            name, or such arrays.
        rel_tol: Relative tolerance of the numeric agreement.
        n_points: Points asked of a sampling function.
        rel_precision: Relative precision of `snap_constants`.
        time_limit: Seconds allowed to the symbolic phase in total.

    Returns:
        The `EquivalenceVerdict`.

    Raises:
        ToolError: A variable of `truth` is missing from the sample.
    """
    found, snapped, variables = _matched(found, truth, rel_precision)
    points = _sample(sample, n_points)
    unsampled = _unsampled(truth, variables, points)
    if unsampled is not None:
        return unsampled

    candidates = {"snapped": snapped, "as fitted": found}
    values, n = _evaluate_all({"truth": truth, **candidates}, variables, points)
    t_val = values.pop("truth")
    mask = (
        np.isfinite(t_val)
        & np.isfinite(values["snapped"])
        & np.isfinite(values["as fitted"])
    )
    if mask.sum() < max(1, n // 2):
        return EquivalenceVerdict(
            False,
            "none",
            f"only {int(mask.sum())} of {n} points evaluate finitely for both",
        )
    t_ok = t_val[mask]
    spreads = {key: _spreads(v[mask], t_ok) for key, v in values.items()}
    if not any(min(pair) <= _PLAUSIBLE_SPREAD for pair in spreads.values()):
        ratio_spread, diff_spread = spreads["snapped"]
        detail = f"not a constant multiple or offset: ratio varies by {ratio_spread:.3g}, difference by {diff_spread:.3g} (relative)"
        return EquivalenceVerdict(False, "none", detail)

    deadline = time.monotonic() + time_limit
    proof = _symbolic_proof(candidates, truth, spreads, variables, deadline)
    if proof is not None:
        return proof
    return _numeric_verdict(candidates, truth, values, t_ok, mask, spreads, rel_tol)


def _matched(
    found: sympy.Expr, truth: sympy.Expr, rel_precision: float
) -> tuple[sympy.Expr, sympy.Expr, set[sympy.Symbol]]:
    """`found` on the truth's symbols (matched by name), its snapped form, and the variables of both."""
    by_name = {s.name: s for s in truth.free_symbols if isinstance(s, sympy.Symbol)}
    found = found.xreplace(
        {
            s: by_name[s.name]
            for s in found.free_symbols
            if isinstance(s, sympy.Symbol) and s.name in by_name
        }
    )
    snapped = snap_constants(found, rel_precision)
    variables = set(by_name.values()) | {
        s for s in snapped.free_symbols if isinstance(s, sympy.Symbol)
    }
    return found, snapped, variables


def _unsampled(
    truth: sympy.Expr,
    variables: set[sympy.Symbol],
    points: Mapping[str, np.ndarray],
) -> EquivalenceVerdict | None:
    """The verdict on a found law with variables the sample lacks; `None` when all are sampled.

    Raises:
        ToolError: A variable of `truth` is missing from the sample.
    """
    names = {s.name for s in truth.free_symbols if isinstance(s, sympy.Symbol)}
    missing_truth = sorted(name for name in names if name not in points)
    if missing_truth:
        msg = f"The sample lacks variables {missing_truth} of the truth `{truth}`; sample every variable."
        raise ToolError(msg)
    extra = sorted(s.name for s in variables if s.name not in points)
    if extra:
        return EquivalenceVerdict(
            False,
            "none",
            f"found expression uses variables {extra} absent from the truth and sample",
        )
    return None


def _evaluate_all(
    exprs: Mapping[str, sympy.Expr],
    variables: set[sympy.Symbol],
    points: Mapping[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], int]:
    """Each expression evaluated on the sampled points, by key, and the number of points."""
    ordered = sorted(variables, key=lambda s: s.name)
    cols = [points[s.name] for s in ordered]
    n = max((c.size for c in cols), default=1)
    values = {
        key: evaluate_compiled(compile_expression(expr, ordered), cols, n)
        for key, expr in exprs.items()
    }
    return values, n


def _symbolic_proof(
    candidates: Mapping[str, sympy.Expr],
    truth: sympy.Expr,
    spreads: Mapping[str, tuple[float, float]],
    variables: set[sympy.Symbol],
    deadline: float,
) -> EquivalenceVerdict | None:
    """A proof that a candidate is the truth times or plus a constant, tried where the numbers make it plausible."""
    for key, candidate in candidates.items():
        ratio_spread, diff_spread = spreads[key]
        checks: list[tuple[Method, sympy.Expr, bool, float]] = [
            ("symbolic-ratio", candidate / truth, True, ratio_spread),
            ("symbolic-difference", candidate - truth, False, diff_spread),
        ]
        for method, expr, nonzero, spread in checks:
            if spread <= _PLAUSIBLE_SPREAD:
                constant = _prove_constant(expr, variables, nonzero, deadline)
                if constant is not None:
                    kind = "found/truth" if nonzero else "found - truth"
                    return EquivalenceVerdict(
                        True, method, f"{kind} = {constant} ({key})"
                    )
        # Snapping changed nothing: the as-fitted form is the same expression.
        if candidate == candidates["as fitted"]:
            break
    return None


def _numeric_verdict(
    candidates: Mapping[str, sympy.Expr],
    truth: sympy.Expr,
    values: Mapping[str, np.ndarray],
    t_ok: np.ndarray,
    mask: np.ndarray,
    spreads: Mapping[str, tuple[float, float]],
    rel_tol: float,
) -> EquivalenceVerdict:
    """The verdict where no proof was found: numeric agreement and the same structure."""
    # Agreement up to a constant factor or offset (what the symbolic test
    # accepts), or plain agreement, within `rel_tol`.
    errors = {
        key: min(_max_relative_error(v[mask], t_ok), *spreads[key])
        for key, v in values.items()
    }
    best = min(errors, key=lambda key: errors[key])
    error = errors[best]
    same_structure = canonical_key(candidates[best]) == canonical_key(truth)
    if error <= rel_tol and same_structure:
        detail = f"agree ({best}) to {error:.2g} relative, up to a constant factor or offset, on {int(mask.sum())} points; same structure"
        return EquivalenceVerdict(True, "numeric+structure", detail)
    detail = f"undecided symbolically; max relative error {error:.3g}, {'same' if same_structure else 'different'} structure"
    return EquivalenceVerdict(False, "none", detail)
