"""Formalizing a proposal: what is recorded is what every later node can parse."""

from lawloop.agent.planners._formalize import formalize
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.tools import parse_expression

UNITS = {"x": "m"}


def formalized(text: str, parameters: tuple[str, ...] = ()):
    proposal = Proposal(text, parameters, Source.SR, "test")
    return formalize(proposal, variables=["x"], units=UNITS, target_unit="m")


def test_a_law_whose_folded_constant_does_not_read_back_is_rejected_here():
    """1e60*1e60 parses (each literal is within limits) but folds to 1e120, which does not.

    Recorded as it was, the law failed the fit node and with it the campaign.
    """
    form = formalized("c0*x*1e60*1e60", ("c0",))
    assert not form.ok
    assert "does not read back" in form.message
    assert "too large" in form.message


def test_a_recorded_expression_reads_back_with_its_parameters():
    form = formalized("c0*x + 2.5e30*x/1e30", ("c0",))
    assert form.ok, form.message
    assert form.parameters == ("c0",)
    parse_expression(form.expression, ["x"], form.parameters)  # no error
