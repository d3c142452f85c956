"""The time limit is a promise: a campaign ends within 10 % of it plus one experiment batch.

Every node that can run long stops at the deadline and records what it left
undone, and a replay cuts the same work from the record. Issue 14, part 5.
"""

import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

from lawloop import storage
from lawloop.agent import bench_feynman, replay, start_campaign
from lawloop.agent._clock import Clock, Gate
from lawloop.agent._ids import node_id
from lawloop.agent._liveness import run_status
from lawloop.agent.loop._config import CampaignConfig, load_config
from lawloop.agent.loop._formalize_node import formalize
from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._propose_node import propose
from lawloop.agent.loop._search_node import search
from lawloop.agent.loop._wiring import make_backend as _make_backend
from lawloop.agent.loop._wiring import regressor_factory as _regressor_factory
from lawloop.agent.planners._templates import screen_forms
from tests.conftest import ROOT, TINY

U0 = {"m": 0, "s": 0, "kg": 0, "T": 0, "V": 0}


def _var(name, units):
    return {
        "name": name,
        "low": 1.0,
        "high": 5.0,
        "sampling": "uniform",
        "sign": "positive",
        "integer": False,
        "units": {**U0, **units},
    }


# Feynman I.29.16 (four inputs): at 10 % noise no planner law is adequate, so
# a campaign proposes, searches and fits many rivals every iteration: work
# that, unchecked, runs far past a 10 s limit.
WAVES = {
    "problems": [
        {
            "id": "waves",
            "formula": "sqrt(x1 ** 2 + x2 ** 2 + 2 * x1 * x2 * cos(theta1 - theta2))",
            "output": "x",
            "output_units": {**U0, "m": 1},
            "variables": [
                _var("x1", {"m": 1}),
                _var("x2", {"m": 1}),
                _var("theta1", {}),
                _var("theta2", {}),
            ],
            "split": "hard",
            "units_constants": [],
            "notes": None,
        }
    ]
}


def _waves_config(tmp_path, **settings):
    problems = tmp_path / "waves.json"
    problems.write_text(json.dumps(WAVES))
    base = {
        "backend": "core/Formula-v0",
        "backend_options": {"problem_file": str(problems), "problem_id": "waves"},
        "noise": 0.1,
        "seed": 0,
        "max_measurements": 100_000,
        "max_iterations": 1000,
        "device": "cpu",
    }
    return load_config(None, base | settings)


def _longest_batch(store, campaign_id):
    """Seconds of the longest experiment batch: the runs of one iteration."""
    per_iteration: dict[str, float] = {}
    for run in store.runs_for(campaign_id):
        key = run.iteration_id or ""
        per_iteration[key] = per_iteration.get(key, 0.0) + run.duration_s
    return max(per_iteration.values())


@pytest.mark.slow
def test_a_10_s_campaign_ends_within_11_s_plus_one_batch(tmp_path):
    url = f"sqlite:///{tmp_path / 'promise.db'}"
    started = time.perf_counter()
    summary = start_campaign(_waves_config(tmp_path, time_limit=10.0), url)
    wall = time.perf_counter() - started
    with storage.open_store(url) as store:
        batch = _longest_batch(store, summary["campaign_id"])
        cuts = [
            d
            for d in store.decisions_for(summary["campaign_id"])
            if d.kind in ("skip-fit", "skip-search")
            or "not admitted (time limit" in d.reason
        ]
    assert wall <= 11.0 + batch, (wall, batch, summary["stop_reason"])
    # The limit, not the loop running out of work, ended it: work was cut for time.
    assert summary["stop_reason"] != "accepted"
    assert cuts, "nothing was cut for time: the test no longer tests the promise"


# One campaign's record, made once: iteration 0 measured (`measured`), and
# also proposed and admitted (`admitted`). Each test runs its node on a copy.
NODES = CampaignConfig(
    backend="core/Pendulum-v0", time_limit=10.0, **dict(TINY, sr_time_limit=30.0)
)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    base = tmp_path_factory.mktemp("nodes")
    measured, admitted = base / "measured.db", base / "admitted.db"
    cid = str(uuid.uuid4())
    with storage.open_store(f"sqlite:///{measured}") as store:
        store.add_campaign(
            cid,
            name="nodes",
            backend_id=NODES.backend,
            planner="offline",
            seed=NODES.seed,
            config=NODES.model_dump(mode="json"),
            code_version="test",
            environment={},
        )
        with _loop(store, cid) as loop:
            sha, reason = loop.design(0)
            loop.run_experiments(0, sha, reason)
    shutil.copy(measured, admitted)
    with (
        storage.open_store(f"sqlite:///{admitted}") as store,
        _loop(store, cid) as loop,
    ):
        propose(loop, 0)
        formalize(loop, 0)
    return {"measured": measured, "admitted": admitted, "campaign_id": cid}


@contextmanager
def _loop(store, cid):
    """The campaign's loop on `store`, without a clock (as a test builds it)."""
    backend = _make_backend(NODES)
    try:
        yield Loop(store, backend, NODES, cid, _regressor_factory(NODES, backend))
    finally:
        backend.close()


@contextmanager
def _copy_of(records, which, tmp_path):
    path = tmp_path / f"{which}.db"
    shutil.copy(records[which], path)
    with (
        storage.open_store(f"sqlite:///{path}") as store,
        _loop(store, records["campaign_id"]) as loop,
    ):
        yield loop


def _expired(limit=10.0):
    """A clock whose time limit ran out a while ago."""
    return Clock(time.monotonic() - 2 * limit, before_s=0.0, limit_s=limit)


def test_fit_past_the_deadline_fits_the_first_only_and_records_the_rest(
    records, tmp_path
):
    with _copy_of(records, "admitted", tmp_path) as loop:
        cid = loop.campaign_id
        open_ids = [h.id for h in loop.store.list_hypotheses(cid, status="open")]
        assert len(open_ids) > 2
        loop.clock = _expired()
        loop.fit(0)
        fits = loop.store.fits_in_iteration(loop.iteration_id(0))
        (skip,) = [d for d in loop.store.decisions_for(cid) if d.kind == "skip-fit"]
        assert [f.hypothesis_id for f in fits] == [open_ids[0]]
        assert skip.evidence_json["skipped"] == open_ids[1:]
        assert skip.evidence_json["fitted_first"] == open_ids[0]
        assert skip.evidence_json["time_left_s"] < 0
        assert skip.reason.startswith("time limit (10 s) reached: ")

        # A re-run of the node (a resumed campaign, now with time to spare)
        # follows its record: what was skipped stays skipped, once.
        loop.clock = Clock(time.monotonic(), before_s=0.0, limit_s=1000.0)
        loop.fit(0)
        assert len(loop.store.fits_in_iteration(loop.iteration_id(0))) == 1
        assert sum(d.kind == "skip-fit" for d in loop.store.decisions_for(cid)) == 1


def test_out_of_time_admission_and_search_are_skipped_on_the_record(records, tmp_path):
    with _copy_of(records, "measured", tmp_path) as loop:
        loop.clock = _expired()
        propose(loop, 0)
        formalize(loop, 0)
        search(loop, 0)
        cid = loop.campaign_id
        decisions = {d.id: d for d in loop.store.decisions_for(cid)}
        outcome = decisions[node_id(cid, 0, "formalize", "outcome")]
        outcomes = outcome.evidence_json["outcomes"]
        assert outcomes
        assert all(o["outcome"] == "skipped" for o in outcomes)
        assert outcome.reason.endswith(
            f"{len(outcomes)} not admitted (time limit reached)"
        )
        assert loop.store.list_hypotheses(cid) == []
        skip = decisions[node_id(cid, 0, "search")]
        assert skip.kind == "skip-search"
        assert skip.evidence_json["time_left_s"] < 0
        # No search ran: its planner call was never written.
        assert not loop.store.has_row("planner_call", node_id(cid, 0, "search"))
        # The offline planner stopped screening at once, and says where.
        (offline,) = [
            c for c in loop.store.planner_calls_for(cid) if c.planner == "offline"
        ]
        assert offline.parsed_json["time_cut"] == {"units": 0}


class _StillClock(Clock):
    """A clock whose time does not pass: the cap is then a function of `before_s` alone."""

    def elapsed_s(self) -> float:
        return self.before_s


def test_search_cap_is_the_whole_seconds_left(records, tmp_path):
    with _copy_of(records, "measured", tmp_path) as loop:
        # A 10 s limit with 7.4 s used: 2.6 s left, so a 2 s cap (pyoperon
        # counts whole seconds, and a cap is a limit). The clock stands still
        # so that a loaded machine's slow setup cannot eat the 0.6 s margin.
        loop.clock = _StillClock(time.monotonic(), before_s=7.4, limit_s=10.0)
        search(loop, 0)
        (call,) = [
            c
            for c in loop.store.planner_calls_for(loop.campaign_id)
            if c.planner.startswith("sr:")
        ]
        prompt = json.loads(call.prompt)
        assert prompt["time_cap_s"] == 2.0
        assert prompt["settings"]["max_time"] == 2


def test_a_gate_stops_at_the_clock_or_at_the_recorded_count():
    ticks = iter([False, False, True, False])
    gate = Gate(lambda: next(ticks))
    assert [gate.allow() for _ in range(4)] == [True, True, False, False]
    assert (gate.done, gate.cut) == (2, True)
    replayed = Gate(lambda: True, limit=2)  # the clock is not asked
    assert [replayed.allow() for _ in range(3)] == [True, True, False]
    never = Gate.open()
    assert all(never.allow() for _ in range(100))
    assert not never.cut


def test_a_huge_reduced_target_is_screened_without_overflow():
    z = np.linspace(0.1, 3.0, 200)
    q = 3e200 * np.exp(-1.5 * z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        (best, *_) = screen_forms(z, q)
    assert best.form == "a*exp(b*z)"
    assert best.values["a"] == pytest.approx(3e200, rel=1e-6)
    assert best.values["b"] == pytest.approx(-1.5, rel=1e-6)


def test_a_closed_gate_screens_no_form():
    z = np.linspace(0.1, 3.0, 200)
    gate = Gate(lambda: True)
    assert screen_forms(z, np.exp(-z), gate=gate) == []
    assert gate.cut
    assert gate.done == 0


@pytest.mark.slow
def test_a_campaign_cut_by_its_time_limit_replays_with_zero_mismatches(tmp_path):
    # A small evaluation budget ends each search well inside its cap, so the
    # searches are deterministic; what the clock cut is read from the record.
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    summary = start_campaign(
        _waves_config(tmp_path, time_limit=6.0, sr_max_evaluations=2000), url
    )
    cid = summary["campaign_id"]
    with storage.open_store(url) as store:
        kinds = {d.kind for d in store.decisions_for(cid)}
        reasons = [d.reason for d in store.decisions_for(cid)]
    assert "time limit (6 s) reached" in summary["stop_reason"] or any(
        "time limit (6 s) reached" in r for r in reasons
    )
    assert kinds & {"skip-fit", "skip-search"} or any(
        "not admitted (time limit" in r for r in reasons
    )
    report = replay(url, cid)
    assert report.ok, "\n".join(str(m) for m in report.mismatches[:10])


@pytest.mark.slow
def test_a_campaign_over_its_wall_clock_guard_is_killed_and_recorded(tmp_path):
    problems = tmp_path / "waves.json"
    problems.write_text(json.dumps(WAVES))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    (row,) = bench_feynman(
        problems,
        noise=0.1,
        time_limit=60,
        wall_limit=10,
        max_measurements=100_000,
        db_url=url,
    )
    # Killed at its guard, long before its 60 s, and the bench returned.
    assert row["status"] == "killed"
    assert row["stop_reason"] == "wall-clock guard (10 s)"
    assert "wall-clock guard after 10 s" in row["detail"]
    assert 10 <= row["seconds"] < 10 + 10
    assert row["overshoot_s"] == round(row["seconds"] - 60, 2)
    assert not row["recovered"]
    # Its record stays, as a campaign whose process died: resumable.
    with storage.open_store(url) as store:
        assert run_status(store.get_lease(row["campaign_id"])) == "interrupted"


@pytest.mark.slow
def test_usr1_prints_the_stacks_of_a_bench_and_its_campaign_and_stops_nothing(
    tmp_path,
):
    problems = tmp_path / "waves.json"
    problems.write_text(json.dumps(WAVES))
    out = tmp_path / "rows.json"
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "bench",
            "feynman",
            "--problems",
            str(problems),
            "--noise",
            "0.1",
            "--time-limit",
            "8",
            "--max-measurements",
            "100000",
            "--db",
            f"sqlite:///{tmp_path / 'bench.db'}",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Once the campaign writes its log, its process is running.
        deadline = time.monotonic() + 120
        while not list((tmp_path / "logs").glob("*.log")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the campaign never started"
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(signal.SIGUSR1)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    assert "passing SIGUSR1 to the campaign's process" in stderr
    # Two dumps: the bench's threads (waiting for the row), then the campaign's.
    assert "in _guarded_campaign_row" in stderr, stderr[-3000:]
    assert "in _campaign_child" in stderr, stderr[-3000:]
    (row,) = json.loads(out.read_text())
    assert row["status"] == "finished"
    assert row["overshoot_s"] == round(row["seconds"] - 8, 2)
    assert "lawloop: recovered" in stdout


def test_each_run_is_read_from_the_store_once_however_often_nodes_ask(
    records, tmp_path
):
    """The iteration's dataset is cached by run: later nodes do not re-read the arrays."""
    with _copy_of(records, "measured", tmp_path) as loop:
        reads = []
        get_arrays = loop.store.get_arrays
        loop.store.get_arrays = lambda sha: reads.append(sha) or get_arrays(sha)  # type: ignore[method-assign]
        first = loop.data(until=0)
        n_runs = len(loop.store.runs_for(loop.campaign_id))
        assert n_runs >= 1
        assert len(reads) == 2 * n_runs  # inputs and outputs of each run
        again = loop.data(until=0)
        assert len(reads) == 2 * n_runs
        assert again.shas == first.shas
        assert (again.y == first.y).all()
