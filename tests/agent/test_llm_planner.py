"""The LLM planner against a real local OpenAI-compatible server (scripted replies)."""

import json
from pathlib import Path

import pytest

from lawloop.agent import CampaignConfig, start_campaign
from lawloop.storage import open_store
from tests.agent.test_bench import U0, _var
from tests.conftest import FAST
from tests.fake_openai import FakeOpenAI, HTTPError, Reply

pytestmark = pytest.mark.slow

KEY = "sk-lawloop-test-SECRET-0123456789"
LAW = "c0*A0*exp(-t/tau)*cos(2*pi*t/P)"

# A damped oscillation: no power law, no angle input (so SR gets no sin/cos).
OSCILLATOR = {
    "description": "lawloop test problem",
    "problems": [
        {
            "id": "damped",
            "formula": "A0 * exp(-t / tau) * cos(2 * pi * t / P)",
            "output": "x",
            "output_units": {**U0, "m": 1},
            "variables": [
                _var("A0", 0.1, 1.0, {"m": 1}),
                _var("t", 0.0, 5.0, {"s": 1}, sampling="uniform"),
                _var("tau", 1.0, 5.0, {"s": 1}, sampling="uniform"),
                _var("P", 1.0, 3.0, {"s": 1}, sampling="uniform"),
            ],
            "split": "hard",
            "units_constants": [],
            "notes": None,
        }
    ],
}


def reply(*laws, designs=()):
    return json.dumps(
        {
            "proposals": [
                {
                    "expression": law,
                    "parameters": ["c0"],
                    "rationale": "physics",
                    "designs": list(designs),
                }
                for law in laws
            ],
            "notes": "",
        }
    )


@pytest.fixture
def llm_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def llm_config(server, backend="core/Pendulum-v0", **over):
    settings = dict(
        FAST,
        max_iterations=3,
        sr_max_evaluations=20_000,
        seed=5,
        planner="llm",
        llm_model="fake-model",
        llm_base_url=server.base_url,
        llm_timeout_s=2.0,
        llm_backoff_s=0.05,
    )
    settings.update(over)
    return CampaignConfig(backend=backend, **settings)


def llm_calls(db, cid):
    with open_store(db) as store:
        return [c for c in store.planner_calls_for(cid) if c.planner.startswith("llm:")]


@pytest.fixture
def oscillator_options(tmp_path):
    path = tmp_path / "osc.json"
    path.write_text(json.dumps(OSCILLATOR))
    return {"problem_file": str(path), "problem_id": "damped"}


def test_right_law_from_the_model_is_accepted_with_fewer_measurements(
    llm_env, tmp_path, oscillator_options
):
    with FakeOpenAI([reply(LAW, "c0*A0*exp(-t/tau)")], api_key=KEY) as server:
        db = f"sqlite:///{tmp_path / 'llm.db'}"
        summary = start_campaign(
            llm_config(server, "core/Formula-v0", backend_options=oscillator_options),
            db,
        )
        assert all(
            r.headers.get("authorization") == f"Bearer {KEY}"
            for r in server.completions
        )
    offline = start_campaign(
        CampaignConfig(
            backend="core/Formula-v0",
            backend_options=oscillator_options,
            seed=5,
            **dict(FAST, max_iterations=3, sr_max_evaluations=20_000),
        ),
        f"sqlite:///{tmp_path / 'offline.db'}",
    )
    assert summary["stop_reason"] == "accepted"
    with open_store(db) as store:
        accepted = store.get_hypothesis(summary["best"]["hypothesis_id"])
    assert accepted.source == "llm"
    assert (
        offline["stop_reason"] != "accepted"
        or offline["measurements"] > summary["measurements"]
    )


def test_wrong_laws_from_the_model_still_converge_through_the_other_sources(
    llm_env, tmp_path
):
    with FakeOpenAI([reply("c0*L*g", "c0*m*theta0")]) as server:
        db = f"sqlite:///{tmp_path / 'w.db'}"
        summary = start_campaign(llm_config(server), db)
    assert summary["stop_reason"] == "accepted"
    with open_store(db) as store:
        cid = summary["campaign_id"]
        assert store.get_hypothesis(summary["best"]["hypothesis_id"]).source != "llm"
        llm_hyps = [h for h in store.list_hypotheses(cid) if h.source == "llm"]
        assert {h.expression for h in llm_hyps} >= {"L*c0*g"}
        assert all(h.status != "accepted" for h in llm_hyps)


VALID = reply("c0*sqrt(L/g)")

SCENARIOS = {
    # name: (script, server options, config overrides, check(calls, server))
    "malformed-json-then-repaired": (['{"proposals": [}', VALID], {}, {}),
    "schema-violation-twice": ([json.dumps({"proposals": [{"expr": "L"}]})], {}, {}),
    "empty-reply-twice": ([""], {}, {}),
    "server-500s": ([HTTPError(500)], {}, {"llm_max_attempts": 3}),
    "429-with-retry-after": (
        [HTTPError(429, headers={"Retry-After": "1"}), VALID],
        {},
        {},
    ),
    "slower-than-timeout": (
        [Reply(VALID, delay_s=3.0)],
        {},
        {"llm_timeout_s": 0.5, "llm_max_attempts": 2},
    ),
    "no-json-schema-support": ([VALID], {"json_schema_supported": False}, {}),
}


@pytest.mark.parametrize("name", list(SCENARIOS), ids=str)
def test_model_failures_are_recorded_and_the_campaign_finishes(llm_env, tmp_path, name):
    script, server_options, over = SCENARIOS[name]
    with FakeOpenAI(script, **server_options) as server:
        db = f"sqlite:///{tmp_path / 'f.db'}"
        summary = start_campaign(llm_config(server, max_iterations=2, **over), db)
        requests = server.completions
    assert summary["status"] == "finished"
    assert summary["best"] is not None
    calls = llm_calls(db, summary["campaign_id"])
    assert calls, "every LLM exchange is on the record"
    first = calls[0]
    assert first.prompt
    assert first.template_name == "propose_hypotheses"
    assert len(first.template_sha256) == 64
    if name == "malformed-json-then-repaired":
        assert "not valid JSON" in calls[0].error
        assert calls[1].parsed_json["proposals"][0]["expression"] == "c0*sqrt(L/g)"
        assert (
            "not valid JSON" in requests[1].body["messages"][-1]["content"]
        )  # the repair quotes the error
    elif name in ("schema-violation-twice", "empty-reply-twice"):
        turn = [c for c in calls if c.iteration_id == first.iteration_id]
        assert len(turn) == 2
        assert all("unusable reply" in c.error for c in turn)
        assert all("proposals" not in c.parsed_json for c in turn)
    elif name == "server-500s":
        assert "500" in first.error
        assert len(first.parsed_json["attempts"]) == 3
    elif name == "429-with-retry-after":
        assert first.error is None
        assert (
            first.parsed_json["attempts"][1]["waited_s"] >= 1.0
        )  # the pause before the retry
        assert requests[1].time - requests[0].time >= 1.0
    elif name == "slower-than-timeout":
        assert "Timeout" in first.error
    elif name == "no-json-schema-support":
        assert first.error is None
        assert first.parsed_json["mode"] == "text"
        assert first.input_tokens == 11
        assert first.output_tokens == 7
        assert first.latency_s > 0


def test_unsafe_and_unknown_expressions_are_rejected_and_shown_to_the_model(
    llm_env, tmp_path
):
    pwned = tmp_path / "pwned"
    evil = [
        f"__import__('os').system('touch {pwned}')",
        "c0*L*zeta",
        "c0*L.__class__",
        "(lambda: 1)()",
    ]
    with FakeOpenAI([reply(*evil)]) as server:
        db = f"sqlite:///{tmp_path / 'x.db'}"
        summary = start_campaign(llm_config(server, max_iterations=2), db)
        requests = server.completions
    assert not pwned.exists()
    assert summary["status"] == "finished"
    with open_store(db) as store:
        outcomes = [
            o
            for d in store.decisions_for(summary["campaign_id"])
            if d.kind == "formalize"
            for o in d.evidence_json["outcomes"]
            if o["source"] == "llm"
        ]
    rejected = {
        o["proposal"]: o["reason"] for o in outcomes if o["outcome"] == "rejected"
    }
    assert set(evil) <= set(rejected)
    assert "zeta" in rejected["c0*L*zeta"]
    second_prompt = requests[1].body["messages"][-1]["content"]
    assert "zeta" in second_prompt
    assert "Laws already rejected" in second_prompt


def test_the_api_key_is_never_recorded(llm_env, tmp_path, caplog):
    caplog.set_level("DEBUG")
    with FakeOpenAI([VALID], api_key=KEY) as server:
        db_path = tmp_path / "k.db"
        start_campaign(llm_config(server, max_iterations=2), f"sqlite:///{db_path}")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # the log file too
    assert any(p.suffix == ".log" for p in files)
    for path in files:
        assert KEY.encode() not in Path(path).read_bytes(), path.name
    assert KEY not in caplog.text


def test_replay_makes_no_request_and_reaches_the_same_decisions(llm_env, tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with FakeOpenAI([reply("c0*L*g"), VALID]) as server:
        first = start_campaign(llm_config(server), db)
        seen = len(server.requests)
        replayed = start_campaign(
            llm_config(server, llm_replay_from=first["campaign_id"]), db
        )
        assert (
            len(server.requests) == seen
        )  # not a single request, not even a health check
    with open_store(db) as store:

        def story(cid):
            hyps = {h.id: h.expression for h in store.list_hypotheses(cid)}
            return [
                (d.kind, d.reason, hyps.get(d.hypothesis_id))
                for d in store.decisions_for(cid)
            ]

        assert story(first["campaign_id"]) == story(replayed["campaign_id"])
        assert all(
            c.parsed_json["reused"] for c in llm_calls(db, replayed["campaign_id"])
        )
    assert replayed["best"]["expression"] == first["best"]["expression"]


def test_the_call_budget_stops_llm_calls_and_says_so(llm_env, tmp_path):
    with FakeOpenAI([reply("c0*L*g")]) as server:
        db = f"sqlite:///{tmp_path / 'b.db'}"
        summary = start_campaign(llm_config(server, llm_max_calls=1), db)
        assert len(server.completions) == 1
    with open_store(db) as store:
        skips = [
            d
            for d in store.decisions_for(summary["campaign_id"])
            if d.kind == "skip-llm"
        ]
    assert skips
    assert "1/1 calls" in skips[0].reason
