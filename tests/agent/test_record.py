"""The record's payload models describe what is stored, byte for byte."""

import json
import sqlite3
from pathlib import Path

import pytest

from lawloop.agent.record import (
    DecideEvidence,
    FitScores,
    FormalizeEvidence,
    RecordError,
    RejectEvidence,
    SkipEvidence,
    SupersedeEvidence,
    decision_evidence,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "db_6a431ef" / "main.db"
DECISIONS = {
    "accept": DecideEvidence,
    "continue": DecideEvidence,
    "stop": DecideEvidence,
    "reject": RejectEvidence,
    "supersede": SupersedeEvidence,
    "skip-search": SkipEvidence,
}


def _rows(sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro&immutable=1", uri=True) as db:
        return list(db.execute(sql))


def test_every_fit_of_an_old_database_round_trips_exactly():
    rows = _rows("select scores_json from model_fit")
    assert len(rows) > 10
    for (text,) in rows:
        stored = json.loads(text)
        assert json.dumps(FitScores.read(stored).dump()) == json.dumps(stored)


def test_every_decision_of_an_old_database_round_trips_exactly():
    seen = set()
    for kind, text in _rows("select kind, evidence_json from decision"):
        if kind in DECISIONS:
            stored = json.loads(text)
            dumped = DECISIONS[kind].read(stored).dump()
            assert json.dumps(dumped) == json.dumps(stored), kind
            seen.add(kind)
        elif kind == "formalize":
            assert FormalizeEvidence.read(json.loads(text)).outcomes
    assert {"accept", "continue", "reject", "supersede"} <= seen


def test_a_malformed_payload_names_the_model_and_the_field():
    (text,) = _rows("select scores_json from model_fit limit 1")[0]
    stored = json.loads(text)
    stored["chi2"] = "small"
    del stored["n"]
    with pytest.raises(
        RecordError, match=r"FitScores payload is malformed: n: Field required; chi2"
    ):
        FitScores.read(stored)
    with pytest.raises(RecordError, match=r"surprise: Extra inputs"):
        FitScores.read({**json.loads(text), "surprise": 1})
    with pytest.raises(RecordError, match="no DecideEvidence payload"):
        DecideEvidence.read(None)


def test_an_int_stays_an_int_and_a_failed_fit_reads_as_infinite():
    scores = FitScores.read(
        {"n": 3, "rss": 0, "rmse": None, "r2": None, "bic": None, "chi2": None,
         "complexity": 2, "noise_sd": None}
    )  # fmt: skip
    assert scores.dump()["rss"] == 0
    assert isinstance(scores.dump()["rss"], int)
    assert scores.finite_bic == float("inf")
    assert scores.finite_chi2 == float("inf")
    assert scores.bound_or(2.0) == 2.0
    assert scores.streak == 0
    assert "bootstrap" not in scores.dump()


def test_every_decision_reads_as_its_kind_and_a_skip_keeps_a_stored_null():
    for kind, text in _rows("select kind, evidence_json from decision"):
        evidence = decision_evidence(kind, json.loads(text) if text else None)
        assert evidence is not None or kind not in DECISIONS
    skip = SkipEvidence.read({"time_left_s": None})
    assert skip.dump() == {"time_left_s": None}
    assert SkipEvidence(leader="h").dump() == {"leader": "h"}
