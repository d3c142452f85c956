"""A node re-run on the record a crash left behind writes what an uninterrupted run wrote.

The SIGKILL tests (test_resume) land at random moments; these put the record
in the state of one narrow crash window and re-run the node directly.
"""

import shutil
import sqlite3

from lawloop.agent._ids import node_id
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._search_node import search
from lawloop.agent.loop._wiring import make_backend as _make_backend
from lawloop.agent.loop._wiring import regressor_factory as _regressor_factory
from lawloop.storage import open_store

LATER_ROWS = (
    "hypothesis",
    "model_fit",
    "decision",
    "lineage_edge",
    "planner_call",
    "status_change",
)


def test_a_search_cut_off_before_its_admission_admits_its_recorded_front(
    recorded_pendulum, tmp_path
):
    """Killed after the search's row, before its proposals: the resumed node must admit them.

    It used to see its planner call and return, so the front was never admitted.
    """
    path, url, summary = recorded_pendulum
    cid = summary["campaign_id"]
    crashed = tmp_path / "crashed.db"
    shutil.copy(path, crashed)
    ids = {node_id(cid, 0, "search.hypothesis", i) for i in range(500)}
    with sqlite3.connect(crashed) as con:
        cut = min(
            at
            for hid, at in con.execute("select id, created_at from hypothesis")
            if hid in ids
        )
        # Everything from the first admitted SR law on had not been written yet;
        # the laws before it had their creation status.
        for table in LATER_ROWS:
            con.execute(f"delete from {table} where created_at >= ?", (cut,))
        con.execute("delete from iteration where started_at >= ?", (cut,))
        # The hash chain ends where the first row not yet written would be.
        entries = con.execute(
            "select position, table_name, row_id from chain_entry order by position"
        ).fetchall()
        gone = next(
            position
            for position, table, row_id in entries
            if not con.execute(
                f"select 1 from {table} where id = ?", (row_id,)
            ).fetchone()
        )
        con.execute("delete from chain_entry where position >= ?", (gone,))
        con.execute(
            "update hypothesis set status = "
            "case when units_consistent = 0 then 'rejected' else 'open' end"
        )
        con.execute("update iteration set summary_json = null, finished_at = null")
        assert con.execute(
            "select count(*) from planner_call where id = ?",
            (node_id(cid, 0, "search"),),
        ).fetchone() == (1,)

    with open_store(url) as original, open_store(f"sqlite:///{crashed}") as store:
        config = CampaignConfig(**store.get_campaign(cid).config_json)
        backend = _make_backend(config)
        try:
            loop = Loop(
                store, backend, config, cid, _regressor_factory(config, backend)
            )
            search(loop, 0)
        finally:
            backend.close()

        def admitted(s):
            outcome = node_id(cid, 0, "search", "outcome")
            decision = [
                (d.reason, d.evidence_json)
                for d in s.decisions_for(cid)
                if d.id == outcome
            ]
            laws = [
                (h.id, h.expression, h.canonical_key, h.units_consistent)
                for h in s.list_hypotheses(cid)
                if h.id in ids
            ]
            return decision, laws

        got, want = admitted(store), admitted(original)
    assert want[0], "the uninterrupted run recorded the search's outcome"
    assert want[1], "the uninterrupted run admitted SR laws"
    assert got == want
