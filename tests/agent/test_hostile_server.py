"""A hostile LLM server cannot end, stall or leak a campaign (issue 13): one scenario per finding.

Each scenario runs a small campaign against the real local server of
`tests/fake_openai.py`. The server asks the campaign to stop while it answers,
so the campaign stops after its LLM turn (`CampaignInterrupted`, exit 130 on
the command line) and `resume_campaign` must finish it from the record the
hostile answer left. Then the failure must be on that record, and the API key
nowhere on disk. (In process, not through `run.py`: the CLI's signal handling
needs a real stderr, and a subprocess would import the agent twice per
scenario; `run.py export` and `report` do run through the CLI.)
"""

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.agent import CampaignConfig, resume_campaign, start_campaign, stop_campaign
from lawloop.agent.errors import CampaignInterrupted
from lawloop.agent.planners._llm_schema import MAX_REPLY_BYTES
from lawloop.storage import check_database, open_store
from tests.agent.test_bench import U0, _var
from tests.agent.test_llm_planner import reply
from tests.conftest import TINY
from tests.fake_openai import Echo, FakeOpenAI, HTTPError, Raw, Reply

# Each test runs a campaign (interrupted and resumed): 4-20 s apiece.
pytestmark = pytest.mark.slow

KEY = "sk-lawloop-test-SECRET-0123456789"
NAME = "hostile"
BACKOFF_S = 0.05
CUT = MAX_REPLY_BYTES + 64  # the most a kept reply takes, its marker included

# Two inputs and few points: the offline planner and SR take a second or two.
SMALL = dict(TINY, initial_points=12, batch_points=6, sr_max_evaluations=1000)
SWING = {
    "description": "lawloop test problem",
    "problems": [
        {
            "id": "swing",
            "formula": "2 * pi * sqrt(L / g)",
            "output": "T",
            "output_units": {**U0, "s": 1},
            "variables": [
                _var("L", 0.1, 10.0, {"m": 1}),
                _var("g", 1.0, 20.0, {"m": 1, "s": -2}),
            ],
            "split": "easy",
            "units_constants": [],
            "notes": None,
        }
    ],
}


HTML = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>"
DEEP = '{"proposals": ' + "[" * 20_000 + "]" * 20_000 + "}"
OVERFLOW = "c0*L + exp(exp(exp(exp(9))))"


@dataclass(frozen=True)
class Scenario:
    """A script for the server and what the first LLM row's error must say."""

    script: list
    error: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)


SCENARIOS = {
    # Finding 4: a server that echoes the request's headers, in an error and a reply.
    "echoed-key": Scenario(
        [Echo(500), Echo()],
        ("unusable reply", "does not match the schema"),
        {"llm_max_attempts": 2},
    ),
    # Finding 3: a 5 MB reply is refused unread, kept cut, and not sent back whole.
    "huge-reply": Scenario(
        [Reply("x" * 5_000_000)], ("5,000,000 bytes", f"{MAX_REPLY_BYTES:,} bytes")
    ),
    # Finding 2: nesting that made `json.loads` raise RecursionError.
    "deep-json": Scenario(
        [DEEP], ("nests deeper than 64 levels", f"{len(DEEP):,} bytes")
    ),
    # Finding 3: the input that made the old scanner quadratic (54 s per turn).
    "fence-brace-flood": Scenario(["```{" * 37_500], ("150,000 bytes",)),
    # Finding 5: `Retry-After: nan` gave no wait and NaN in a JSON column.
    "retry-after-nan": Scenario(
        [HTTPError(429, headers={"Retry-After": "nan"}), reply("c0*sqrt(L/g)")]
    ),
    # Finding 5: an HTML page with status 200 was "the reply was empty".
    "html-200": Scenario(
        [Raw(HTML)], ("text/html", "<!DOCTYPE html>", f"({len(HTML):,} bytes)")
    ),
    # The cap is the campaign's (`llm_max_reply_bytes`), not only the default.
    "configured-cap": Scenario(
        [Reply("y" * 3000)],
        ("3,000 bytes", "2,048 bytes"),
        {"llm_max_reply_bytes": 2048},
    ),
    # Finding 1: a law whose constant overflows ended the campaign.
    "overflowing-law": Scenario([reply(OVERFLOW, "c0*sqrt(L/g)")]),
}


def cli(*args):
    return CliRunner().invoke(run.app, list(args))


@pytest.fixture
def hostile_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _stopping(step, db):
    """`step`, after asking the campaign to stop once its current node is done."""

    def answer(body):
        stop_campaign(db, NAME, wait=False)
        time.sleep(0.3)  # several heartbeats: the runner has read the request
        return step

    return answer


def _config(server, tmp_path, name, over):
    problem = tmp_path / "swing.json"
    problem.write_text(json.dumps(SWING))
    settings = dict(
        SMALL,
        backend_options={"problem_file": str(problem), "problem_id": "swing"},
        planner="llm",
        llm_model="fake-model",
        llm_base_url=server.base_url,
        llm_timeout_s=5.0,
        llm_backoff_s=BACKOFF_S,
        seed=5,
        name=name,
    )
    settings.update(over)
    return CampaignConfig(backend="core/Formula-v0", **settings)


def _llm_calls(db, cid):
    with open_store(db) as store:
        return [c for c in store.planner_calls_for(cid) if c.planner.startswith("llm:")]


def _llm_outcomes(db, cid):
    with open_store(db) as store:
        return [
            o
            for d in store.decisions_for(cid)
            if d.kind == "formalize"
            for o in d.evidence_json["outcomes"]
            if o["source"] == "llm"
        ]


def _holding_the_key(directory: Path):
    """Every file under `directory` whose bytes hold the key."""
    return [
        p.relative_to(directory)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and KEY.encode() in p.read_bytes()
    ]


@pytest.mark.parametrize("name", list(SCENARIOS), ids=str)
def test_a_hostile_answer_is_recorded_and_the_campaign_resumes_to_the_end(
    hostile_env, tmp_path, name
):
    scenario = SCENARIOS[name]
    path = tmp_path / "hostile.db"
    db = f"sqlite:///{path}"
    script = [_stopping(scenario.script[0], db), *scenario.script[1:]]
    with FakeOpenAI(script, api_key=KEY) as server:
        config = _config(server, tmp_path, NAME, scenario.config)
        with pytest.raises(CampaignInterrupted):
            start_campaign(config, db, heartbeat_s=0.05)
        summary = resume_campaign(NAME, db, heartbeat_s=0.05)
        requests = server.completions
    cid = summary["campaign_id"]
    assert summary["status"] == "finished"
    assert requests[0].headers["authorization"] == f"Bearer {KEY}"

    calls = _llm_calls(db, cid)
    first = calls[0]
    for words in scenario.error:
        assert words in (first.error or ""), first.error
    for call in calls:  # nothing from the server is kept whole past the cap
        assert len((call.reply or "").encode()) <= CUT
    for request in requests:  # nor sent back whole in a repair
        assert all(
            len(m["content"].encode()) <= 2 * CUT for m in request.body["messages"]
        )
    with sqlite3.connect(path) as con:
        columns = " ".join(
            r[0] or "" for r in con.execute("select parsed_json from planner_call")
        )
    assert "NaN" not in columns
    assert "Infinity" not in columns
    assert _holding_the_key(tmp_path) == []
    report = check_database(db)  # the interrupted and resumed record is whole
    assert report.ok, [str(p) for p in report.problems]

    if name == "echoed-key":
        assert "Bearer ***" in first.reply  # the echo was recorded, redacted
        assert "Bearer ***" in first.parsed_json["attempts"][0]["message"]
        assert [a["status"] for a in first.parsed_json["attempts"]] == [500, 200]
        assert "Bearer ***" in requests[-1].body["messages"][-2]["content"]
    elif name == "huge-reply":
        assert first.reply.endswith(f"reply cut at {MAX_REPLY_BYTES} of 5000000 bytes]")
        assert calls[1].template_name == "propose_hypotheses+repair"
        assert "5,000,000 bytes" in requests[1].body["messages"][-1]["content"]
    elif name == "retry-after-nan":
        assert first.error is None
        waits = [a["waited_s"] for a in first.parsed_json["attempts"]]
        assert waits == [0.0, BACKOFF_S]  # the normal backoff, not "no wait"
    elif name == "html-200":
        assert "empty" not in first.error
        assert first.reply is None
        assert len(calls) == 1  # the same URL answers the same: no repair
    elif name == "overflowing-law":
        assert first.error is None
        outcome = next(o for o in _llm_outcomes(db, cid) if o["proposal"] == OVERFLOW)
        assert outcome["outcome"] == "rejected"
        assert outcome["reason"]


def test_the_key_echoed_by_the_server_is_in_no_export_report_or_log(
    hostile_env, tmp_path
):
    path = tmp_path / "echo.db"
    db = f"sqlite:///{path}"
    with FakeOpenAI([Echo(500), Echo()], api_key=KEY) as server:
        config = _config(server, tmp_path, "echo", {"llm_max_attempts": 2})
        assert start_campaign(config, db)["status"] == "finished"
    for args in (
        (
            "export",
            "echo",
            "--format",
            "prov-json",
            "--out",
            str(tmp_path / "prov.json"),
        ),
        ("export", "echo", "--format", "ro-crate", "--out", str(tmp_path / "crate")),
        ("report", "echo", "--out", str(tmp_path / "report.html")),
    ):
        done = cli(*args, "--db", db)
        assert done.exit_code == 0, done.output[-3000:]
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"prov.json", "report.html", "ro-crate-metadata.json", "echo.db"} <= written
    assert any(n.endswith(".log") for n in written)
    assert _holding_the_key(tmp_path) == []
    assert b"Bearer ***" in path.read_bytes() + (
        path.with_name("echo.db-wal").read_bytes()
        if path.with_name("echo.db-wal").exists()
        else b""
    )
