"""The offline planner: hypotheses from the data alone, no network.

Rules, each a physicist's first move:

* power laws `c0 * prod x_i**a_i` from a log-log least-squares fit, with the
  exponents rounded to simple values (halves for positive quantities,
  integers for quantities that change sign);
* the same with `sin(theta)` or `cos(theta)` for dimensionless variables
  whose range is an angle range;
* the power law with free exponents, as a rival that shows how far the
  rounded one is from the data;
* mutations of the leading laws: each variable dropped, each exponent
  rounded, each constant the data cannot tell from 0, 1 or -1 set to it
  (an insignificant term dropped, a factor found to be one);
* laws in the dimensionless groups of each plausible dimensional reduction
  (`agent._reduced_planner`), mapped back to the inputs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from lawloop.agent._clock import Gate
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.agent.planners._reduced import reduced_proposals
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._reduction import Reduction
from lawloop.experiments import Variable
from lawloop.tools import expression_text, parse_expression

__all__ = ["Leader", "OfflinePlanner", "is_angle"]

_ANGLE_MAX = 2 * math.pi + 1e-9
_MAX_VARIANTS = 3
_INSIGNIFICANT_SE = 3.0
"""A constant within this many standard errors of 0, 1 or -1 is tried at that value."""
_SIMPLE_VALUES = (0, 1, -1)
# Treatments of angle inputs tried (power, sin, cos each): all of them for up to
# three angles; beyond that the log-log fits would cost more than they tell.
_MAX_ANGLE_CHOICES = 27


@dataclass(frozen=True, slots=True)
class Leader:
    """A leading law as the planner sees it: its parametrized form and fitted values."""

    hypothesis_id: str
    expression: str
    parameters: tuple[str, ...]
    values: dict[str, float]
    stderr: dict[str, float] = field(default_factory=dict)
    """Standard errors of the fitted constants, where the fit gave them."""


def is_angle(var: Variable) -> bool:
    """A dimensionless variable whose range fits in one turn."""
    if var.low is None or var.high is None:
        return False
    return (
        var.unit in ("", "1", "rad")
        and var.sign == "positive"
        and var.low >= 0
        and var.high <= _ANGLE_MAX
    )


def _round_exponent(a: float, signed: bool) -> float:
    """Integers for signed quantities (a root of a negative is not real), halves otherwise."""
    r = float(round(a)) if signed else round(2 * a) / 2
    return 0.0 if abs(r) < 1e-9 else r


def _power(name: str, a: float) -> str:
    """`name**a` as text, with simple exponents written simply."""
    if a == 1:
        return name
    if a == int(a):
        return f"{name}**{int(a)}"
    return f"{name}**({sympy.Rational(a).limit_denominator(12)})"


class OfflinePlanner:
    """Proposes laws from data by dimension-free rules; deterministic.

    Example:
        >>> planner = OfflinePlanner(variables, target="T")  # doctest: +SKIP
        >>> proposals = planner.propose(data, leaders=[])  # doctest: +SKIP
    """

    name = "offline"

    def __init__(self, variables: Sequence[Variable], *, target: str) -> None:
        """Create a planner for `target` as a function of `variables`."""
        self.variables = tuple(variables)
        self.target = target
        self.errors: list[str] = []
        """What went wrong in the last `propose`, for the record."""

    def propose(
        self,
        data: Dataset,
        leaders: Sequence[Leader],
        reductions: Sequence[Reduction] = (),
        *,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> list[Proposal]:
        """Proposals for this iteration.

        Args:
            data: Every finite measurement so far.
            leaders: The leading laws with their fitted constants, best first.
            reductions: Plausible dimensional reductions of the data, best first.
            seed: Seed of the screening fits in reduced space.
            gate: Asked before each screened form (the costly part); once it
                closes (the time limit), no more forms are screened.

        Returns:
            Proposals, not yet parsed or deduplicated.
        """
        out = self._power_laws(data)
        self.errors = []
        for reduction in reductions:
            try:
                out.extend(reduced_proposals(reduction, data, seed=seed, gate=gate))
            except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
                # Numbers a reduction produces can defeat a screen; that
                # reduction proposes nothing this time, the rest go on.
                self.errors.append(
                    f"reduction {reduction.describe()['groups']}: {type(exc).__name__}: {exc}"
                )
        for leader in leaders[:2]:
            out.extend(self._mutations(leader))
        return out

    # -- power laws ---------------------------------------------------------

    def _features(
        self, data: Dataset, choice: dict[str, str]
    ) -> tuple[np.ndarray, list[str]] | None:
        """Log-features of the inputs for one choice of angle treatment.

        An input at zero (a design at the edge of its range) gives -inf,
        which the caller drops with the other non-finite rows.
        """
        cols, terms = [], []
        for var in self.variables:
            x = data.inputs[var.name]
            kind = choice.get(var.name, "power")
            base = {"sin": np.sin, "cos": np.cos}.get(kind)
            with np.errstate(divide="ignore"):
                cols.append(np.log(np.abs(base(x) if base else x)))
            terms.append(f"{kind}({var.name})" if base else var.name)
        if not cols:
            return None
        return np.column_stack(cols), terms

    def _power_laws(self, data: Dataset) -> list[Proposal]:
        """Rounded and free-exponent power laws for the best angle treatments."""
        angles = [v.name for v in self.variables if is_angle(v)]
        choices = [
            dict(zip(angles, combo, strict=True))
            for combo in itertools.product(("power", "sin", "cos"), repeat=len(angles))
        ]
        fits = []
        for choice in choices[:_MAX_ANGLE_CHOICES]:
            fit = self._loglog(data, choice)
            if fit is not None:
                fits.append(fit)
        fits.sort(key=lambda f: f[0])
        out: list[Proposal] = []
        for rank, (_, coef, terms, signed) in enumerate(fits[:_MAX_VARIANTS]):
            for rounding in ("simple", "integer"):
                exps = [
                    _round_exponent(a, s or rounding == "integer" or "(" in t)
                    for a, t, s in zip(coef, terms, signed, strict=True)
                ]
                factors = [
                    _power(t, a) for t, a in zip(terms, exps, strict=True) if a != 0
                ]
                body = "*".join(factors) if factors else "1"
                out.append(
                    Proposal(
                        expression=f"c0*{body}",
                        parameters=("c0",),
                        source=Source.POWER_LAW,
                        rationale=(
                            f"log-log least squares gave exponents "
                            f"{', '.join(f'{t}: {a:.3g}' for t, a in zip(terms, coef, strict=True))}; "
                            f"rounded to {rounding} values"
                        ),
                    )
                )
            if rank == 0:
                out.append(self._free_exponents(coef, terms, signed))
        return out

    def _loglog(
        self, data: Dataset, choice: dict[str, str]
    ) -> tuple[float, np.ndarray, list[str], list[bool]] | None:
        """Least squares of log|y| on log-features; (rms residual, exponents, terms, signed)."""
        if len(data) < len(self.variables) + 3:
            return None
        feats = self._features(data, choice)
        if feats is None:
            return None
        X, terms = feats
        with np.errstate(all="ignore"):
            ly = np.log(np.abs(data.y))
        ok = np.isfinite(ly) & np.all(np.isfinite(X), axis=1)
        if ok.sum() < X.shape[1] + 3:
            return None
        A = np.column_stack([X[ok], np.ones(int(ok.sum()))])
        coef, *_ = np.linalg.lstsq(A, ly[ok], rcond=None)
        resid = float(np.sqrt(np.mean((A @ coef - ly[ok]) ** 2)))
        signed = [v.sign != "positive" for v in self.variables]
        return resid, coef[:-1], terms, signed

    def _free_exponents(
        self, coef: np.ndarray, terms: list[str], signed: list[bool]
    ) -> Proposal:
        """The power law with fitted exponents for positive quantities."""
        params = ["c0"]
        initial = {"c0": 1.0}
        factors = []
        for t, a, s in zip(terms, coef, signed, strict=True):
            if s or "(" in t:
                e = _round_exponent(float(a), True)
                if e:
                    factors.append(_power(t, e))
                continue
            name = f"c{len(params)}"
            params.append(name)
            initial[name] = float(a)
            factors.append(f"{t}**{name}")
        body = "*".join(factors) if factors else "1"
        return Proposal(
            expression=f"c0*{body}",
            parameters=tuple(params),
            source=Source.POWER_LAW,
            rationale="power law with the exponents left free, a rival to the rounded laws",
            initial=initial,
        )

    # -- mutations ------------------------------------------------------------

    def _mutations(self, leader: Leader) -> list[Proposal]:
        """Each variable dropped, each free exponent rounded, each insignificant constant fixed."""
        names = [v.name for v in self.variables]
        try:
            expr = parse_expression(leader.expression, names, leader.parameters)
        except ValueError:
            return []
        out: list[Proposal] = []
        present = sorted(s.name for s in expr.free_symbols if s.name in names)
        if len(present) > 1:
            for name in present:
                dropped = expr.subs(sympy.Symbol(name, real=True), 1)
                out.append(
                    self._mutation(
                        dropped, leader, f"dropped `{name}` from the leading law"
                    )
                )
        exponents = {
            p.exp: sympy.Rational(round(2 * leader.values[p.exp.name]), 2)
            for p in expr.atoms(sympy.Pow)
            if isinstance(p.exp, sympy.Symbol) and p.exp.name in leader.values
        }
        if exponents:
            rounded = expr.subs(exponents)
            out.append(
                self._mutation(
                    rounded,
                    leader,
                    "rounded the free exponents of the leading law to halves",
                )
            )
        out.extend(self._fixed_constants(expr, leader))
        return out

    def _fixed_constants(self, expr: sympy.Expr, leader: Leader) -> list[Proposal]:
        """The leading law with one constant set to 0, 1 or -1 where its fit allows that value.

        A constant within `_INSIGNIFICANT_SE` standard errors of a simple
        value is not shown by the data to differ from it: an additive
        constant of ~0 is a term the data do not need (noise fitted), a
        factor of ~1 is no factor. The nearest such value (in standard
        errors) that leaves a valid law is taken. A constant the fit leaves
        undetermined (infinite standard error: the others absorb it, as a
        scale shared by a numerator and a denominator) is set to 1. The
        simpler law is proposed; the judge keeps it only if it is adequate too.
        """
        names = {v.name for v in self.variables}
        out: list[Proposal] = []
        for name in leader.parameters:
            value, se = leader.values.get(name), leader.stderr.get(name)
            if value is None or se is None or not se > 0 or not math.isfinite(value):
                continue
            if math.isinf(se):
                candidates = [1]
            else:
                near = [
                    v
                    for v in _SIMPLE_VALUES
                    if abs(value - v) <= _INSIGNIFICANT_SE * se
                ]
                candidates = sorted(near, key=lambda v: abs(value - v))
            for simple in candidates:
                fixed = expr.subs(sympy.Symbol(name, real=True), simple)
                if fixed.has(sympy.zoo, sympy.nan, sympy.oo) or not any(
                    s.name in names for s in fixed.free_symbols
                ):
                    continue
                out.append(
                    self._mutation(
                        fixed,
                        leader,
                        f"set `{name}` = {value:.4g} ± {se:.2g} to {simple}, "
                        "a value its fit does not exclude",
                    )
                )
                break
        return out

    @staticmethod
    def _mutation(expr: sympy.Expr, leader: Leader, why: str) -> Proposal:
        """A mutated law keeping the parent's remaining constants as free parameters."""
        left = tuple(
            p
            for p in leader.parameters
            if sympy.Symbol(p, real=True) in expr.free_symbols
        )
        return Proposal(
            expression=expression_text(expr),
            parameters=left,
            source=Source.MUTATION,
            rationale=why,
            initial={p: leader.values[p] for p in left if p in leader.values},
            parent_id=leader.hypothesis_id,
        )
