"""Offline proposals in the space of dimensionless groups, mapped back to the inputs.

For a reduction `y = S(x) * f(pi)` (see `agent._reduction`):

* no group: `y = c0 * S(x)` is the whole law up to a number;
* any groups: a power law in the groups from a log-log fit, exponents
  rounded to halves;
* up to three groups: the common forms of `agent._templates` in each
  group, times a power law in the others, screened on the reduced data.
"""

from __future__ import annotations

import numpy as np
import sympy

from lawloop.agent._clock import Gate
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.agent.planners._templates import screen_forms
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._reduction import Reduction
from lawloop.tools import expression_text, make_symbol

__all__ = ["SCREEN_ROWS", "reduced_proposals"]

SCREEN_ROWS = 512
"""Most rows a form is screened on: its constants are only starting values
for the fit on every point, and a few hundred rows rank the forms."""


def _proposal(
    reduction: Reduction,
    law: sympy.Expr,
    params: dict[str, float],
    why: str,
) -> Proposal:
    expr = reduction.to_original(law)
    return Proposal(
        expression=expression_text(expr),
        parameters=tuple(params),
        source=Source.TEMPLATE,
        rationale=f"{why}; dimensional analysis: {reduction.describe()['scale']} "
        f"times f({', '.join(reduction.describe()['groups'])})",
        initial=dict(params),
    )


def _loglog(Z: np.ndarray, q: np.ndarray) -> np.ndarray | None:
    """Exponents and log-prefactor of `q ~ prod Z_j**a_j` by least squares in logs."""
    with np.errstate(all="ignore"):
        logs = np.log(np.abs(np.column_stack([Z, q])))
    ok = np.all(np.isfinite(logs), axis=1)
    if ok.sum() < Z.shape[1] + 3:
        return None
    A = np.column_stack([logs[ok, :-1], np.ones(int(ok.sum()))])
    coef, *_ = np.linalg.lstsq(A, logs[ok, -1], rcond=None)
    return np.asarray(coef)


def _halves(a: float) -> sympy.Rational:
    return sympy.Rational(round(2 * float(a)), 2)


def _power_law(reduction: Reduction, Z: np.ndarray, q: np.ndarray) -> list[Proposal]:
    """`c0 * prod Pi_j**a_j` with exponents from a log-log fit, rounded to halves."""
    c0 = make_symbol("c0")
    if Z.shape[1] == 0:
        value = float(np.median(q)) if len(q) else 1.0
        return [
            _proposal(
                reduction,
                c0,
                {"c0": value},
                "the groups leave no freedom: the law is a number times the scale",
            )
        ]
    coef = _loglog(Z, q)
    if coef is None:
        return []
    law: sympy.Expr = c0
    for name, a in zip(reduction.names, coef[:-1], strict=True):
        law *= make_symbol(name) ** _halves(a)
    sign = float(np.sign(np.median(q))) or 1.0
    return [
        _proposal(
            reduction,
            law,
            {"c0": sign * float(np.exp(coef[-1]))},
            "power law in the dimensionless groups (log-log fit, exponents rounded to halves)",
        )
    ]


def _forms(
    reduction: Reduction,
    Z: np.ndarray,
    q: np.ndarray,
    keep: int,
    *,
    rows: np.ndarray | None = None,
    gate: Gate | None = None,
) -> list[Proposal]:
    """A common form in one group times a power law in the others.

    With several groups, the others' exponents come from the log-log fit,
    rounded to halves; the form is screened on what they leave of `q`, on
    `rows` only when given (the screen's cost grows with the points, and a
    few hundred rank the forms as well as thousands).
    """
    coef = _loglog(Z, q) if Z.shape[1] > 1 else None
    if Z.shape[1] > 1 and coef is None:
        return []
    rename = {make_symbol("a"): make_symbol("c0"), make_symbol("b"): make_symbol("c1")}
    out = []
    for j, name in enumerate(reduction.names):
        others: sympy.Expr = sympy.Integer(1)
        rest = q
        for i, other in enumerate(reduction.names):
            if i == j or coef is None:
                continue
            power = _halves(coef[i])
            others *= make_symbol(other) ** power
            with np.errstate(all="ignore"):
                rest = rest / Z[:, i] ** float(power)
        # A group's orientation is arbitrary (lam*T*k/(c*h) or its inverse),
        # and Planck's exp(1/x) is not exp(b*x) times any power: try both.
        symbol = make_symbol(name)
        with np.errstate(all="ignore"):
            inverse = 1.0 / Z[:, j]
        if rows is not None:
            rest = rest[rows]
        for z, z_expr, label in (
            (Z[:, j], symbol, name),
            (inverse, 1 / symbol, f"1/{name}"),
        ):
            z = z if rows is None else z[rows]
            for form in screen_forms(z, rest, keep=keep, gate=gate):
                law = others * form.expression.xreplace(
                    {make_symbol("z"): z_expr, **rename}
                )
                out.append(
                    _proposal(
                        reduction,
                        law,
                        {"c0": form.values["a"], "c1": form.values["b"]},
                        f"form {form.form} in {label} fitted to "
                        f"{form.relative_rmse:.2g} relative RMS",
                    )
                )
    return out


def reduced_proposals(
    reduction: Reduction,
    data: Dataset,
    *,
    seed: int,
    gate: Gate | None = None,
) -> list[Proposal]:
    """Proposals from one reduction of the data.

    Args:
        reduction: The dimensionless groups and scale.
        data: The finite measurements so far.
        seed: Seed of the rows the forms are screened on (at most
            `SCREEN_ROWS` of them, drawn when there are more).
        gate: Asked before each form is screened; once it closes (the time
            limit), the screens stop and what was found so far is proposed.

    Returns:
        Proposals in the input variables, with starting values.
    """
    Z = reduction.features(data.inputs)
    q = reduction.reduced_target(data.inputs, data.y)
    ok = np.isfinite(q) & np.all(np.isfinite(Z), axis=1)
    Z, q = Z[ok], q[ok]
    out = _power_law(reduction, Z, q)
    if Z.shape[1] in (1, 2, 3):
        rows = None
        if len(q) > SCREEN_ROWS:
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(len(q), size=SCREEN_ROWS, replace=False))
        out.extend(
            _forms(
                reduction,
                Z,
                q,
                keep=3 if Z.shape[1] == 1 else 1,
                rows=rows,
                gate=gate,
            )
        )
    return out
