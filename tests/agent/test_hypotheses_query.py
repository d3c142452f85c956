"""Filtering, sorting and detailing the hypothesis log (`agent._hypotheses`, `agent._hypothesis_detail`)."""

import math
import re
import shutil

import pytest

from lawloop.agent import (
    HYPOTHESIS_SORT_KEYS,
    HypothesisQuery,
    QueryError,
    campaign_rows,
    format_uncertain,
    hypothesis_detail,
    hypothesis_text,
    query_hypotheses,
)
from lawloop.storage import NotFoundError, open_store


@pytest.fixture(scope="module")
def store(recorded_pendulum):
    _, url, _ = recorded_pendulum
    with open_store(url) as s:
        yield s


@pytest.fixture(scope="module")
def accepted_id(recorded_pendulum):
    return recorded_pendulum[2]["best"]["hypothesis_id"]


def test_rows_match_the_store_with_the_latest_successful_fit(store):
    rows = query_hypotheses(store)
    records = store.list_hypotheses()
    assert [r.id for r in rows] == [h.id for h in records]  # insertion order
    for row, h in zip(rows, records, strict=True):
        assert (row.status, row.score, row.source, row.expression) == (
            h.status,
            h.score,
            h.source,
            h.expression,
        )
        fits = store.fits_for(h.id)
        ok = [f for f in fits if f.success]
        assert row.n_fits == len(fits)
        assert row.chi2 == (ok[-1].scores_json["chi2"] if ok else None)
        assert row.complexity == (ok[-1].scores_json["complexity"] if ok else None)
        if ok:  # the score is the BIC of the latest successful fit
            assert row.score == pytest.approx(ok[-1].scores_json["bic"])
    assert {r.iteration for r in rows} <= {0, 1, 2, 3}


def test_status_filter_takes_one_or_several_statuses(store, accepted_id):
    assert [r.id for r in query_hypotheses(store, status="accepted")] == [accepted_id]
    both = query_hypotheses(store, status="accepted, rejected")
    assert {r.status for r in both} == {"accepted", "rejected"}
    assert [r.id for r in query_hypotheses(store, status=["accepted", "rejected"])] == [
        r.id for r in both
    ]


def test_source_filter_keeps_only_that_source(store):
    sources = {h.source for h in store.list_hypotheses()}
    assert len(sources) > 1
    for source in sources:
        rows = query_hypotheses(store, source=source)
        assert rows
        assert {r.source for r in rows} == {source}
    # A known source the campaign never used is valid and matches nothing.
    assert query_hypotheses(store, source="llm") == []


def test_score_bounds_are_inclusive_and_leave_out_unscored(store):
    scored = sorted(r.score for r in query_hypotheses(store) if r.score is not None)
    low, high = scored[1], scored[-2]
    rows = query_hypotheses(store, min_score=low, max_score=high)
    assert sorted(r.score for r in rows) == scored[1:-1]
    assert all(r.score is not None for r in query_hypotheses(store, min_score=-1e308))


def test_sort_by_score_both_ways_with_missing_values_last(store):
    up = query_hypotheses(store, sort="score")
    scores = [r.score for r in up]
    present = [s for s in scores if s is not None]
    assert present == sorted(present)
    assert scores[len(present) :] == [None] * (len(scores) - len(present))
    down = query_hypotheses(store, sort="-score")
    assert [r.score for r in down][: len(present)] == sorted(present, reverse=True)
    assert [r.id for r in query_hypotheses(store, sort="score", descending=True)] == [
        r.id for r in down
    ]


def test_sort_by_status_puts_accepted_first_and_rejected_last(store, accepted_id):
    rows = query_hypotheses(store, sort="status")
    assert rows[0].id == accepted_id
    assert rows[-1].status == "rejected"


@pytest.mark.parametrize("key", HYPOTHESIS_SORT_KEYS, ids=str)
def test_every_sort_key_sorts(store, key):
    rows = query_hypotheses(store, sort=key)
    assert len(rows) == len(store.list_hypotheses())


def test_limit_applies_after_sorting(store):
    rows = query_hypotheses(store, sort="complexity", limit=3)
    everything = query_hypotheses(store, sort="complexity")
    assert [r.id for r in rows] == [r.id for r in everything[:3]]
    assert rows[0].complexity == min(
        r.complexity for r in everything if r.complexity is not None
    )


def test_newest_first_with_descending_and_no_key(store):
    rows = query_hypotheses(store, descending=True)
    assert [r.id for r in rows] == [h.id for h in reversed(store.list_hypotheses())]


def test_campaign_filter_by_name_and_prefix(store, recorded_pendulum):
    campaign = store.list_campaigns()[0]
    by_name = query_hypotheses(store, campaign=campaign.name)
    by_prefix = query_hypotheses(store, campaign=campaign.id[:6])
    assert [r.id for r in by_name] == [r.id for r in by_prefix]
    assert {r.campaign_id for r in by_name} == {campaign.id}
    with pytest.raises(NotFoundError, match="nope"):
        query_hypotheses(store, campaign="nope")


@pytest.mark.parametrize(
    ("kwargs", "option", "message"),
    [
        ({"status": "acepted"}, "status", "Did you mean `accepted`?"),
        ({"status": ""}, "status", "`superseded`"),
        ({"source": "oracle"}, "source", "`power-law`"),
        ({"sort": "bic"}, "sort", "`complexity`"),
        ({"sort": "-scor"}, "sort", "Did you mean `score`?"),
        ({"min_score": 5.0, "max_score": 1.0}, "min_score", "above the maximum"),
        ({"max_score": math.nan}, "max_score", "finite"),
        ({"limit": 0}, "limit", "at least 1"),
    ],
    ids=[
        "status-typo",
        "status-empty",
        "source-unknown",
        "sort-unknown",
        "sort-typo-descending",
        "bounds-reversed",
        "bound-nan",
        "limit-zero",
    ],
)
def test_bad_values_raise_query_error_naming_the_option(store, kwargs, option, message):
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        query_hypotheses(store, **kwargs)
    assert info.value.option == option
    assert str(info.value).startswith(f"`{option}`: ")


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"status": "acepted"}, "status"),
        ({"source": " , "}, "source"),
        ({"sort": "-scor"}, "sort"),
        ({"min_score": math.inf}, "min_score"),
        ({"limit": -1}, "limit"),
    ],
    ids=["status", "source-empty", "sort", "bound", "limit"],
)
def test_a_query_is_checked_when_made(kwargs, option):
    with pytest.raises(QueryError) as info:
        HypothesisQuery(**kwargs)
    assert info.value.option == option


def test_a_query_is_one_value_however_it_is_spelled(store):
    spelled = HypothesisQuery(status="rejected, accepted", sort="-score", limit=3)
    listed = HypothesisQuery(
        status=["accepted", "rejected"], sort="score", descending=True, limit=3
    )
    assert spelled == listed
    assert (spelled.status, spelled.sort, spelled.descending) == (
        ("accepted", "rejected"),
        "score",
        True,
    )
    rows = query_hypotheses(store, spelled)
    assert rows == query_hypotheses(
        store, status="accepted,rejected", sort="-score", limit=3
    )
    with pytest.raises(TypeError, match="not both"):
        query_hypotheses(store, spelled, limit=1)


def test_cli_api_and_dashboard_give_the_same_rows_for_one_query(
    store, recorded_pendulum
):
    """The three callers build a `HypothesisQuery`: one query, one answer."""
    import json

    from typer.testing import CliRunner

    import lawloop
    from lawloop import cli
    from lawloop.agent import create_dashboard

    _, url, _ = recorded_pendulum
    cid = store.list_campaigns()[0].id
    hypotheses = store.list_hypotheses()
    # The most common status and, among those, source: a filter that keeps rows.
    status = max(
        {h.status for h in hypotheses}, key=[h.status for h in hypotheses].count
    )
    sources = [h.source for h in hypotheses if h.status == status]
    source = max(set(sources), key=sources.count)
    done = CliRunner().invoke(
        cli.app,
        [
            "hypotheses",
            "list",
            "--campaign",
            cid[:8],
            "--status",
            status,
            "--source",
            source,
            "--sort",
            "score",
            "--db",
            url,
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    from_cli = json.loads(done.stdout)
    with lawloop.open(url) as db:
        from_api = [
            r.to_dict()
            for r in db.hypotheses(cid, status=status, source=source, sort="score")
        ]
    page = (
        create_dashboard(url)
        .test_client()
        .get(
            f"/api/campaigns/{cid}/hypotheses",
            query_string={
                "status": status,
                "source": source,
                "sort": "score",
                "order": "asc",
            },
        )
    )
    from_dashboard = page.get_json()
    assert from_cli == from_api
    assert len(from_api) >= 2
    assert {(r["status"], r["source"]) for r in from_api} == {(status, source)}
    assert [(r["id"], r["score"]) for r in from_dashboard] == [
        (r["id"], r["score"]) for r in from_api
    ]
    direct = query_hypotheses(
        store, HypothesisQuery(campaign=cid, status=status, source=source, sort="score")
    )
    assert [r.to_dict() for r in direct] == from_api


def test_campaign_rows_match_the_summary(store, recorded_pendulum):
    _, _, summary = recorded_pendulum
    (row,) = campaign_rows(store)
    assert row.id == summary["campaign_id"]
    assert (row.iterations, row.measurements) == (
        summary["iterations"],
        summary["measurements"],
    )
    assert row.best_expression == summary["best"]["expression"]
    assert row.to_dict()["created_at"].endswith("+00:00")


def test_detail_gives_latex_and_constants_with_uncertainties(store, accepted_id):
    view = hypothesis_detail(store, accepted_id[:8])
    assert view["id"] == accepted_id
    # The amplitude-corrected law: the attack refutes the small-angle one at 0.2 rad.
    assert view["latex"] == (
        r"\frac{\sqrt{L} c_{0} \left(c_{1} \theta_{0}^{2} + 1\right)}{\sqrt{g}}"
    )
    c0, c1 = view["constants"]
    fit = [f for f in store.fits_for(accepted_id) if f.success][-1]
    assert c0["value"] == fit.parameters_json["c0"]
    assert c0["stderr"] == fit.stderr_json["c0"] > 0
    assert c0["value"] == pytest.approx(2 * math.pi, rel=1e-4)
    assert c1["value"] == pytest.approx(1 / 16, rel=0.05)  # T = T0 (1 + theta0**2/16)
    assert view["law"].endswith("/sqrt(g)")
    assert "sqrt{L}" in view["law_latex"]
    assert view["stderr"] == fit.stderr_json  # the old `show --json` keys stay


def test_detail_lists_fits_lineage_and_decisions(store, accepted_id):
    view = hypothesis_detail(store, accepted_id)
    fits = store.fits_for(accepted_id)
    assert [f["id"] for f in view["fits"]] == [f.id for f in fits]
    last = view["fits"][-1]
    assert last["train_n"] == fits[-1].scores_json["n"]
    assert last["test_n"] == fits[-1].scores_json["fresh_n"] > 0
    assert last["method"] == fits[-1].method
    assert view["proposed_by"][0]["created_it"]
    assert view["proposed_by"][0]["planner"] == "offline"
    kinds = [d["kind"] for d in view["decisions"]]
    assert "accept" in kinds
    assert "formalize" in kinds  # its admission
    assert view["replaces"]  # the pendulum's accepted law supersedes rivals
    for child in view["children"]:
        assert hypothesis_detail(store, child["id"])["parents"][0]["id"] == accepted_id


def test_superseded_hypothesis_names_what_replaced_it(store, accepted_id):
    (row,) = query_hypotheses(store, status="superseded", limit=1)
    view = hypothesis_detail(store, row.id)
    assert [r["id"] for r in view["replaced_by"]] == [accepted_id]
    assert any(
        d["kind"] == "superseded" and d["by"] == accepted_id for d in view["decisions"]
    )


def test_text_shows_latex_and_plus_minus(store, accepted_id):
    text = hypothesis_text(hypothesis_detail(store, accepted_id))
    assert "LaTeX: \\frac{\\sqrt{L} c_{0} \\left(c_{1}" in text
    assert re.search(r"c0 = 6\.283\d* ± 0\.000\d+", text)
    assert "accept:" in text


def test_recorded_text_is_parsed_never_evaluated(recorded_pendulum, tmp_path):
    """A hostile expression in the record gets no LaTeX, and nothing runs."""
    path, _, _ = recorded_pendulum
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    marker = tmp_path / "pwned"
    with open_store(f"sqlite:///{copy}") as s:
        campaign = s.list_campaigns()[0]
        s.add_hypothesis(
            "00000000-0000-0000-0000-000000000001",
            campaign_id=campaign.id,
            iteration_id=None,
            expression=f"__import__('pathlib').Path({str(marker)!r}).touch()",
            parameters=[],
            source="user",
        )
        view = hypothesis_detail(s, "00000000-0000-0000-0000-000000000001")
        rows = query_hypotheses(s, source="user")
    assert view["latex"] is None
    assert view["law"] is None
    assert not marker.exists()
    assert [r.iteration for r in rows] == [None]


@pytest.mark.parametrize(
    ("value", "err", "text"),
    [
        (6.289694285633665, 0.0006052263035953477, "6.28969 ± 0.00061"),
        (-0.06248593192923848, 0.00760002629872413, "-0.0625 ± 0.0076"),
        (1234.5, 30.0, "1234 ± 30"),
        (6.02e23, 1e20, "6.02e+23 ± 1e+20"),
        (1.5, None, "1.5"),
        (1.5, math.inf, "1.5"),
    ],
    ids=["small-error", "negative", "integer-digits", "huge", "no-error", "inf-error"],
)
def test_format_uncertain_rounds_to_the_error(value, err, text):
    assert format_uncertain(value, err) == text
