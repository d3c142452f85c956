"""`run.py hypotheses list` (filters, sorting, bad values) and `hypotheses show`.

In process, through `main()` (`run_cli`: one subprocess each would import
the agent again); `test_cli.py` starts `python run.py` as a user does.
"""

import json

import pytest

from tests.conftest import run_cli as cli


@pytest.fixture(scope="module")
def db(recorded_pendulum):
    return recorded_pendulum[1]


@pytest.fixture(scope="module")
def accepted_id(recorded_pendulum):
    return recorded_pendulum[2]["best"]["hypothesis_id"]


def listed(db, *args):
    return json.loads(
        cli("hypotheses", "list", *args, "--db", db, "--json", check_code=0).stdout
    )


def test_list_json_has_the_contract_fields_for_every_hypothesis(db):
    from lawloop.storage import open_store

    rows = listed(db)
    with open_store(db) as store:
        assert [r["id"] for r in rows] == [h.id for h in store.list_hypotheses()]
    for row in rows:
        assert {"id", "campaign_id", "expression", "status", "score"} <= set(row)
        assert {"source", "chi2", "complexity", "iteration", "parameters"} <= set(row)


def test_list_filters_sort_and_limit_combine(db, accepted_id):
    rows = listed(
        db,
        "--status",
        "accepted,superseded",
        "--source",
        "power-law,template",
        "--sort",
        "-score",  # a value that starts with `-` is still the option's value
        "--limit",
        "4",
    )
    assert 0 < len(rows) <= 4
    assert {r["status"] for r in rows} <= {"accepted", "superseded"}
    assert {r["source"] for r in rows} <= {"power-law", "template"}
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    lowest = listed(db, "--sort", "score", "--desc", "--max-score", "-1318")
    assert all(r["score"] <= -1318 for r in lowest)
    assert [r["score"] for r in lowest] == sorted(
        (r["score"] for r in lowest), reverse=True
    )
    assert [r["id"] for r in listed(db, "--status", "accepted")] == [accepted_id]


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["--status", "acepted"], ["`--status`", "`superseded`", "`accepted`?"]),
        (["--source", "oracle"], ["`--source`", "`power-law`", "`sr`"]),
        (["--sort", "bic"], ["`--sort`", "`score`", "`complexity`", "descending"]),
        (["--min-score", "5", "--max-score", "1"], ["`--min-score`", "maximum"]),
        (["--limit", "0"], ["`--limit`", "at least 1"]),
        (["--campaign", "nope"], ["nope"]),
    ],
    ids=["status", "source", "sort", "score-bounds", "limit", "campaign"],
)
def test_bad_values_exit_1_naming_the_option_and_the_allowed_values(db, args, messages):
    out = cli("hypotheses", "list", *args, "--db", db, check_code=1)
    assert out.stdout == ""
    for message in messages:
        assert message in " ".join(out.stderr.split()), out.stderr


def test_list_text_is_a_table_with_the_score_explained(db, accepted_id):
    out = cli("hypotheses", "list", "--status", "accepted", "--db", db, check_code=0)
    assert accepted_id[:8] in out.stdout
    assert "BIC of the latest successful fit" in " ".join(out.stdout.split())


def test_show_json_has_latex_uncertainties_fits_and_lineage(db, accepted_id):
    view = json.loads(
        cli(
            "hypotheses", "show", accepted_id[:10], "--db", db, "--json", check_code=0
        ).stdout
    )
    assert view["id"] == accepted_id
    assert view["latex"].startswith(r"\frac{\sqrt{L} c_{0}")
    assert view["latex"].endswith(r"{\sqrt{g}}")
    assert all(c["stderr"] > 0 for c in view["constants"])
    assert all(
        {"method", "train_n", "test_n", "scores"} <= set(f) for f in view["fits"]
    )
    assert view["proposed_by"]
    assert any(d["kind"] == "accept" for d in view["decisions"])


def test_show_text_and_unknown_id(db, accepted_id):
    out = cli("hypotheses", "show", accepted_id[:10], "--db", db, check_code=0).stdout
    assert "LaTeX: \\frac" in out
    assert "±" in out
    assert "proposed by offline" in out
    missing = cli("hypotheses", "show", "zzzz", "--db", db, check_code=1)
    assert "zzzz" in missing.stderr
