import json

import pytest

from lawloop.storage import Store

A = "44444444-4444-4444-8444-444444444444"
B = "55555555-5555-4555-8555-555555555555"


def test_identically_filled_campaigns_dump_equal_ids_aside(store, fill):
    fill(store, A, name="first")
    fill(store, B, name="second")
    dump_a, dump_b = store.dump_campaign(A), store.dump_campaign(B)
    assert dump_a == dump_b
    text = json.dumps(dump_a)
    assert A not in text
    assert "created_at" not in text
    # references map to the same ordinals as the rows they name
    fit = dump_a["model_fit"][1]
    assert fit["hypothesis_id"] == dump_a["hypothesis"][1]["id"] == "hypothesis:1"
    assert dump_a["hypothesis"][1]["source_detail"] == "hypothesis:0"
    assert dump_a["planner_call"][1]["prompt"] == "Improve on hypothesis hypothesis:0"
    assert dump_a["decision"][0]["evidence_json"]["fit"] == "model_fit:0"
    assert len(dump_a["artifact"]) == 4


def test_dump_differs_when_content_differs(store, fill):
    fill(store, A, name="first")
    fill(store, B, name="second", score=0.5)
    assert store.dump_campaign(A) != store.dump_campaign(B)


def test_dump_of_separate_databases_is_equal(tmp_path, fill):
    dumps = []
    for i, cid in enumerate((A, B)):
        with _open(tmp_path / f"{i}.db") as store:
            fill(store, cid, name="same-name")
            dumps.append(store.dump_campaign(cid[:8]))
    assert dumps[0] == dumps[1]


def test_drop_is_configurable(store, fill):
    fill(store, A, name="first")
    dump = store.dump_campaign(A, drop=())
    assert dump["campaign"][0]["name"] == "first"
    assert "latency_s" in dump["planner_call"][0]
    assert Store.DEFAULT_DUMP_DROP == (
        "name",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
        "latency_s",
    )


def _open(path):
    from lawloop.storage import open_store

    return open_store(f"sqlite:///{path}")


@pytest.mark.parametrize("prefix", [A[:4], A])
def test_dump_accepts_a_prefix(store, fill, prefix):
    fill(store, A, name="first")
    assert store.dump_campaign(prefix)["campaign"][0]["id"] == "campaign:0"
