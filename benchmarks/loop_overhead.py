"""Where a campaign's wall time goes, and what the loop itself costs (issue 7's < 5% target).

Runs (a) the demo pendulum campaign (`core/Pendulum-v0`, default settings)
and (b) a `core/Formula-v0` campaign of about 10,000 measurements (kinetic
energy `E = m*v**2/2`, large batches), each in this process on a fresh
SQLite file, with every part of the loop timed:

* experiments: `Executor.run_chunk` (the backend's batches);
* planner: the offline planner's rules and the dimensional reductions it
  ranks (the window of its recorded `planner_call.latency_s`);
* SR: the symbolic-regression engine's `search` (and building it);
* fitting: `fit_hypothesis` (least squares, multi-start);
* agent logic: the rest of the graph nodes' own work (experiment design,
  formalizing and deduplicating proposals, judging) and the final summary;
* provenance writes and reads: every `Store` method;
* checkpoints: LangGraph's `SqliteSaver` (its writes run on LangGraph's
  background threads; with `durability="sync"` the loop waits for them);
* graph engine: LangGraph's own stepping between nodes;
* setup: opening the store (Alembic), the backend, recording the environment.

Times are exclusive (a store read inside the planner counts as a read, not
as planner time), so the rows add up to the wall time. The instrumentation
wraps functions in this process only (monkeypatching, ~1 µs a call): normal
runs carry none of it. "Loop overhead" is the wall time less experiments,
planner, SR and fitting; "bookkeeping" is the part the issue names (graph
steps, checkpoints, provenance I/O). Also reported per iteration: the
provenance writes (calls, rows written, milliseconds) and the checkpoint
writes. No progress display exists in the runner measured here.

    .venv/bin/python benchmarks/loop_overhead.py [--tiny] [--campaigns pendulum,formula]
        [--sqlite-synchronous NORMAL] [--json FILE]

prints markdown tables; `--tiny` runs both campaigns on a few dozen points
(for the test of this script, not for figures). `--sqlite-synchronous`
sets that pragma on the store's connections (SQLite's default in WAL mode,
`FULL`, syncs the file at every commit; `NORMAL` only at checkpoints) to
show what it would change.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Imported up front so that no campaign pays for the imports the loop makes lazily.
import pyoperon  # noqa: E402, F401
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402

import lawloop.tools.sr  # noqa: E402, F401
from lawloop import experiments  # noqa: E402
from lawloop.agent import CampaignConfig, start_campaign  # noqa: E402
from lawloop.agent.loop import _context, _fit_node, _graph, _runner  # noqa: E402
from lawloop.agent.planners import _offline  # noqa: E402
from lawloop.storage import (  # noqa: E402
    _engine,
    _store,
    open_store,
)

# Categories, in the order the table lists them.
SCIENCE = ("experiments", "planner", "SR", "fitting")
BOOKKEEPING = ("provenance writes", "provenance reads", "checkpoints", "graph engine")
CATEGORIES = (*SCIENCE, "agent logic", *BOOKKEEPING, "setup")

WRITES = (
    "add_campaign", "set_campaign_status", "add_iteration", "finish_iteration",
    "put_arrays", "add_run", "add_planner_call", "add_hypothesis",
    "set_hypothesis_status", "set_hypothesis_score", "add_fit", "add_decision",
    "link",
)  # fmt: skip
READS = (
    "has_row", "get_campaign", "get_hypothesis", "list_campaigns",
    "list_hypotheses", "fits_for", "fits_in_iteration", "iterations_for",
    "runs_for", "planner_calls_for", "decisions_for", "edges_for", "get_arrays",
)  # fmt: skip
NODES = ("design", "run_experiments", "propose", "formalize", "search", "fit", "decide")

# A law with units and two inputs: cheap to simulate, so 10,000 points cost little.
KINETIC = {
    "id": "kinetic",
    "formula": "m * v ** 2 / 2",
    "output": "E",
    "output_units": {"m": 2, "s": -2, "kg": 1, "T": 0, "V": 0},
    "variables": [
        {
            "name": "m", "low": 0.1, "high": 10.0, "sampling": "uniform",
            "sign": "positive", "integer": False,
            "units": {"m": 0, "s": 0, "kg": 1, "T": 0, "V": 0},
        },
        {
            "name": "v", "low": 0.1, "high": 10.0, "sampling": "uniform",
            "sign": "positive", "integer": False,
            "units": {"m": 1, "s": -1, "kg": 0, "T": 0, "V": 0},
        },
    ],
    "split": "easy",
    "units_constants": [],
    "notes": None,
}  # fmt: skip


class Profile:
    """Exclusive time per category, per thread, with the iteration it fell in."""

    def __init__(self) -> None:
        """Start empty."""
        self.exclusive: dict[str, float] = defaultdict(float)
        self.off_main: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.nodes: dict[str, float] = defaultdict(float)
        self.iteration: int | None = None
        self.writes: dict[int | None, list[float]] = defaultdict(lambda: [0, 0, 0.0])
        self.checkpoints: dict[int | None, list[float]] = defaultdict(lambda: [0, 0.0])
        self._local = threading.local()

    def _stack(self) -> list[float]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        stack: list[float] = self._local.stack
        return stack

    def timed(self, category: str, fn: Callable[..., Any], *, note: Any = None) -> Any:
        """Run `fn` and book its exclusive time to `category`; returns (result, seconds)."""
        stack = self._stack()
        stack.append(0.0)
        started = time.perf_counter()
        try:
            return fn()
        finally:
            spent = time.perf_counter() - started
            inner = stack.pop()
            self.exclusive[category] += spent - inner
            self.calls[category] += 1
            if threading.current_thread() is not threading.main_thread():
                self.off_main[category] += spent - inner
            if stack:
                stack[-1] += spent
            if category == "provenance writes":
                row = self.writes[self.iteration]
                row[0] += 1
                row[1] += note() is True if callable(note) else 0
                row[2] += spent
            elif category == "checkpoints" and note == "write":
                cp = self.checkpoints[self.iteration]
                cp[0] += 1
                cp[1] += spent


PROFILE = Profile()
"""The profile of the campaign running now; `measure` replaces it per campaign."""


def _wrap(owner: Any, name: str, category: str, *, note: str | None = None) -> None:
    """Replace `owner.name` by a version that books its time to `category`."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result: list[Any] = [None]

        def call() -> Any:
            result[0] = original(*args, **kwargs)
            return result[0]

        if category == "provenance writes":
            return PROFILE.timed(category, call, note=lambda: result[0])
        return PROFILE.timed(category, call, note=note)

    setattr(owner, name, wrapper)


def _wrap_node(module: Any, name: str) -> None:
    """A graph node: its own time is agent logic; it also marks the iteration."""
    original = getattr(module, name)

    @functools.wraps(original)  # keeps the signature LangGraph reads for `runtime`
    def node(state: Any, runtime: Any) -> Any:
        PROFILE.iteration = int(state["iteration"])
        started = time.perf_counter()
        try:
            return PROFILE.timed("agent logic", lambda: original(state, runtime))
        finally:
            PROFILE.nodes[name] += time.perf_counter() - started

    setattr(module, name, node)


class _TimedEngine:
    """An SR engine whose `search` is booked to SR."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return PROFILE.timed("SR", lambda: self._engine.search(*args, **kwargs))


def instrument() -> None:
    """Patch the loop's parts once; each call books to the current `PROFILE`."""
    for name in WRITES:
        _wrap(_store.Store, name, "provenance writes")
    for name in READS:
        _wrap(_store.Store, name, "provenance reads")
    _wrap(experiments.Executor, "run_chunk", "experiments")
    _wrap(_offline.OfflinePlanner, "propose", "planner")
    _wrap(_context, "find_reductions", "planner")
    _wrap(_fit_node, "fit_hypothesis", "fitting")
    for name in ("put", "put_writes"):
        _wrap(SqliteSaver, name, "checkpoints", note="write")
    for name in ("get_tuple", "list"):
        _wrap(SqliteSaver, name, "checkpoints")
    for name in NODES:
        _wrap_node(_graph, name)
    _wrap(_runner, "_run", "graph engine")
    _wrap(_runner, "_finish", "agent logic")
    factory = _runner.regressor_factory

    def regressor_factory(config: Any, backend: Any) -> Callable[[], Any]:
        make = factory(config, backend)
        return lambda: _TimedEngine(PROFILE.timed("SR", make))

    _runner.regressor_factory = regressor_factory  # type: ignore[assignment]


def warm_up(workdir: Path) -> None:
    """Create a store once (Alembic loads its scripts), so the first campaign does not pay for it."""
    open_store(f"sqlite:///{workdir / 'warm-up.db'}").close()


def set_synchronous(mode: str) -> None:
    """Add `PRAGMA synchronous=mode` to the pragmas every store connection gets."""
    pragmas = _engine._sqlite_pragmas

    def with_synchronous(dbapi_connection: Any, connection_record: Any) -> None:
        pragmas(dbapi_connection, connection_record)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA synchronous={mode}")
        finally:
            cursor.close()

    _engine._sqlite_pragmas = with_synchronous


def configs(tiny: bool, workdir: Path) -> dict[str, dict[str, Any]]:
    """The campaigns: the demo pendulum and a 10,000-point formula campaign."""
    problems = workdir / "kinetic.json"
    problems.write_text(json.dumps({"problems": [KINETIC]}))
    formula = {
        "backend": "core/Formula-v0",
        "backend_options": {"problem_file": str(problems), "problem_id": "kinetic"},
        "seed": 1,
        "initial_points": 6000,
        "batch_points": 4000,
        "max_measurements": 10_000,
        "max_iterations": 6,
    }
    pendulum: dict[str, Any] = {"backend": "core/Pendulum-v0", "seed": 1}
    if tiny:
        small = {
            "initial_points": 16,
            "batch_points": 8,
            "replicates": 2,
            "max_iterations": 2,
            "sr_max_evaluations": 2000,
        }
        pendulum.update(small, max_iterations=1)
        formula.update(small, max_measurements=60)
    return {"pendulum": pendulum, "formula": formula}


def measure(label: str, values: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one campaign under a fresh profile; its time by category and per iteration."""
    global PROFILE
    url = f"sqlite:///{workdir / label}.db"
    PROFILE = Profile()
    config = CampaignConfig(**values)
    started = time.perf_counter()
    summary = PROFILE.timed("setup", lambda: start_campaign(config, url))
    wall = time.perf_counter() - started
    p = PROFILE
    seconds = {c: p.exclusive.get(c, 0.0) for c in CATEGORIES}
    # Checkpoint writes run on LangGraph's threads while the main thread
    # waits inside the graph engine: book that wait once, to checkpoints.
    waited = min(p.off_main.get("checkpoints", 0.0), seconds["graph engine"])
    seconds["graph engine"] -= waited
    with open_store(url) as store:
        cid = summary["campaign_id"]
        calls = store.planner_calls_for(cid)
        recorded = {
            "experiments": sum(r.duration_s for r in store.runs_for(cid)),
            "planner": sum(
                c.latency_s for c in calls if not c.planner.startswith("sr:")
            ),
            "SR": sum(c.latency_s for c in calls if c.planner.startswith("sr:")),
        }
    iterations = sorted(k for k in p.writes if k is not None)
    per_iteration = [
        {
            "iteration": k,
            "write_calls": int(p.writes[k][0]),
            "rows_written": int(p.writes[k][1]),
            "write_ms": 1000 * p.writes[k][2],
            "checkpoint_writes": int(p.checkpoints[k][0]),
            "checkpoint_ms": 1000 * p.checkpoints[k][1],
        }
        for k in iterations
    ]
    overhead = wall - sum(seconds[c] for c in SCIENCE)
    return {
        "campaign": label,
        "backend": values["backend"],
        "wall_s": wall,
        "iterations": summary["iterations"],
        "measurements": summary["measurements"],
        "stop": summary.get("stop_reason"),
        "law": (summary.get("best") or {}).get("expression"),
        "seconds": seconds,
        "calls": dict(p.calls),
        "recorded": recorded,
        "nodes": dict(p.nodes),
        "unaccounted_s": wall - sum(seconds.values()),
        "overhead_s": overhead,
        "overhead_pct": 100 * overhead / wall,
        "bookkeeping_pct": 100 * sum(seconds[c] for c in BOOKKEEPING) / wall,
        "per_iteration": per_iteration,
    }


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows) if rows else 0.0


def print_tables(results: list[dict[str, Any]]) -> None:
    """Markdown: time by category per campaign, then per-iteration write costs."""
    print(f"CPU: {os.cpu_count()} cores; python {sys.version.split()[0]}\n")
    head = " | ".join(f"{r['campaign']} s | %" for r in results)
    print(f"| part | {head} |")
    print("|---|" + "---|---|" * len(results))
    for c in CATEGORIES:
        cells = " | ".join(
            f"{r['seconds'][c]:.3f} | {100 * r['seconds'][c] / r['wall_s']:.1f}"
            for r in results
        )
        print(f"| {c} | {cells} |")
    cells = " | ".join(f"{r['wall_s']:.2f} | 100" for r in results)
    print(f"| **wall** | {cells} |")
    cells = " | ".join(
        f"**{r['overhead_s']:.2f}** | **{r['overhead_pct']:.1f}**" for r in results
    )
    print(f"| **loop overhead** (wall - experiments, planner, SR, fitting) | {cells} |")
    cells = " | ".join(
        f"{r['overhead_s'] - r['seconds']['setup']:.2f} | "
        f"{100 * (r['overhead_s'] - r['seconds']['setup']) / r['wall_s']:.1f}"
        for r in results
    )
    print(f"| loop overhead without the one-time setup | {cells} |")
    cells = " | ".join(
        f"{r['bookkeeping_pct'] * r['wall_s'] / 100:.3f} | {r['bookkeeping_pct']:.1f}"
        for r in results
    )
    print(f"| bookkeeping (writes, reads, checkpoints, graph) | {cells} |")
    print()
    for r in results:
        rec = r["recorded"]
        print(
            f"- {r['campaign']} ({r['backend']}): {r['iterations']} iterations, "
            f"{r['measurements']} measurements, stop: {r['stop']}, law `{r['law']}`; "
            f"recorded experiment time {rec['experiments']:.3f} s, planner latency "
            f"{rec['planner']:.3f} s, SR latency {rec['SR']:.3f} s; "
            f"unaccounted {r['unaccounted_s'] * 1000:.1f} ms"
        )
        nodes = ", ".join(f"{n} {s:.2f}" for n, s in r["nodes"].items())
        print(f"  - node wall times (s, inclusive): {nodes}")
    print()
    print(
        "| campaign | iterations | write calls / iteration | rows written / iteration "
        "| provenance write ms / iteration | ms / write call "
        "| checkpoint writes / iteration | checkpoint ms / iteration |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        rows = r["per_iteration"]
        calls = sum(x["write_calls"] for x in rows)
        ms = sum(x["write_ms"] for x in rows)
        print(
            f"| {r['campaign']} | {len(rows)} | {_median(rows, 'write_calls'):.0f} "
            f"| {_median(rows, 'rows_written'):.0f} | {_median(rows, 'write_ms'):.1f} "
            f"| {ms / max(calls, 1):.2f} | {_median(rows, 'checkpoint_writes'):.0f} "
            f"| {_median(rows, 'checkpoint_ms'):.1f} |"
        )
    print("\n(per-iteration figures are medians over the campaign's iterations)")


def main() -> None:
    """Run the chosen campaigns and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="A few dozen points each.")
    parser.add_argument("--campaigns", default="pendulum,formula")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("OFF", "NORMAL", "FULL", "EXTRA"),
        help="Set this SQLite pragma on the store (default: the store's own setting).",
    )
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    if args.sqlite_synchronous:
        set_synchronous(args.sqlite_synchronous)
    chosen = [c.strip() for c in args.campaigns.split(",") if c.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        warm_up(workdir)
        instrument()
        known = configs(args.tiny, workdir)
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            parser.error(f"unknown campaign(s) {unknown}; choose from {sorted(known)}")
        results = [measure(c, known[c], workdir) for c in chosen]
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
