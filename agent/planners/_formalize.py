"""Formalize: untrusted proposal text to a checked, deduplicated model.

Every expression goes through the whitelisting parser before anything
evaluates it; a proposal that fails is kept on the record with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.tools import (
    ExpressionError,
    ToolError,
    canonical_key,
    check_dimensions,
    expression_text,
    parse_expression,
    repair_units,
)

__all__ = ["Formalized", "formalize", "parametrize_numbers", "repaired"]

_EXPONENT_DENOMINATORS = 6
_EXPONENT_SNAP = 2e-2


@dataclass(frozen=True, slots=True)
class Formalized:
    """A proposal after parsing, the units check and deduplication."""

    proposal: Proposal
    ok: bool
    """False when the text could not be parsed; `message` says why."""
    expression: str = ""
    """Canonical text of the parsed law (free constants as named parameters)."""
    parameters: tuple[str, ...] = ()
    key: str = ""
    """Canonical key: equal for laws that differ only in their constants."""
    units_consistent: bool | None = None
    message: str = ""


def formalize(
    proposal: Proposal,
    *,
    variables: Sequence[str],
    units: Mapping[str, str],
    target_unit: str,
) -> Formalized:
    """Parse, check units and compute the canonical key of one proposal.

    Args:
        proposal: The untrusted proposal.
        variables: Declared input variable names.
        units: Unit string of each input variable.
        target_unit: Unit string of the target observable.

    Returns:
        The formalized proposal; `ok` is False (with a message) when the text
        was rejected by the parser.
    """
    try:
        expr = parse_expression(proposal.expression, variables, proposal.parameters)
    except ExpressionError as exc:
        return Formalized(proposal, ok=False, message=f"rejected by the parser: {exc}")
    params = tuple(
        p
        for p in proposal.parameters
        if sympy.Symbol(p, real=True) in expr.free_symbols
    )
    if not any(s.name in variables for s in expr.free_symbols):
        return Formalized(
            proposal, ok=False, message="rejected: the law depends on no input variable"
        )
    try:
        check = check_dimensions(expr, units, target_unit, params)
        consistent, unit_msg = check.consistent, check.message
    except (
        ValueError,
        ToolError,
    ) as exc:  # a unit string the checker cannot read is recorded, not fatal
        consistent, unit_msg = None, f"units not checked: {exc}"
    text = expression_text(expr)
    try:
        # What is recorded is parsed again by every later node: it must read
        # back. Sympy may fold constants into a literal the parser refuses
        # (over 1e100), which would fail the fit, not this proposal.
        parse_expression(text, variables, params)
    except ExpressionError as exc:
        return Formalized(
            proposal,
            ok=False,
            message=f"rejected: its simplified form `{text[:200]}` does not read back: {exc}",
        )
    return Formalized(
        proposal,
        ok=True,
        expression=text,
        parameters=params,
        key=canonical_key(expr, params),
        units_consistent=consistent,
        message=unit_msg,
    )


def repaired(
    form: Formalized,
    *,
    variables: Sequence[str],
    units: Mapping[str, str],
    target_unit: str,
    parent_id: str,
) -> Proposal | None:
    """A units-inconsistent law mended with free dimensional constants, as a new proposal.

    The original stays rejected; the repair (`tools.repair_units`) is a
    rival derived from it, fitted and judged like any other.
    """
    if form.units_consistent is not False:
        return None
    expr = parse_expression(form.expression, variables, form.parameters)
    try:
        fixed = repair_units(expr, units, target_unit, form.parameters)
    except ValueError:
        return None
    if fixed is None:
        return None
    law, added = fixed
    prop = form.proposal
    return Proposal(
        expression_text(law),
        (*form.parameters, *added),
        prop.source,
        f"{prop.rationale}; units repaired with free constants {', '.join(added)} "
        f"({form.message})",
        initial={**prop.initial, **dict.fromkeys(added, 1.0)},
        parent_id=parent_id,
    )


def _snap_exponent(value: float) -> sympy.Rational | None:
    """A simple rational within `_EXPONENT_SNAP` of `value`, if there is one."""
    r = sympy.Rational(value).limit_denominator(_EXPONENT_DENOMINATORS)
    return r if abs(float(r) - value) <= _EXPONENT_SNAP else None


def parametrize_numbers(
    text: str, variables: Sequence[str], *, source: Source, rationale: str
) -> list[Proposal]:
    """Turn a law with numeric constants (an SR result) into proposals with free constants.

    Exponents close to simple rationals become those rationals; other
    numbers become parameters `c0, c1, ...` started at their values. A
    variant without a small additive constant (the intercept SR adds by
    linear scaling) is proposed too.

    Args:
        text: The law with numbers, untrusted.
        variables: Declared input variable names.
        source: Who produced it.
        rationale: Why, for the record.

    Returns:
        One or two proposals (none when the text does not parse).
    """
    try:
        expr = parse_expression(text, variables)
    except ExpressionError:
        return [Proposal(text, (), source, rationale + " (unparsable as given)")]
    expr = expr.replace(
        lambda e: (
            e.is_Pow and e.exp.is_Float and _snap_exponent(float(e.exp)) is not None
        ),
        lambda e: e.base ** _snap_exponent(float(e.exp)),
    )
    initial: dict[str, float] = {}

    def to_param(num: sympy.Float) -> sympy.Symbol:
        name = f"c{len(initial)}"
        initial[name] = float(num)
        return sympy.Symbol(name, real=True)

    floats = sorted(expr.atoms(sympy.Float), key=lambda f: str(f))
    mapping = {f: to_param(f) for f in floats}
    param_expr = expr.xreplace(mapping)
    out = [
        Proposal(
            expression_text(param_expr),
            tuple(initial),
            source,
            rationale,
            initial=dict(initial),
        )
    ]
    if isinstance(param_expr, sympy.Add):
        consts = [
            a
            for a in param_expr.args
            if not (a.free_symbols & {sympy.Symbol(v, real=True) for v in variables})
        ]
        if consts:
            trimmed = sympy.Add(*[a for a in param_expr.args if a not in consts])
            names = tuple(
                n for n in initial if sympy.Symbol(n, real=True) in trimmed.free_symbols
            )
            out.append(
                Proposal(
                    expression_text(trimmed),
                    names,
                    source,
                    rationale + "; additive constant dropped",
                    initial={n: initial[n] for n in names},
                )
            )
    return out
