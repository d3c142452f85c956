"""The table of allowed lineage edges: `link` refuses others, `db check` names stored ones, campaigns stay inside it."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest

from lawloop.storage import (
    ALLOWED_EDGES,
    EdgeNotAllowedError,
    EntityKind,
    InvalidValueError,
    Relation,
    StorageError,
    check_database,
    open_store,
)
from lawloop.storage._store import EDGE_NAMESPACE

CID = "33333333-3333-4333-8333-333333333333"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "db_6a431ef" / "main.db"

CAMPAIGN_EDGES = {
    ("hypothesis", "proposed-by", "planner_call"),
    ("hypothesis", "derived-from", "hypothesis"),
    ("hypothesis", "tested-by", "model_fit"),
    ("model_fit", "fitted-on", "experiment_run"),
    ("hypothesis", "refuted-by", "decision"),
    ("hypothesis", "supported-by", "decision"),
    ("decision", "supported-by", "model_fit"),
    ("hypothesis", "replaced-by", "hypothesis"),
}
"""The triples campaigns write (Pendulum, Formula and the recorded fixture)."""


def stored_triples(path: Path) -> set[tuple[str, str, str]]:
    """The distinct (source kind, relation, target kind) of a database file's edges."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT DISTINCT source_kind, relation, target_kind FROM lineage_edge"
        ).fetchall()
    finally:
        conn.close()
    return {tuple(r) for r in rows}


def test_a_disallowed_edge_raises_naming_the_triple_and_what_is_allowed(
    store, fill, node_id
):
    fill(store, CID, name="c")
    hid, fid = node_id(CID, "0/propose/1"), node_id(CID, "0/fit/0")
    before = store.edges_for(CID)
    with pytest.raises(EdgeNotAllowedError) as caught:
        store.link(
            fid, EntityKind.MODEL_FIT, hid, EntityKind.HYPOTHESIS, Relation.TESTED_BY
        )
    message = str(caught.value)
    assert "`model_fit tested-by hypothesis` is not allowed" in message
    assert (
        "from model_fit the allowed edges are: `fitted-on` artifact, `fitted-on` experiment_run"
        in message
    )
    assert isinstance(caught.value, StorageError)
    assert isinstance(caught.value, InvalidValueError)
    assert store.edges_for(CID) == before  # nothing written
    # A kind no edge may start at says so.
    with pytest.raises(
        EdgeNotAllowedError, match="from campaign the allowed edges are: none"
    ):
        store.link(CID, "campaign", hid, "hypothesis", "derived-from")


def test_the_check_comes_before_the_existence_check(store, fill, node_id):
    """A disallowed edge is refused as such even when an end is missing: the caller's bug is the edge."""
    fill(store, CID, name="c")
    with pytest.raises(EdgeNotAllowedError):
        store.link(
            node_id(CID, "0/propose/1"), "hypothesis", "ghost", "artifact", "tested-by"
        )


def test_an_enum_and_its_string_store_the_same_row(tmp_path, fill, node_id):
    rows = []
    for typed in (False, True):
        path = tmp_path / f"typed-{typed}.db"
        with open_store(f"sqlite:///{path}") as store:
            fill(store, CID, name="c")
            hid, fid = node_id(CID, "0/propose/1"), node_id(CID, "0/fit/0")
            if typed:
                wrote = store.link(
                    hid,
                    EntityKind.HYPOTHESIS,
                    fid,
                    EntityKind.MODEL_FIT,
                    Relation.TESTED_BY,
                )
            else:
                wrote = store.link(hid, "hypothesis", fid, "model_fit", "tested-by")
            assert wrote is True
            # Typed and plain spell the same edge: the second call writes nothing.
            assert (
                store.link(hid, "hypothesis", fid, "model_fit", Relation.TESTED_BY)
                is False
            )
        conn = sqlite3.connect(path)
        try:
            rows.append(
                conn.execute(
                    "SELECT id, source_kind, target_kind, relation, typeof(relation) "
                    "FROM lineage_edge WHERE source_id = ? AND target_id = ?",
                    (hid, fid),
                ).fetchall()
            )
        finally:
            conn.close()
    assert rows[0] == rows[1]
    [(edge_id, skind, tkind, relation, stored_type)] = rows[0]
    assert (skind, tkind, relation, stored_type) == (
        "hypothesis",
        "model_fit",
        "tested-by",
        "text",
    )
    assert edge_id == str(uuid.uuid5(EDGE_NAMESPACE, f"{hid}|{fid}|tested-by"))


def test_typed_statuses_store_the_same_values(store, fill, node_id):
    from lawloop.storage import CampaignStatus, HypothesisStatus

    fill(store, CID, name="c")
    hid = node_id(CID, "0/propose/1")
    store.set_hypothesis_status(hid, HypothesisStatus.REJECTED)
    assert store.get_hypothesis(hid).status == "rejected"
    store.set_hypothesis_status(hid, "accepted")
    assert store.get_hypothesis(hid).status == HypothesisStatus.ACCEPTED
    store.set_campaign_status(CID, CampaignStatus.FAILED)
    assert store.get_campaign(CID).status == "failed"
    with pytest.raises(InvalidValueError, match="hypothesis status"):
        store.set_hypothesis_status(hid, "maybe")  # type: ignore[arg-type]


def test_the_table_holds_every_edge_campaigns_write_and_the_data_edges():
    assert {
        (s.value, r.value, t.value) for s, r, t in ALLOWED_EDGES
    } == CAMPAIGN_EDGES | {
        ("model_fit", "fitted-on", "artifact"),
        ("artifact", "produced-by", "experiment_run"),
    }


def test_the_recorded_fixture_writes_every_campaign_edge_and_only_those(tmp_path):
    copy = (
        tmp_path / "main.db"
    )  # even a read-only open of a WAL database writes beside it
    shutil.copyfile(FIXTURE, copy)
    assert stored_triples(copy) == CAMPAIGN_EDGES


def test_a_real_campaign_writes_only_allowed_edges(recorded_pendulum):
    path, _, _ = recorded_pendulum
    written = stored_triples(path)
    assert written, "the campaign wrote no edges"
    assert written <= CAMPAIGN_EDGES, written - CAMPAIGN_EDGES


def test_db_check_names_a_stored_edge_outside_the_table(tmp_path, fill, node_id):
    path = tmp_path / "lawloop.db"
    with open_store(f"sqlite:///{path}") as store:
        fill(store, CID, name="c")
    hid, fid = node_id(CID, "0/propose/1"), node_id(CID, "0/fit/0")
    eid = str(uuid.uuid5(EDGE_NAMESPACE, f"{fid}|{hid}|tested-by"))
    conn = sqlite3.connect(path)
    with conn:  # as a tool other than lawloop would, or an older lawloop
        conn.execute(
            "INSERT INTO lineage_edge (id, seq, campaign_id, source_id, source_kind, "
            "target_id, target_kind, relation, created_at) VALUES "
            "(?, 1000, ?, ?, 'model_fit', ?, 'hypothesis', 'tested-by', '2026-01-01 00:00:00')",
            (eid, CID, fid, hid),
        )
    conn.close()
    report = check_database(f"sqlite:///{path}")
    lineage = [p for p in report.problems if p.check == "lineage"]
    assert [(p.table, p.row_id, p.column) for p in lineage] == [
        ("lineage_edge", eid, "relation")
    ]
    assert lineage[0].message.startswith(
        "`model_fit tested-by hypothesis` is not an allowed edge"
    )
    assert "`fitted-on` experiment_run" in lineage[0].message


def test_the_recorded_fixture_still_checks_clean(tmp_path):
    copy = tmp_path / "main.db"
    shutil.copyfile(FIXTURE, copy)
    report = check_database(f"sqlite:///{copy}")
    assert report.ok, [str(p) for p in report.problems]
