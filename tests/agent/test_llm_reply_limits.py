"""The planner screens every exchange before reading it: reply cap, redaction, finite numbers.

A real `ChatClient` against the local fake server, and the planner's own
record callback (a list), so each rule is seen at the planner's boundary.
"""

import json
import math

import pytest
from pydantic import ValidationError

from lawloop.agent import CampaignConfig
from lawloop.agent.planners._llm_client import Attempt, ChatClient, ChatResult
from lawloop.agent.planners._llm_planner import LLMPlanner, Recorded
from lawloop.agent.planners._llm_schema import MAX_REPLY_BYTES
from lawloop.prompts import load
from tests.fake_openai import Echo, FakeOpenAI, Reply

KEY = "sk-lawloop-test-SECRET-0123456789"
CAP = 4096
VALID = json.dumps(
    {"proposals": [{"expression": "c0*sqrt(L/g)", "parameters": ["c0"]}], "notes": ""}
)
VALUES = {
    "target": "T",
    "target_unit": "s",
    "variables": "- `L` [m]: 0.1 .. 10 (uniform)",
    "data_summary": "Nothing yet.",
    "leaders": "None yet.",
    "rejected": "None yet.",
    "budget": "iterations left: 1",
    "max_proposals": "3",
}


def _planner(client, cap=CAP):
    return LLMPlanner(
        client,
        model="fake-model",
        template=load("propose_hypotheses"),
        max_reply_bytes=cap,
    )


def _turn(planner, recorded=lambda j: None):
    exchanges = []
    proposals = planner.propose(VALUES, recorded=recorded, record=exchanges.append)
    return proposals, exchanges


@pytest.fixture
def client():
    made = []

    def make(steps):
        server = FakeOpenAI(steps, api_key=KEY).start()
        chat = ChatClient(
            base_url=server.base_url, api_key=KEY, model="fake-model", backoff_s=0
        )
        made.append((server, chat))
        return server, chat

    yield make
    for server, chat in made:
        chat.close()
        server.close()


def test_an_oversized_reply_is_refused_unread_kept_cut_and_repaired(client):
    server, chat = client([Reply("{" * 10 + "x" * 100_000), VALID])
    proposals, (first, repair) = _turn(_planner(chat))
    assert [p.expression for p in proposals] == ["c0*sqrt(L/g)"]
    assert (
        "the reply is 100,010 bytes, over the cap of 4,096 bytes" in first.reply_error
    )
    assert first.reply is None
    assert len(first.content.encode()) <= CAP + 64
    assert first.content.endswith("[lawloop: reply cut at 4096 of 100010 bytes]")
    sent_back = server.completions[1].body["messages"]
    assert sent_back[-2] == {"role": "assistant", "content": first.content}
    assert "100,010 bytes" in sent_back[-1]["content"]
    assert repair.reply_error is None


def test_a_reply_cut_on_an_earlier_run_is_refused_again_without_a_request(client):
    server, chat = client([Reply("x" * 100_000), VALID])
    _, recorded = _turn(_planner(chat))
    requests = len(server.completions)
    replayed = {
        j: Recorded(ex.content, ex.mode, ex.error) for j, ex in enumerate(recorded)
    }
    proposals, again = _turn(_planner(None), recorded=replayed.get)
    assert len(server.completions) == requests
    assert [p.expression for p in proposals] == ["c0*sqrt(L/g)"]
    assert [(e.content, e.reply_error) for e in again] == [
        (e.content, e.reply_error) for e in recorded
    ]


def test_the_key_is_redacted_from_reply_error_attempts_and_repair(client):
    server, chat = client([Echo(500), Echo()])
    _, exchanges = _turn(_planner(chat, cap=MAX_REPLY_BYTES))
    assert server.completions[0].headers["authorization"] == f"Bearer {KEY}"
    for ex in exchanges:
        assert KEY not in json.dumps(
            [ex.content, ex.error, ex.reply_error, ex.attempts, ex.parsed()]
        )
    assert "Bearer ***" in exchanges[0].content
    assert "Bearer ***" in exchanges[0].attempts[0]["message"]
    assert all(KEY not in json.dumps(r.body) for r in server.completions)


class CannedChat:
    """A chat client that answers with one fixed `ChatResult`."""

    model = "canned"
    secrets = (KEY,)

    def __init__(self, result):
        self.result = result

    def complete(self, messages, *, schema, schema_name):
        return self.result


def test_non_finite_numbers_and_secrets_in_attempts_are_not_recorded():
    attempts = (
        Attempt("text", 429, "RateLimitError", f"key {KEY}", math.inf, math.nan),
        Attempt("text", 200, None, None, 0.1, 0.5),
    )
    result = ChatResult(VALID, "text", 1, 1, 0.2, attempts)
    _, (exchange,) = _turn(_planner(CannedChat(result)))
    assert exchange.attempts[0] == {
        "mode": "text",
        "status": 429,
        "error_type": "RateLimitError",
        "message": "key ***",
        "latency_s": None,
        "waited_s": None,
    }
    json.dumps(exchange.parsed(), allow_nan=False)


def test_the_reply_cap_is_a_config_field_with_a_floor():
    assert CampaignConfig(backend="core/Pendulum-v0").llm_max_reply_bytes == 65_536
    assert MAX_REPLY_BYTES == 65_536
    with pytest.raises(ValidationError, match="llm_max_reply_bytes"):
        CampaignConfig(backend="core/Pendulum-v0", llm_max_reply_bytes=10)
