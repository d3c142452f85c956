import pytest
import sqlalchemy as sa

from lawloop.storage import InvalidValueError, NotFoundError

CID = "22222222-2222-4222-8222-222222222222"


def test_link_is_insert_if_absent_and_needs_both_rows(store, fill, node_id):
    fill(store, CID, name="c")
    hid = node_id(CID, "0/propose/1")
    fid = node_id(CID, "0/fit/0")
    did = node_id(CID, "0/decide/0")
    before = len(store.edges_for(CID))
    assert store.link(hid, "hypothesis", did, "decision", "supported-by") is False
    assert store.link(hid, "hypothesis", fid, "model_fit", "tested-by") is True
    assert len(store.edges_for(CID)) == before + 1
    with pytest.raises(NotFoundError, match="`missing`"):
        store.link(hid, "hypothesis", "missing", "model_fit", "tested-by")
    with pytest.raises(InvalidValueError, match="`supported-by`"):
        store.link(hid, "hypothesis", fid, "model_fit", "supports")
    with pytest.raises(InvalidValueError, match="entity kind"):
        store.link(hid, "node", fid, "model_fit", "tested-by")


def test_edge_from_an_artifact_belongs_to_the_other_ends_campaign(store, fill, node_id):
    fill(store, CID, name="c")
    produced = [e for e in store.edges_for(CID) if e.relation == "produced-by"]
    assert produced
    assert all(e.source_kind == "artifact" and e.campaign_id == CID for e in produced)


def test_check_lineage_reports_dangling_ends(store, fill):
    fill(store, CID, name="c")
    assert store.check_lineage() == []
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO lineage_edge (id, seq, campaign_id, source_id, source_kind, "
                "target_id, target_kind, relation, created_at) VALUES ('e', 99, :c, 'ghost', "
                "'hypothesis', 'ghost2', 'model_fit', 'supported-by', '2024-01-01 00:00:00')"
            ),
            {"c": CID},
        )
    problems = store.check_lineage(CID)
    assert len(problems) == 2
    assert "`ghost`" in problems[0] or "`ghost`" in problems[1]
