"""Lookups of one row by its exact id: `get_run`, `get_fit`, `get_decision`, ..."""

from __future__ import annotations

import pytest

from lawloop.storage import (
    DecisionRecord,
    FitRecord,
    IterationRecord,
    NotFoundError,
    PlannerCallRecord,
    RunRecord,
)

CID = "44444444-4444-4444-8444-444444444444"


@pytest.mark.parametrize(
    ("method", "node", "record", "listing"),
    [
        ("get_iteration", "1/iteration/0", IterationRecord, "iterations_for"),
        ("get_run", "1/run_experiments/0", RunRecord, "runs_for"),
        ("get_planner_call", "1/propose/0", PlannerCallRecord, "planner_calls_for"),
        ("get_decision", "1/decide/0", DecisionRecord, "decisions_for"),
    ],
)
def test_a_lookup_by_id_is_the_row_the_campaign_listing_holds(
    store, fill, node_id, method, node, record, listing
):
    fill(store, CID, name="c")
    rid = node_id(CID, node)
    found = getattr(store, method)(rid)
    assert isinstance(found, record)
    assert found == next(r for r in getattr(store, listing)(CID) if r.id == rid)


def test_get_fit_is_the_fit_fits_for_lists(store, fill, node_id):
    fill(store, CID, name="c")
    fid = node_id(CID, "0/fit/0")
    fit = store.get_fit(fid)
    assert isinstance(fit, FitRecord)
    assert [fit] == store.fits_for(node_id(CID, "0/propose/1"))


@pytest.mark.parametrize(
    ("method", "what"),
    [
        ("get_iteration", "iteration"),
        ("get_run", "experiment_run"),
        ("get_planner_call", "planner_call"),
        ("get_fit", "model_fit"),
        ("get_decision", "decision"),
    ],
)
def test_an_unknown_id_raises_not_found_naming_it(store, fill, node_id, method, what):
    fill(store, CID, name="c")
    with pytest.raises(NotFoundError, match=f"No {what} with id `ghost`"):
        getattr(store, method)("ghost")
    # Exact ids only: a prefix that `get_hypothesis` would resolve is not found here.
    prefix = node_id(CID, "0/decide/0")[:8]
    with pytest.raises(NotFoundError):
        getattr(store, method)(prefix)
    assert isinstance(NotFoundError("x"), LookupError)
