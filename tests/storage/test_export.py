"""Exports read back by the well-kept libraries: `prov` for PROV-JSON, `rocrate` for RO-Crate."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from prov.model import (
    ProvActivity,
    ProvAgent,
    ProvAssociation,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvInfluence,
    ProvRecord,
    ProvUsage,
)
from rocrate.rocrate import ROCrate
from rocrate.vocabs import RO_CRATE
from typer.testing import CliRunner

from lawloop.storage import export_prov, export_ro_crate, open_store

# Every term the crate uses, with its IRI in the RO-Crate 1.1 context
# (https://w3id.org/ro/crate/1.1/context, version 1.1.3); `sha256` is not
# in it, so the crate adds it to its context.
RO_CRATE_1_1_TERMS = {
    "CreateAction": "http://schema.org/CreateAction",
    "CreativeWork": "http://schema.org/CreativeWork",
    "Dataset": "http://schema.org/Dataset",
    "File": "http://schema.org/MediaObject",
    "SoftwareApplication": "http://schema.org/SoftwareApplication",
    "about": "http://schema.org/about",
    "actionStatus": "http://schema.org/actionStatus",
    "conformsTo": "http://purl.org/dc/terms/conformsTo",
    "contentSize": "http://schema.org/contentSize",
    "dateCreated": "http://schema.org/dateCreated",
    "datePublished": "http://schema.org/datePublished",
    "description": "http://schema.org/description",
    "encodingFormat": "http://schema.org/encodingFormat",
    "endTime": "http://schema.org/endTime",
    "error": "http://schema.org/error",
    "hasPart": "http://schema.org/hasPart",
    "identifier": "http://schema.org/identifier",
    "instrument": "http://schema.org/instrument",
    "keywords": "http://schema.org/keywords",
    "mentions": "http://schema.org/mentions",
    "name": "http://schema.org/name",
    "object": "http://schema.org/object",
    "result": "http://schema.org/result",
    "startTime": "http://schema.org/startTime",
    "version": "http://schema.org/version",
}
EXTRA_TERMS = {"sha256": "http://schema.org/sha256"}
LAWLOOP = "urn:lawloop:"


@pytest.fixture(scope="module")
def campaign(recorded_pendulum):
    """A real pendulum campaign (offline planner, SR, fits, decisions): (URL, id, name)."""
    _, db, summary = recorded_pendulum
    assert summary["stop_reason"] == "accepted"
    return db, summary["campaign_id"], summary["name"]


@pytest.fixture(scope="module")
def pend_store(campaign):
    with open_store(campaign[0]) as opened:
        yield opened


@pytest.fixture(scope="module")
def prov_doc(pend_store, campaign):
    """The export, read by `prov`."""
    text = json.dumps(export_prov(pend_store, campaign[1]), allow_nan=False)
    return ProvDocument.deserialize(content=text, format="json")


def qn(local: str) -> str:
    return LAWLOOP + local


def types_of(record: ProvRecord) -> set[str]:
    return {str(t.uri) for t in record.get_attribute("prov:type")}


def by_type(doc: ProvDocument, cls: type, prov_type: str) -> dict[str, ProvRecord]:
    return {
        str(r.identifier.uri): r
        for r in doc.get_records(cls)
        if qn(prov_type) in types_of(r)
    }


def relations(doc: ProvDocument, cls: type) -> list[dict[str, str]]:
    """Formal attributes of each relation of class `cls`, by local name, as full IRIs."""
    return [
        {k.localpart: str(getattr(v, "uri", v)) for k, v in r.formal_attributes if v}
        for r in doc.get_records(cls)
    ]


def test_prov_document_loads_and_round_trips(pend_store, campaign, prov_doc):
    again = ProvDocument.deserialize(
        content=prov_doc.serialize(format="json"), format="json"
    )
    assert again == prov_doc
    assert prov_doc.get_provn().startswith("document")
    raw = export_prov(pend_store, campaign[1])
    assert raw["prefix"] == {
        "lawloop": LAWLOOP,
        "prov": "http://www.w3.org/ns/prov#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }
    assert export_prov(pend_store, campaign[2]) == raw  # by name, and deterministic


def test_prov_has_one_node_per_row(pend_store, campaign, prov_doc):
    cid = campaign[1]
    expected = {
        (ProvActivity, "ExperimentRun"): {r.id for r in pend_store.runs_for(cid)},
        (ProvActivity, "PlannerCall"): {
            c.id for c in pend_store.planner_calls_for(cid)
        },
        (ProvActivity, "Decision"): {d.id for d in pend_store.decisions_for(cid)},
        (ProvActivity, "Iteration"): {i.id for i in pend_store.iterations_for(cid)},
        (ProvEntity, "Hypothesis"): {h.id for h in pend_store.list_hypotheses(cid)},
    }
    tables = {
        "ExperimentRun": "experiment_run",
        "PlannerCall": "planner_call",
        "Decision": "decision",
        "Iteration": "iteration",
        "Hypothesis": "hypothesis",
    }
    for (cls, prov_type), ids in expected.items():
        found = set(by_type(prov_doc, cls, prov_type))
        assert found == {qn(f"{tables[prov_type]}/{i}") for i in ids}, prov_type
    fits = set(by_type(prov_doc, ProvEntity, "ModelFit"))
    fittings = set(by_type(prov_doc, ProvActivity, "Fitting"))
    assert len(fits) == len(fittings) > 0
    assert {f.replace(":model_fit/", ":fitting/") for f in fits} == fittings
    sr_calls = [
        c for c in pend_store.planner_calls_for(cid) if c.planner.startswith("sr:")
    ]
    assert len(by_type(prov_doc, ProvActivity, "SymbolicRegression")) == len(sr_calls)
    assert set(by_type(prov_doc, ProvActivity, "Campaign")) == {qn(f"campaign/{cid}")}
    assert len(by_type(prov_doc, ProvEntity, "CampaignConfig")) == 1
    shas = {
        s for r in pend_store.runs_for(cid) for s in (r.inputs_sha256, r.data_sha256)
    }
    datasets = by_type(prov_doc, ProvEntity, "Dataset")
    assert set(datasets) == {qn(f"artifact/{s}") for s in shas if s}
    agents = {str(a.identifier.uri) for a in prov_doc.get_records(ProvAgent)}
    assert qn("backend/core/Pendulum-v0") in agents
    assert qn("planner/offline") in agents
    assert qn("planner/sr%3Aoperon") in agents
    assert any(a.startswith(qn("software/lawloop/")) for a in agents)


def test_every_lineage_edge_is_one_relation_keeping_its_kind(
    pend_store, campaign, prov_doc
):
    edges = pend_store.edges_for(campaign[1])
    assert {e.relation for e in edges} >= {
        "derived-from",
        "tested-by",
        "supported-by",
        "refuted-by",
        "replaced-by",
    }
    kinds = Counter()
    for edge in edges:
        [record] = prov_doc.get_record(f"lawloop:lineage_edge/{edge.id}")
        [relation] = record.get_attribute("lawloop:relation")
        assert relation == edge.relation
        kinds[(edge.relation, record.get_type().localpart)] += 1
    assert {k for k, _ in kinds} == {e.relation for e in edges}
    assert kinds[("refuted-by", "Invalidation")] == sum(
        e.relation == "refuted-by" for e in edges
    )
    revisions = [
        r
        for r in prov_doc.get_records()
        if r.get_type().localpart == "Derivation"
        and "http://www.w3.org/ns/prov#Revision" in types_of(r)
    ]
    assert len(revisions) == sum(e.relation == "derived-from" for e in edges)


def test_run_activities_carry_times_inputs_and_data(pend_store, campaign, prov_doc):
    for run in pend_store.runs_for(campaign[1]):
        [activity] = prov_doc.get_record(f"lawloop:experiment_run/{run.id}")
        assert activity.get_endTime() == run.created_at
        assert activity.get_startTime() <= activity.get_endTime()
        [seed] = activity.get_attribute("lawloop:seed")
        assert seed == run.seed
        node = qn(f"experiment_run/{run.id}")
        used = {
            u["entity"] for u in relations(prov_doc, ProvUsage) if u["activity"] == node
        }
        assert used == {qn(f"artifact/{run.inputs_sha256}")}
        made = {
            g["entity"]
            for g in relations(prov_doc, ProvGeneration)
            if g.get("activity") == node
        }
        assert made == {qn(f"artifact/{run.data_sha256}")}


def test_accepted_hypothesis_has_its_whole_derivation_chain(
    pend_store, campaign, prov_doc
):
    cid = campaign[1]
    [accepted] = pend_store.list_hypotheses(cid, status="accepted")
    hyp = qn(f"hypothesis/{accepted.id}")
    [entity] = prov_doc.get_record(f"lawloop:hypothesis/{accepted.id}")
    assert set(entity.get_attribute("prov:value")) == {accepted.expression}
    # Proposed by a planner call, whose planner is an agent acting for lawloop.
    [gen] = [g for g in relations(prov_doc, ProvGeneration) if g["entity"] == hyp]
    calls = by_type(prov_doc, ProvActivity, "PlannerCall")
    assert gen["activity"] in calls
    [assoc] = [
        a
        for a in relations(prov_doc, ProvAssociation)
        if a["activity"] == gen["activity"]
    ]
    assert assoc["agent"].startswith(qn("planner/"))
    assert assoc["plan"].startswith(qn("template/"))
    # Supported by the accept decision, which used the fit that tested it.
    [accept] = [d for d in pend_store.decisions_for(cid) if d.kind == "accept"]
    decision = qn(f"decision/{accept.id}")
    influences = relations(prov_doc, ProvInfluence)
    assert any(
        i["influencee"] == hyp and i["influencer"] == decision for i in influences
    )
    fits = by_type(prov_doc, ProvEntity, "ModelFit")
    [fit] = [
        u["entity"]
        for u in relations(prov_doc, ProvUsage)
        if u["activity"] == decision and u["entity"] in fits
    ]
    derived = relations(prov_doc, ProvDerivation)
    assert any(d["generatedEntity"] == fit and d["usedEntity"] == hyp for d in derived)
    # The fit came from data that experiment runs measured from their inputs.
    data = {
        d["usedEntity"]
        for d in derived
        if d["generatedEntity"] == fit and ":artifact/" in d["usedEntity"]
    }
    assert data
    runs = by_type(prov_doc, ProvActivity, "ExperimentRun")
    generations = relations(prov_doc, ProvGeneration)
    for artifact in data:
        [made] = [g for g in generations if g["entity"] == artifact]
        assert made["activity"] in runs
        assert any(
            d["generatedEntity"] == artifact and d.get("activity") == made["activity"]
            for d in derived
        )
        [backend] = [
            a["agent"]
            for a in relations(prov_doc, ProvAssociation)
            if a["activity"] == made["activity"]
        ]
        assert backend == qn("backend/core/Pendulum-v0")


def test_hand_made_rows_map_every_edge_kind(file_store, fill, node_id):
    """`produced-by`, artifact ends, a person and non-finite scores, which campaigns rarely write."""
    cid = "0b4c9c1e-2b6a-4a59-9a31-5a4fb2d1c0de"
    fill(file_store, cid, name="hand")
    other = "7e1f0f52-1d63-4c1b-8a6f-0c1f8e1e4b11"
    file_store.add_campaign(
        other,
        name="person",
        backend_id="core/Pendulum-v0",
        planner="llm:openai/gpt-4o",
        seed=1,
        config={},
        code_version="abc",
        environment={"user": "ada", "hostname": "lab-1"},
    )
    hid = node_id(other, "0/propose/1")
    file_store.add_hypothesis(
        hid,
        campaign_id=other,
        iteration_id=None,
        expression="a*x",
        parameters=["a"],
        source="llm",
    )
    file_store.add_fit(
        node_id(other, "0/fit/0"),
        campaign_id=other,
        iteration_id=None,
        hypothesis_id=hid,
        method="least_squares",
        parameters={"a": 1.0},
        stderr={"a": None},
        covariance=None,
        scores={"bic": float("inf"), "chi2": float("nan")},
        train_data=[],
        success=False,
    )
    for campaign_id in (cid, other):
        raw = export_prov(file_store, campaign_id)
        doc = ProvDocument.deserialize(
            content=json.dumps(raw, allow_nan=False), format="json"
        )
        assert (
            ProvDocument.deserialize(
                content=doc.serialize(format="json"), format="json"
            )
            == doc
        )
        for edge in file_store.edges_for(campaign_id):
            assert len(doc.get_record(f"lawloop:lineage_edge/{edge.id}")) == 1
    raw = export_prov(file_store, cid)
    kind_of = {
        rid: kind for kind, rows in raw.items() if kind != "prefix" for rid in rows
    }
    kinds = {
        e.relation: kind_of[f"lawloop:lineage_edge/{e.id}"]
        for e in file_store.edges_for(cid)
    }
    assert kinds == {
        "proposed-by": "wasGeneratedBy",
        "supported-by": "wasInfluencedBy",
        "fitted-on": "used",
        "produced-by": "wasGeneratedBy",
        "derived-from": "wasDerivedFrom",
    }
    person = export_prov(file_store, other)
    assert person["agent"]["lawloop:person/ada"]["prov:type"]["$"] == "prov:Person"
    assert person["agent"]["lawloop:software/lawloop/abc"]["lawloop:host"] == "lab-1"
    planner = person["agent"]["lawloop:planner/llm%3Aopenai/gpt-4o"]
    assert planner["lawloop:model"] == "openai/gpt-4o"
    [fit] = [
        e for i, e in person["entity"].items() if i.startswith("lawloop:model_fit/")
    ]
    assert json.loads(fit["lawloop:scores"]) == {"bic": "Infinity", "chi2": "NaN"}


@pytest.fixture(scope="module")
def crate_dir(pend_store, campaign, tmp_path_factory):
    return export_ro_crate(
        pend_store, campaign[1], tmp_path_factory.mktemp("crate") / "c"
    )


def test_ro_crate_opens_and_every_file_matches_its_hash(
    pend_store, campaign, crate_dir
):
    crate = ROCrate(crate_dir)
    root = crate.root_dataset
    assert root["name"] == f"lawloop campaign {campaign[2]}"
    assert "core/Pendulum-v0" in root["description"]
    assert root["datePublished"]
    files = {e.id: e for e in crate.data_entities}
    on_disk = {
        p.relative_to(crate_dir).as_posix() for p in crate_dir.rglob("*") if p.is_file()
    }
    assert set(files) == on_disk - {"ro-crate-metadata.json"}
    assert {"prov.json", "config.json"} <= set(files)
    arrays = [f for f in files if f.startswith("data/")]
    assert arrays
    for name, entity in files.items():
        data = (crate_dir / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert entity["sha256"] == digest
        assert entity["contentSize"] == str(len(data))
        if name.startswith("data/"):
            assert Path(name).stem == digest
            with np.load(io.BytesIO(data)) as npz:
                stored = pend_store.get_arrays(digest)
                assert set(npz.files) == set(stored)
                for key in stored:
                    np.testing.assert_array_equal(npz[key], stored[key])
    prov = json.loads((crate_dir / "prov.json").read_text())
    ProvDocument.deserialize(content=json.dumps(prov), format="json")
    runs = [e for e in crate.contextual_entities if e.id.startswith("#run-")]
    assert runs
    for run in runs:
        assert run.type == "CreateAction"
        assert run["instrument"].id == "#backend-core/Pendulum-v0"
        assert run["result"][0].id in files


def test_ro_crate_metadata_uses_only_ro_crate_1_1_terms(crate_dir):
    metadata = json.loads((crate_dir / "ro-crate-metadata.json").read_text())
    assert metadata["@context"] == [
        "https://w3id.org/ro/crate/1.1/context",
        EXTRA_TERMS,
    ]
    graph = {e["@id"]: e for e in metadata["@graph"]}
    assert len(graph) == len(metadata["@graph"])
    descriptor = graph["ro-crate-metadata.json"]
    assert descriptor["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    assert descriptor["about"] == {"@id": "./"}
    used_terms = set()
    for entity in graph.values():
        types = entity["@type"]
        used_terms.update([types] if isinstance(types, str) else types)
        used_terms.update(k for k in entity if not k.startswith("@"))
        for value in entity.values():
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, dict):  # a reference: inside the crate, or an IRI
                    assert set(ref) == {"@id"}
                    assert ref["@id"] in graph or ref["@id"].startswith("http")
    allowed = RO_CRATE_1_1_TERMS | EXTRA_TERMS
    assert used_terms <= set(allowed), used_terms - set(allowed)
    # The pinned IRIs agree with the RO-Crate context `rocrate` ships.
    shipped = RO_CRATE["@context"]
    assert all(shipped[term] == iri for term, iri in allowed.items())


def test_ro_crate_export_is_deterministic_and_refuses_a_full_directory(
    pend_store, campaign, crate_dir, tmp_path
):
    again = export_ro_crate(pend_store, campaign[2], tmp_path / "again")
    files = sorted(p.relative_to(crate_dir) for p in crate_dir.rglob("*"))
    assert files == sorted(p.relative_to(again) for p in again.rglob("*"))
    for rel in files:
        if (crate_dir / rel).is_file():
            assert (crate_dir / rel).read_bytes() == (again / rel).read_bytes()
    with pytest.raises(FileExistsError, match="not an empty directory"):
        export_ro_crate(pend_store, campaign[1], again)


def cli(*args):
    """`python run.py ARGS`, in process (the campaign fixture imported the agent already)."""
    from lawloop import cli as run

    return CliRunner().invoke(run.app, list(args))


def test_cli_exports_prov_json_to_a_file_and_to_stdout(pend_store, campaign, tmp_path):
    db, cid, _ = campaign
    out = tmp_path / "prov.json"
    args = ("export", cid[:8], "--format", "prov-json", "--db", db)
    result = cli(*args, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "prov-json" in result.stdout
    assert json.loads(out.read_text()) == export_prov(pend_store, cid)
    ProvDocument.deserialize(content=out.read_text(), format="json")
    piped = cli(*args, "--out", "-")
    assert piped.exit_code == 0, piped.stderr
    assert json.loads(piped.stdout) == export_prov(pend_store, cid)


def test_cli_exports_ro_crate_with_json_summary(campaign, tmp_path):
    db, cid, name = campaign
    out = tmp_path / "crate"
    result = cli(
        "export",
        name,
        "--format",
        "ro-crate",
        "--out",
        str(out),
        "--db",
        db,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["campaign_id"] == cid
    assert summary["files"] == sum(1 for p in out.rglob("*") if p.is_file())
    assert ROCrate(out).root_dataset["name"] == f"lawloop campaign {campaign[2]}"
    again = cli(
        "export", campaign[2], "--format", "ro-crate", "--out", str(out), "--db", db
    )
    assert again.exit_code == 1
    assert "not an empty directory" in " ".join(again.stderr.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope", "--format", "prov-json"],
            "No campaign has an id starting with `nope`",
        ),
        (["{name}", "--format", "prov"], "Did you mean `prov-json`?"),
    ],
    ids=["unknown-campaign", "unknown-format"],
)
def test_cli_export_errors_are_clear_and_exit_1(campaign, tmp_path, args, message):
    out = tmp_path / "x"
    args = [a.format(name=campaign[2]) for a in args]
    result = cli("export", *args, "--out", str(out), "--db", campaign[0])
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert not out.exists()
