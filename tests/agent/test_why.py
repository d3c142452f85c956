"""`why`: the chain of data, fits, rivals and decisions behind a hypothesis's status.

One real FAST pendulum campaign is read by every test. Its planner is the
offline one plus an LLM (a local scripted server) that proposes a law with
inconsistent units, so that the record also holds a units-repaired law.
"""

import json
import warnings

import pytest
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.agent import (
    CampaignConfig,
    explain_hypothesis,
    start_campaign,
    why_dot,
    why_text,
)
from lawloop.storage import NotFoundError, open_store
from tests.conftest import FAST
from tests.fake_openai import FakeOpenAI

# `cos(m)` takes a mass: formalize rejects it and proposes `cos(k0*m)` in its place.
UNITS_WRONG = "2*pi*sqrt(L/g)*cos(m)"
PREFACTOR_ONLY = "2*pi*sqrt(L)"
REPLY = json.dumps(
    {
        "proposals": [
            {
                "expression": UNITS_WRONG,
                "parameters": [],
                "rationale": "perhaps the mass of the bob modulates the period",
            },
            {
                # seconds from metres: only a prefactor k0 can mend it, and the
                # repair shares its canonical key with this rejected law
                "expression": PREFACTOR_ONLY,
                "parameters": [],
                "rationale": "the period grows as the root of the length",
            },
        ],
        "notes": "",
    }
)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('why') / 'why.db'}"
    with FakeOpenAI([REPLY]) as server:
        summary = start_campaign(
            CampaignConfig(
                backend="core/Pendulum-v0",
                seed=1,
                planner="llm",
                llm_model="fake-model",
                llm_base_url=server.base_url,
                llm_timeout_s=10.0,
                **FAST,
            ),
            url,
        )
    assert summary["stop_reason"] == "accepted"
    with open_store(url) as store:
        yield url, summary, store


def explain(record, hid):
    _, _, store = record
    return explain_hypothesis(store, hid)


def cli(*args):
    return CliRunner().invoke(run.app, list(args))


def flat(text):
    return " ".join(text.split())


def test_why_on_the_accepted_law_names_its_measurements_and_the_accepting_decision(
    record,
):
    url, summary, store = record
    cid, hid = summary["campaign_id"], summary["best"]["hypothesis_id"]
    why = explain(record, hid[:8])
    assert why["hypothesis"]["id"] == hid
    assert why["hypothesis"]["status"] == "accepted"
    runs = store.runs_for(cid)
    last_fit = why["fits"][-1]
    assert {r["id"] for r in last_fit["runs"]} == {r.id for r in runs}
    assert {r["data_sha256"] for r in last_fit["runs"]} == {r.data_sha256 for r in runs}
    assert sorted(last_fit["train_data"]) == sorted(r.data_sha256 for r in runs)
    assert {r["design_reason"] for r in last_fit["runs"]} == {
        r.design_reason for r in runs
    }
    assert last_fit["fresh"]["passed"]
    assert last_fit["fresh"]["chi2"] <= last_fit["fresh"]["bound"]
    (accept,) = [d for d in store.decisions_for(cid) if d.kind == "accept"]
    decision = why["decision"]
    assert (decision["kind"], decision["id"], decision["reason"]) == (
        "accept",
        accept.id,
        accept.reason,
    )
    assert decision["evidence"]["chi2"] <= decision["evidence"]["bound"]
    assert decision["evidence"]["streak"] >= decision["evidence"]["confirmations"]
    assert why["origin"]["proposed_by"][0]["created"]
    assert why["origin"]["proposed_by"][0]["planner"] == "offline"
    assert why["rivals"]["rankings"][-1]["rank"] == 1
    assert why["rivals"]["rankings"][-1]["against"]  # the runner-ups it beat
    superseded = {h.id for h in store.list_hypotheses(cid, status="superseded")}
    assert {b["id"] for b in why["rivals"]["replaced"]} == superseded

    out = cli("why", hid[:8], "--db", url)
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert text == why_text(why)
    assert f"why hypothesis {hid} is accepted" in text
    for r in runs:
        assert f"fitted on run {r.id}" in text
        assert r.data_sha256[:12] in text
        assert r.design_reason in text
    assert f"accept in iteration 1 (decision {accept.id}): {accept.reason}" in text
    assert "fresh test:" in text


def test_why_on_a_rejected_law_names_the_decision_its_numbers_and_the_winner(record):
    _, summary, store = record
    cid, best = summary["campaign_id"], summary["best"]["hypothesis_id"]
    decisions = store.decisions_for(cid)
    (accept,) = [d for d in decisions if d.kind == "accept"]
    rejects = [  # in the iteration the accepted law led
        d
        for d in decisions
        if d.kind == "reject"
        and d.reason.startswith("misfit")
        and d.iteration_id == accept.iteration_id
    ]
    assert rejects
    reject = rejects[0]
    why = explain(record, reject.hypothesis_id)
    decision = why["decision"]
    assert (decision["kind"], decision["id"], decision["reason"]) == (
        "reject",
        reject.id,
        reject.reason,
    )
    chi2, bound = (
        reject.evidence_json["scores"]["chi2"],
        reject.evidence_json["scores"]["bound"],
    )
    assert (decision["evidence"]["chi2"], decision["evidence"]["bound"]) == (
        chi2,
        bound,
    )
    assert chi2 > bound
    assert decision["evidence"]["chi2_over_bound"] == pytest.approx(chi2 / bound)
    assert decision["by"]["id"] == best  # the leader of that iteration, accepted later
    assert decision["evidence"]["d_bic"] > 10
    lost = why["rivals"]["rankings"][0]["against"][0]
    assert (lost["relation"], lost["id"]) == ("lost-to", best)
    assert lost["d_bic"] < 0  # the winner's BIC is lower
    text = why_text(why)
    k = decision["iteration"]
    assert f"reject in iteration {k} (decision {reject.id}): {reject.reason}" in text
    assert f"reduced chi-square {chi2:.3g} vs bound {bound:.3g}" in text
    assert f"beaten by {best} (accepted)" in text


def test_why_on_a_superseded_law_names_the_law_that_replaced_it(record):
    _, summary, store = record
    cid, best = summary["campaign_id"], summary["best"]["hypothesis_id"]
    superseded = store.list_hypotheses(cid, status="superseded")[0]
    why = explain(record, superseded.id)
    assert why["decision"]["kind"] == "supersede"
    assert why["decision"]["by"]["id"] == best
    assert why["decision"]["evidence"]["d_complexity"] > 0  # no simpler than the law
    assert [b["id"] for b in why["rivals"]["replaced_by"]] == [best]
    assert f"replaced by {best} (accepted)" in why_text(why)


def test_a_units_repaired_law_names_its_parent_and_the_units_check(record):
    _, summary, store = record
    cid = summary["campaign_id"]
    (parent,) = [h for h in store.list_hypotheses(cid) if h.expression == UNITS_WRONG]
    (child,) = [
        e.source_id
        for e in store.edges_for(cid)
        if e.relation == "derived-from" and e.target_id == parent.id
    ]
    why = explain(record, child)
    assert "units repaired" in why["origin"]["rationale"]
    (p,) = why["origin"]["parents"]
    assert (p["id"], p["status"], p["via"]) == (parent.id, "rejected", "units repair")
    assert p["status_decision"]["source"] == "formalize"
    assert p["origin"]["admission"]["repair"] == why["hypothesis"]["expression"]
    assert p["origin"]["proposed_by"][0]["planner"] == "llm:fake-model"
    text = why_text(why)
    assert f"derived by units repair from {parent.id} (rejected) {UNITS_WRONG}" in text
    assert "rejected at admission: units inconsistent" in text

    why_parent = explain(record, parent.id)
    assert why_parent["decision"]["kind"] == "formalize"
    assert why_parent["decision"]["reason"].startswith("units inconsistent")
    assert why_parent["fits"] == []
    assert [d["id"] for d in why_parent["origin"]["derived"]] == [child]


def test_a_mutation_names_the_leading_law_it_came_from(record):
    _, summary, store = record
    cid, best = summary["campaign_id"], summary["best"]["hypothesis_id"]
    mutation = next(h for h in store.list_hypotheses(cid) if h.source == "mutation")
    (p,) = explain(record, mutation.id)["origin"]["parents"]
    assert p["via"] == "mutation"
    refuted = {  # leaders in their day, until the attack refuted them
        d.hypothesis_id
        for d in store.decisions_for(cid)
        if d.kind == "reject" and d.reason.startswith("refuted by the attack")
    }
    assert p["id"] in {best} | refuted | {
        h.id for h in store.list_hypotheses(cid, status="superseded")
    }


def test_cli_json_is_the_explanation(record):
    url, summary, _ = record
    hid = summary["best"]["hypothesis_id"]
    out = cli("why", hid, "--db", url, "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert set(doc) == {
        "hypothesis",
        "campaign",
        "origin",
        "fits",
        "rivals",
        "decision",
        "decisions",
        "lineage",
    }
    assert set(doc["rivals"]) == {"rankings", "accepted", "replaced_by", "replaced"}
    assert doc["campaign"]["id"] == summary["campaign_id"]
    assert doc == json.loads(json.dumps(explain(record, hid)))
    assert json.loads(cli("why", hid, "--db", url, "--format", "json").stdout) == doc
    assert {"source", "relation", "target"} <= set(doc["lineage"][0])


def test_cli_dot_parses_and_holds_the_law_and_its_decision(record):
    url, summary, store = record
    hid = summary["best"]["hypothesis_id"]
    out = cli("why", hid, "--db", url, "--format", "dot")
    assert out.exit_code == 0, out.output
    assert out.stdout == why_dot(explain(record, hid))
    with warnings.catch_warnings():
        # pydot 4 calls pyparsing names that pyparsing 3.3 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        pydot = pytest.importorskip("pydot")
        (graph,) = pydot.graph_from_dot_data(out.stdout)
    nodes = {n.get_name().strip('"') for n in graph.get_nodes()}
    (accept,) = [
        d for d in store.decisions_for(summary["campaign_id"]) if d.kind == "accept"
    ]
    assert f"hypothesis:{hid}" in nodes
    assert f"decision:{accept.id}" in nodes
    edges = {
        (
            e.get_source().strip('"'),
            e.get_label().strip('"'),
            e.get_destination().strip('"'),
        )
        for e in graph.get_edges()
    }
    assert (f"hypothesis:{hid}", "supported-by", f"decision:{accept.id}") in edges
    fits = [f.id for f in store.fits_for(hid)]
    assert all(
        (f"hypothesis:{hid}", "tested-by", f"model_fit:{f}") in edges for f in fits
    )
    assert any(label == "fitted-on" for _, label, _ in edges)
    assert any(label == "proposed-by" for _, label, _ in edges)


def test_unknown_id_exits_1_with_a_clear_message(record):
    url, _, store = record
    out = cli("why", "no-such-law", "--db", url)
    assert out.exit_code == 1
    assert out.stdout == ""
    message = flat(out.stderr)
    assert "No hypothesis has an id starting with `no-such-law`." in message
    assert "python run.py hypotheses list" in message
    with pytest.raises(NotFoundError):
        explain_hypothesis(store, "no-such-law")


def test_unknown_format_exits_1_and_suggests_one(record):
    url, summary, _ = record
    out = cli("why", summary["best"]["hypothesis_id"], "--db", url, "--format", "dott")
    assert out.exit_code == 1
    assert "Did you mean `dot`?" in flat(out.stderr)


def test_json_and_dot_together_exit_1(record):
    url, summary, _ = record
    hid = summary["best"]["hypothesis_id"]
    out = cli("why", hid, "--db", url, "--json", "--format", "dot")
    assert out.exit_code == 1
    assert "contradict" in flat(out.stderr)


def test_a_prefactor_repair_is_fitted_not_taken_for_its_rejected_parent(record):
    """`2*pi*sqrt(L)` and its repair `k0*2*pi*sqrt(L)` share a key; only one is consistent."""
    _, summary, store = record
    hyps = store.list_hypotheses(summary["campaign_id"])
    parent = next(h for h in hyps if h.expression == "2*pi*sqrt(L)")
    assert parent.status == "rejected"
    assert parent.units_consistent is False
    children = [
        h
        for h in hyps
        if any(
            e.relation == "derived-from"
            and e.source_id == h.id
            and e.target_id == parent.id
            for e in store.edges_for(summary["campaign_id"])
        )
    ]
    assert len(children) == 1
    repair = children[0]
    assert "k0" in repair.parameters_json
    assert repair.units_consistent is True
    assert store.fits_for(repair.id), "the repaired law was never fitted"
