import pytest
from sqlalchemy.orm import Session

from lawloop.storage import ImmutableRowError
from lawloop.storage._models import Campaign, Hypothesis

CID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def filled(store, fill, node_id):
    fill(store, CID, name="c")
    return store, node_id(CID, "0/propose/1")


def test_changing_a_frozen_column_raises(filled):
    store, hid = filled
    with Session(store.engine) as session:
        row = session.get(Hypothesis, hid)
        row.expression = "b*x"
        with pytest.raises(
            ImmutableRowError,
            match=r"`hypothesis`.*\['expression'\].*`score`, `status`",
        ):
            session.flush()
    assert store.get_hypothesis(hid).expression == "a*x**2"


def test_changing_json_of_a_frozen_row_raises(filled):
    store, _ = filled
    with Session(store.engine) as session:
        row = session.get(Campaign, CID)
        row.config_json = {"seed": 8}
        with pytest.raises(ImmutableRowError, match="config_json"):
            session.commit()
    assert store.get_campaign(CID).config_json["seed"] == 7


def test_declared_status_columns_may_change(filled):
    store, hid = filled
    with Session(store.engine) as session:
        row = session.get(Hypothesis, hid)
        row.status = "rejected"
        row.score = 0.1
        session.commit()
    record = store.get_hypothesis(hid)
    assert (record.status, record.score) == ("rejected", 0.1)


def test_deleting_a_row_raises(filled):
    store, hid = filled
    with Session(store.engine) as session:
        session.delete(session.get(Hypothesis, hid))
        with pytest.raises(ImmutableRowError, match="append-only"):
            session.flush()
    assert store.has_row("hypothesis", hid)
