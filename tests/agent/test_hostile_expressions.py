"""A planner's text never ends a campaign: a law no step can handle is rejected on the record.

Issue 13: an LLM reply proposing ``c0*L + exp(exp(exp(exp(9))))`` ended its
campaign with `OverflowError`, and since the reply was recorded first, every
resume replayed it and failed again.
"""

import json

import pytest

from lawloop.agent import start_campaign
from lawloop.agent.loop._formalize_node import _formalized
from lawloop.agent.planners._formalize import formalize
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.storage import open_store
from tests.agent.test_llm_planner import llm_config
from tests.conftest import TINY
from tests.fake_openai import FakeOpenAI

OVERFLOW = "c0*L + exp(exp(exp(exp(9))))"
"""The reply of the issue: a constant far beyond float64."""

TOWER = "c0*L + 2**(1e-320**(-9*c1**1e-320))"
"""Every constant is small, but the canonical key's rewrites set the tiny
exponent to zero, and the rest collapsed to 1e-320**(-9), beyond float64:
a nested exponential of constants, which the parser refuses."""


def _proposal(text: str, parameters=("c0", "c1")) -> Proposal:
    return Proposal(text, tuple(parameters), Source.LLM, "hostile")


def test_a_constant_beyond_float64_is_rejected_by_the_parser_with_the_reason():
    form = formalize(
        _proposal(OVERFLOW),
        variables=["L", "g"],
        units={"L": "m", "g": "m/s**2"},
        target_unit="s",
    )
    assert not form.ok
    assert "rejected by the parser" in form.message
    assert "`exp(exp(9))` is beyond 1e300" in form.message


def test_a_unit_the_checker_cannot_read_is_recorded_not_fatal():
    """`UnitError` escaped `formalize` (it caught only `ValueError`): now "units not checked"."""
    form = _formalized(_proposal("c0*L"), ["L"], {"L": "furlong"}, "s")
    assert form.ok
    assert form.units_consistent is None
    assert form.message.startswith("units not checked: Unknown unit `furlong`")


def test_a_step_after_the_parser_that_raises_records_the_rejection(monkeypatch):
    """Whatever `formalize` still raises (a project error, an `ArithmeticError`) is a rejection."""
    import lawloop.agent.loop._formalize_node as proposing

    def overflowing(*args, **kwargs):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(proposing, "formalize_one", overflowing)
    form = _formalized(_proposal("c0*L"), ["L"], {"L": "m"}, "s")
    assert not form.ok
    assert form.message.startswith("rejected: OverflowError")
    assert "int too large" in form.message


def _reply(*laws: str) -> str:
    return json.dumps(
        {
            "proposals": [
                {
                    "expression": law,
                    "parameters": ["c0", "c1"],
                    "rationale": "hostile",
                    "designs": [],
                }
                for law in laws
            ],
            "notes": "",
        }
    )


def _llm_outcomes(db: str, campaign_id: str) -> dict[str, str]:
    with open_store(db) as store:
        return {
            o["proposal"]: o.get("reason", "")
            for d in store.decisions_for(campaign_id)
            if d.kind == "formalize"
            for o in d.evidence_json["outcomes"]
            if o["source"] == "llm" and o["outcome"] == "rejected"
        }


@pytest.mark.slow
def test_a_campaign_and_its_replay_go_on_past_hostile_laws(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-lawloop-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI([_reply(OVERFLOW, TOWER)]) as server:
        db = f"sqlite:///{tmp_path / 'hostile.db'}"
        first = start_campaign(llm_config(server, **TINY), db)
        # The replay reuses the recorded reply, as a resume does: it must not
        # fail where the original did.
        replay = start_campaign(
            llm_config(server, **TINY, llm_replay_from=first["campaign_id"]), db
        )
    for summary in (first, replay):
        assert summary["status"] == "finished"
        rejected = _llm_outcomes(db, summary["campaign_id"])
        assert "exp(exp(9))" in rejected[OVERFLOW]
        assert "Nested exponential" in rejected[TOWER]
