import dataclasses
import uuid
from datetime import UTC

import numpy as np
import pytest
import sqlalchemy as sa

from lawloop.storage import (
    AmbiguousIdError,
    CampaignRecord,
    IntegrityError,
    InvalidValueError,
    NotFoundError,
)

CID = "11111111-1111-4111-8111-111111111111"


def add_campaign(store, cid=CID, name="first", **overrides):
    values = dict(
        name=name,
        backend_id="core/Toy-v0",
        planner="offline",
        seed=1,
        config={"seed": 1},
        code_version="abc",
        environment={},
    )
    values.update(overrides)
    return store.add_campaign(cid, **values)


def count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_every_add_is_insert_if_absent(store, fill):
    fill(store, CID, name="first")
    tables = [
        t for t in sa.inspect(store.engine).get_table_names() if t != "alembic_version"
    ]
    counts = {t: count(store, t) for t in tables}
    fill(store, CID, name="first")
    assert {t: count(store, t) for t in counts} == counts
    assert counts["hypothesis"] == 2
    assert counts["lineage_edge"] == 9


def test_add_returns_whether_it_wrote(store):
    assert add_campaign(store) is True
    assert add_campaign(store, name="ignored") is False
    assert store.get_campaign(CID).name == "first"
    iid = str(uuid.uuid4())
    assert store.add_iteration(iid, campaign_id=CID, index=0, seeds={}) is True
    assert store.add_iteration(iid, campaign_id=CID, index=0, seeds={}) is False
    assert count(store, "campaign") == 1
    assert count(store, "iteration") == 1


def test_status_fields_update_and_finish_time_is_kept(store):
    add_campaign(store)
    store.set_campaign_status(CID, "running")
    assert store.get_campaign(CID).status == "running"
    assert store.get_campaign(CID).finished_at is None
    store.set_campaign_status(CID, "finished", result={"best": "h"}, finished=True)
    first = store.get_campaign(CID)
    store.set_campaign_status(CID, "finished", finished=True)
    again = store.get_campaign(CID)
    assert again.finished_at == first.finished_at
    assert again.finished_at.tzinfo is UTC
    assert again.result_json == {"best": "h"}

    store.add_iteration("it", campaign_id=CID, index=0, seeds={"a": 1})
    store.finish_iteration("it", {"n": 3})
    (iteration,) = store.iterations_for(CID)
    assert iteration.summary_json == {"n": 3}
    assert iteration.finished_at is not None

    store.add_hypothesis(
        "h",
        campaign_id=CID,
        iteration_id="it",
        expression="a*x",
        parameters=["a"],
        source="offline",
    )
    store.set_hypothesis_status("h", "accepted", score=0.5)
    store.set_hypothesis_status("h", "superseded")
    hypothesis = store.get_hypothesis("h")
    assert (hypothesis.status, hypothesis.score) == ("superseded", 0.5)
    assert [h.id for h in store.list_hypotheses(CID, status="superseded")] == ["h"]
    assert store.list_hypotheses(status="open") == []


def test_unknown_status_names_the_allowed_values(store):
    add_campaign(store)
    with pytest.raises(InvalidValueError, match="`interrupted`"):
        store.set_campaign_status(CID, "paused")
    with pytest.raises(NotFoundError, match="campaign"):
        store.set_campaign_status("nope", "running")


def test_prefix_lookup_exact_unique_ambiguous_and_by_name(store):
    add_campaign(store, "abc10000", name="one")
    add_campaign(store, "abc20000", name="two")
    assert store.get_campaign("abc2").id == "abc20000"
    assert store.get_campaign("abc10000").name == "one"
    assert store.get_campaign("two").id == "abc20000"
    with pytest.raises(AmbiguousIdError, match="`abc10000`, `abc20000`"):
        store.get_campaign("abc")
    with pytest.raises(NotFoundError, match="`zzz`"):
        store.get_campaign("zzz")
    with pytest.raises(NotFoundError):
        store.get_campaign("abc_")  # LIKE wildcards are literal
    with pytest.raises(InvalidValueError):
        store.get_campaign("")
    store.add_hypothesis(
        "hyp-1",
        campaign_id="abc10000",
        iteration_id=None,
        expression="a",
        parameters=["a"],
        source="llm",
    )
    assert store.get_hypothesis("hyp").id == "hyp-1"


def test_foreign_keys_are_enforced(store):
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        store.add_iteration("it", campaign_id="missing", index=0, seeds={})
    add_campaign(store)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        store.add_run(
            "r",
            campaign_id=CID,
            iteration_id=None,
            backend_id="core/Toy-v0",
            design_reason="",
            inputs_sha256="0" * 64,
            data_sha256=None,
            seed=1,
            n_points=1,
            device="cpu",
            status_code=0,
        )
    assert count(store, "experiment_run") == 0


def test_unique_constraints_are_enforced(store):
    add_campaign(store)
    with pytest.raises(IntegrityError, match="UNIQUE"):
        add_campaign(store, "other-id", name="first")
    store.add_iteration("a", campaign_id=CID, index=0, seeds={})
    with pytest.raises(IntegrityError, match="UNIQUE"):
        store.add_iteration("b", campaign_id=CID, index=0, seeds={})


def test_seed_must_fit_int64(store):
    with pytest.raises(InvalidValueError, match="64-bit"):
        add_campaign(store, seed=2**64 - 1)
    assert add_campaign(store, seed=int(np.uint32(2**32 - 1)))


def test_queries_return_frozen_records_with_plain_strings(store, fill):
    fill(store, CID, name="first")
    campaign = store.get_campaign(CID)
    assert isinstance(campaign, CampaignRecord)
    assert type(campaign.status) is str
    with pytest.raises(dataclasses.FrozenInstanceError):
        campaign.status = "failed"
    assert [c.id for c in store.list_campaigns()] == [CID]
    assert [i.index for i in store.iterations_for(CID)] == [0, 1]
    assert len(store.runs_for(CID)) == 2
    assert len(store.planner_calls_for(CID)) == 2
    assert [d.kind for d in store.decisions_for(CID)] == ["accept", "accept"]
    hypotheses = store.list_hypotheses(CID)
    assert [h.source for h in hypotheses] == ["offline", "mutation"]
    fits = store.fits_for(hypotheses[0].id)
    assert fits[0].parameters_json == {"a": 2.0}
    assert [f.id for f in store.fits_in_iteration(fits[0].iteration_id)] == [fits[0].id]
    assert fits[0].created_at.tzinfo is UTC
    assert {e.relation for e in store.edges_for(CID)} == {
        "proposed-by",
        "supported-by",
        "fitted-on",
        "produced-by",
        "derived-from",
    }
    assert store.has_row("hypothesis", hypotheses[0].id)
    assert store.has_row("artifact", fits[0].train_data_json[0])
    assert not store.has_row("model_fit", "missing")
    with pytest.raises(InvalidValueError):
        store.has_row("no_table", "x")
