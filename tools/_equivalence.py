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
from lawloop.tools._bounds import bounded_xreplace, unbounded_error
from lawloop.tools._canonical import canonical_key
from lawloop.tools._fitting import _compile, _evaluate
from lawloop.tools.errors import ToolError

__all__ = ["EquivalenceVerdict", "is_equivalent", "snap_constants"]

Method = Literal[
    "symbolic-ratio",
    "symbolic-difference",
    "numeric+structure",
    "form+intervals",
    "none",
]

_MAX_NUMERATOR = 144  # p/q candidates with larger p are not "simple"
_MAX_DENOMINATOR = 12
# A constant is "simple" only up to this many bits (base weight plus bits of p and
# q): 2*pi costs 3, 1/(4*pi) 4, 8*pi/3 6.6, sqrt(2) 3; 44/7 (8.3) is a coincidence.
_MAX_COST = 7.0
_SIMPLIFY_MAX_OPS = 150  # sympy.simplify is skipped above this size
_PLAUSIBLE_SPREAD = 1e-4  # numeric spread beyond which no symbolic proof is tried


def _bases() -> list[tuple[sympy.Expr, float]]:
    """Simple irrational factors, simplest first; each times a small rational."""
    pi, e = sympy.pi, sympy.E
    exprs = [
        sympy.Integer(1),
        pi,
        1 / pi,
        pi**2,
        1 / pi**2,
        e,
        1 / e,
        sympy.sqrt(2),
        sympy.sqrt(3),
        sympy.sqrt(5),
        sympy.sqrt(6),
        sympy.sqrt(7),
        sympy.sqrt(10),
        sympy.sqrt(pi),
        1 / sympy.sqrt(pi),
        sympy.sqrt(2 * pi),
        1 / sympy.sqrt(2 * pi),
    ]
    return [(b, float(b)) for b in exprs]


_BASES = _bases()


def _base_cost(rank: int) -> float:
    """Bits a base costs: 1 is free, pi cheap, powers of pi and e and small roots dearer."""
    return 0.0 if rank == 0 else 2.0 if rank <= 2 else 3.0 if rank <= 8 else 4.0


def _snap_value(value: float, rel_precision: float) -> sympy.Expr:
    """The simplest constant within `rel_precision` of `value`, else `value` rounded.

    Within the precision, simplicity decides, not closeness: with about 17
    bases times 12 denominators, almost any number lies within 1e-3 of *some*
    candidate (78/(7*sqrt(pi)) for 6.2901), and only the simplest one is a
    claim a physicist would make. The cost of `(p/q)*b` is a weight for the
    base plus the bits of `p` and `q`; closeness breaks ties.
    """
    if value == 0.0 or not math.isfinite(value):
        return sympy.Integer(0) if value == 0.0 else sympy.Float(value)
    if value == round(value) and abs(value) < 1e15:
        return sympy.Integer(int(value))
    best: tuple[float, float, sympy.Expr] | None = None
    for rank, (base, base_value) in enumerate(_BASES):
        target = value / base_value
        max_p = _MAX_NUMERATOR if rank == 0 else _MAX_DENOMINATOR
        for q in range(1, _MAX_DENOMINATOR + 1):
            p = round(target * q)
            if p == 0 or abs(p) > max_p or math.gcd(p, q) != 1:
                continue
            error = abs(p / q * base_value - value) / abs(value)
            if error > rel_precision:
                continue
            cost = _base_cost(rank) + math.log2(abs(p)) + math.log2(q)
            if cost > _MAX_COST:
                continue
            if best is None or (cost, error) < best[:2]:
                best = (cost, error, sympy.Rational(p, q) * base)
    if best is not None:
        return best[2]
    digits = max(1, math.ceil(-math.log10(rel_precision)) + 1)
    return sympy.Float(float(f"{value:.{digits}g}"))


def snap_constants(expr: sympy.Expr, rel_precision: float = 1e-3) -> sympy.Expr:
    """Replace float constants by nearby simple constants, or round them.

    Each float within `rel_precision` (relative) of ``(p/q)*b``, with
    ``1 <= |p| <= 144``, ``q <= 12`` and ``b`` one of 1, pi, 1/pi, pi**2,
    1/pi**2, e, 1/e, sqrt(n) for n in 2, 3, 5, 6, 7, 10, sqrt(pi),
    1/sqrt(pi), sqrt(2*pi), 1/sqrt(2*pi), becomes the closest such
    constant (so ``1/(4*pi)`` and ``2*pi`` are found); integral floats
    become integers; any other float is rounded to the relative precision
    (4 significant digits for 1e-3). sympy's automatic evaluation then
    combines the result; no `simplify` is run.

    Args:
        expr: The expression, e.g. with fitted constants substituted.
        rel_precision: Relative precision of the match and the rounding.

    Returns:
        The snapped expression; floats beyond float64 are left as they are.

    Raises:
        ExpressionError: A constant the snapped values make is beyond 1e300
            (sympy would compute it exactly, e.g. ``10**(10**15)`` from a
            fitted exponent), or sympy's evaluation failed on one.

    Example:
        >>> x = sympy.Symbol("x", real=True)
        >>> snap_constants(6.28318 * x)
        2*pi*x
    """
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    # A float beyond float64 (sympy arithmetic can leave the range) stays as it is.
    snapped = {
        f: _snap_value(float(f), rel_precision)
        for f in floats
        if math.isfinite(float(f))
    }
    try:
        result: sympy.Expr = bounded_xreplace(expr, snapped)
    except (ArithmeticError, RecursionError) as exc:
        raise unbounded_error(expr, exc, "cannot be snapped") from None
    return result


@dataclass(frozen=True, slots=True)
class EquivalenceVerdict:
    """Whether a found expression recovers the truth, how it was decided, and why.

    Example:
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
    points = _sample(sample, n_points)
    missing_truth = sorted(name for name in by_name if name not in points)
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

    ordered = sorted(variables, key=lambda s: s.name)
    cols = [points[s.name] for s in ordered]
    n = max((c.size for c in cols), default=1)
    t_val = _evaluate(_compile(truth, ordered), cols, n)
    candidates = {"snapped": snapped, "as fitted": found}
    values = {
        key: _evaluate(_compile(expr, ordered), cols, n)
        for key, expr in candidates.items()
    }
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
    ratio_spread, diff_spread = spreads["snapped"]
    if not any(min(pair) <= _PLAUSIBLE_SPREAD for pair in spreads.values()):
        detail = f"not a constant multiple or offset: ratio varies by {ratio_spread:.3g}, difference by {diff_spread:.3g} (relative)"
        return EquivalenceVerdict(False, "none", detail)

    deadline = time.monotonic() + time_limit
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
        if candidate == found:
            break

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
