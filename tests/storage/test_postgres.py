"""What PostgreSQL asks of the store that SQLite never did: one test per fix in `storage._postgres`.

The PostgreSQL tests skip unless `LAWLOOP_TEST_POSTGRES_URL` names a server
(`bash scripts/postgres.sh start` prints one).
"""

import hashlib
import json
import math
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sqlalchemy as sa

from lawloop.storage import (
    InvalidValueError,
    check_database,
    encode_arrays,
    make_engine,
    open_store,
)
from lawloop.storage._models import Artifact, Campaign
from lawloop.storage._postgres import json_dumps, json_loads
from tests.storage.test_store import add_campaign as add_campaign_row

CID = "44444444-4444-4444-8444-444444444444"
INF = float("inf")


def add_campaign(store, cid=CID, name="first"):
    return add_campaign_row(store, cid, name=name)


def wait_until_blocked(engine, timeout_s=20.0):
    """Wait until a session of this database waits for a lock (the racing insert)."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    pytest.fail("the racing insert never waited for the other writer's row")


# -- JSON: non-finite floats ----------------------------------------------------------


def test_json_codec_tags_only_non_finite_floats():
    value = {"rss": INF, "low": -INF, "r2": math.nan, "list": [1.5, INF], "n": 3}
    text = json_dumps(value)
    assert "Infinity" not in text
    assert "NaN" not in text
    back = json_loads(text)
    assert back["rss"] == INF
    assert back["low"] == -INF
    assert math.isnan(back["r2"])
    assert back["list"] == [1.5, INF]
    assert back["n"] == 3
    plain = {"a": 1.0, "b": [None, "x"], "$float": "inf", "other": 1}
    assert json_dumps(plain) == json.dumps(plain)  # finite values: plain JSON
    assert json_loads(json_dumps(plain)) == plain  # a tag needs to be alone


def test_non_finite_floats_survive_json_columns(store, fill):
    """A failed fit scores `rss = inf`: PostgreSQL's `json` refused it before the fix."""
    fill(store, CID, name="first")
    hypothesis = store.list_hypotheses(CID)[0].id
    scores = {"rss": INF, "chi2": -INF, "r2": math.nan, "bic": None, "n": 8}
    store.add_fit(
        "fit-not-finite",
        campaign_id=CID,
        iteration_id=None,
        hypothesis_id=hypothesis,
        method="least_squares",
        parameters={"a": math.nan},
        stderr={"a": INF},
        covariance=[[None]],
        scores=scores,
        train_data=[],
        success=False,
    )
    fit = store.fits_for(hypothesis)[-1]
    assert fit.scores_json["rss"] == INF
    assert fit.scores_json["chi2"] == -INF
    assert math.isnan(fit.scores_json["r2"])
    assert fit.scores_json["bic"] is None
    assert math.isnan(fit.parameters_json["a"])
    assert fit.stderr_json == {"a": INF}
    assert check_database(store).ok


# -- concurrent writers ---------------------------------------------------------------


ARRAYS = {"x": np.arange(3.0)}


def insert_campaign_row(conn):
    conn.execute(
        sa.insert(Campaign.__table__).values(
            id=CID,
            seq=1,
            name="first",
            backend_id="core/Toy-v0",
            planner="offline",
            seed=1,
            status="created",
            config_json={"seed": 1},
            code_version="abc",
            environment_json={},
        )
    )


def insert_artifact_row(conn):
    data = encode_arrays(ARRAYS)
    conn.execute(
        sa.insert(Artifact.__table__).values(
            sha256=hashlib.sha256(data).hexdigest(),
            media_type="application/x-npz",
            size_bytes=len(data),
            data=data,
        )
    )


@pytest.mark.parametrize(
    ("table", "plant", "add", "expected"),
    [
        ("campaign", insert_campaign_row, add_campaign, False),
        ("artifact", insert_artifact_row, lambda s: s.put_arrays(ARRAYS), None),
    ],
    ids=["campaign", "artifact"],
)
def test_an_insert_racing_another_writers_same_row_writes_nothing(
    postgres_url, table, plant, add, expected
):
    """Two writers add one id at once: the second waits, then finds the row (was: a UNIQUE error)."""
    with open_store(postgres_url) as store, store.engine.connect() as other:
        plant(other)  # the other writer's row, not committed yet
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(add, store)
            wait_until_blocked(store.engine)  # it did not see the uncommitted row
            other.commit()
            written = result.result(timeout=30)
        with store.engine.connect() as conn:
            count = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
    assert count == 1
    if expected is not None:
        assert written is expected


def test_concurrent_writers_never_share_an_insertion_order(postgres_url):
    """`seq` is max + 1: without the table lock, writers at once computed equal values."""
    writers, rows = 4, 20
    campaigns = [str(uuid.uuid4()) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    with open_store(postgres_url) as store:
        for i, cid in enumerate(campaigns):
            add_campaign(store, cid, name=f"c{i}")

        def ids(cid):
            return [str(uuid.uuid5(uuid.UUID(cid), str(k))) for k in range(rows)]

        def write(cid):
            barrier.wait()
            for hid in ids(cid):
                store.add_hypothesis(
                    hid,
                    campaign_id=cid,
                    iteration_id=None,
                    expression="a*x",
                    parameters=["a"],
                    source="offline",
                )

        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(write, campaigns))
        with store.engine.connect() as conn:
            seqs = conn.exec_driver_sql("SELECT seq FROM hypothesis").scalars().all()
        assert len(seqs) == len(set(seqs)) == writers * rows
        for cid in campaigns:  # and each writer's rows are in its own order
            assert [h.id for h in store.list_hypotheses(cid)] == ids(cid)


# -- values and messages --------------------------------------------------------------


def test_a_value_too_long_for_its_column_is_refused_clearly(postgres_url):
    """SQLite stores it as given; PostgreSQL refuses it with a `DataError`, now `InvalidValueError`."""
    with open_store(postgres_url) as store:
        with pytest.raises(InvalidValueError, match="too long"):
            add_campaign(store, name="x" * 300)
        assert store.list_campaigns() == []


# -- schema and the read-only check ---------------------------------------------------


def test_check_database_on_postgresql_finds_altered_bytes_and_writes_nothing(
    postgres_server, fill
):
    url = postgres_server()
    with open_store(url) as store:
        fill(store, CID, name="first")
    report = check_database(url)
    assert report.ok, [str(p) for p in report.problems]
    assert report.rows["lineage_edge"] == 9
    assert report.revision is not None
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE artifact SET data = data || '\\x00'::bytea "
                "WHERE sha256 = (SELECT min(sha256) FROM artifact)"
            )
    finally:
        engine.dispose()
    problems = check_database(url).problems
    assert {(p.check, p.column) for p in problems} == {
        ("artifact", "data"),
        ("artifact", "size_bytes"),
    }
    # A URL is never upgraded: an empty database stays empty.
    empty = postgres_server(migrated=False)
    report = check_database(empty)
    assert not report.ok
    assert report.revision is None
    engine = make_engine(empty)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
