"""The Feynman benchmark: each problem a full campaign, judged by the equivalence rule.

The campaign sees a blinded `core/Formula-v0`; only this harness opens the
unblinded backend to read the true formula and to compute the test-set R^2
on fresh clean points. Baseline engines (`operon`, `gplearn`) get the same
measurement budget as random inputs and one symbolic-regression search on
them, judged by the same rule.

Each campaign runs in a child process under a wall-clock guard, so that a
campaign that overruns its time limit far (it should not: every node stops
at the deadline) is killed and the bench goes on. `kill -USR1` on the bench
prints its stacks and the running campaign's on stderr, as it does for
`campaign start`; it does not stop anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import faulthandler
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import sqlalchemy as sa
from lawloop.agent.errors import ConfigError
from lawloop.agent.loop._config import CampaignConfig, load_config
from lawloop.agent.loop._control import DUMP_SIGNAL
from lawloop.agent.loop._runner import start_campaign
from lawloop.agent.planners._offline import is_angle
from lawloop.storage import StorageError, open_store
from lawloop.tools import (
    ExpressionError,
    constants_within_intervals,
    is_equivalent,
    machine_numbers,
    parse_expression,
    r2,
)

from lawloop import experiments

__all__ = ["bench_feynman", "default_wall_limit", "problem_ids"]

log = logging.getLogger(__name__)

_TEST_POINTS = 1000

_BASELINES = ("operon", "gplearn")
"""Baseline engines: one search on random inputs, no loop (`tools.sr` names)."""
_ENGINES = ("lawloop", *_BASELINES)
"""Engines `bench_feynman` runs: the full campaign and the baselines."""

_KILL_GRACE_S = 5.0
"""Seconds a campaign killed by the guard gets between SIGTERM and SIGKILL."""
_PRELOAD = [
    "lawloop.agent.audit._bench",
    "lawloop.agent.loop._graph",
    "lawloop.tools.sr",
]
"""Imported once by the fork server, so that each campaign's process starts at once."""


def default_wall_limit(time_limit: float) -> float:
    """The wall-clock guard of a campaign with this time limit: twice it plus 30 s."""
    return 2.0 * time_limit + 30.0


_GPLEARN_MAX_POINTS = 10_000
"""Most points gplearn gets; it has no time cap, so the point count is the only lever.

Measured on 2 cores with the engine's defaults (1000 programs x 20
generations): 16 s on 1,000 points and 22 s on 10,000 (3 inputs, clean),
19 s on 2,000 and 24 s on 10,000 (6 inputs, 10% noise). Per-program
overhead dominates, so subsampling below the default budget buys little;
the cap (SRBench's training-set size) guards larger `--max-measurements`.
"""


def _problems(problems_file: Path) -> list[dict[str, Any]]:
    """The problem records of a benchmark file, in file order."""
    try:
        doc = json.loads(problems_file.read_text())
        problems = [dict(p) for p in doc["problems"]]
        for p in problems:
            p["id"] = str(p["id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"Cannot read benchmark problems from `{problems_file}`: {exc}."
        raise ConfigError(msg) from exc
    return problems


def problem_ids(problems_file: Path) -> list[str]:
    """The ids of the problems in a benchmark file, in file order.

    Raises:
        ConfigError: The file cannot be read or has no `problems` list.
    """
    return [p["id"] for p in _problems(problems_file)]


def _check_engines(engines: Sequence[str]) -> list[str]:
    """The engines to run, duplicates dropped; unknown names are a `ConfigError`."""
    chosen = list(dict.fromkeys(engines))
    unknown = [e for e in chosen if e not in _ENGINES]
    if unknown or not chosen:
        close = difflib.get_close_matches(unknown[0], _ENGINES, n=1) if unknown else []
        hint = f" Did you mean `{close[0]}`?" if close else ""
        msg = (
            f"Unknown bench engine(s) {unknown or chosen}.{hint} "
            f"Choose from {list(_ENGINES)}."
        )
        raise ConfigError(msg)
    return chosen


def _verdict(
    problems_file: Path,
    problem_id: str,
    expression: str | None,
    seed: int,
    law: tuple[str, Mapping[str, Sequence[float]]] | None = None,
) -> dict[str, Any]:
    """`judge_recovery` on a problem of a benchmark file."""
    options = {"problem_file": str(problems_file), "problem_id": problem_id}
    return judge_recovery("core/Formula-v0", options, expression, seed, law=law)


def judge_recovery(
    backend_id: str,
    options: Mapping[str, str],
    expression: str | None,
    seed: int,
    *,
    law: tuple[str, Mapping[str, Sequence[float]]] | None = None,
) -> dict[str, Any]:
    """Whether `expression` is the backend's hidden law: the equivalence rule, and R^2 on fresh clean points.

    For benchmarks only: it opens the backend unblinded to read its truth.
    With `law` (the law with its constants free, and each constant's
    (value, lower, upper) at 95 %), a law the equivalence rule does not
    recover still is when its form is the truth's and the true constants
    lie in their intervals (`tools.constants_within_intervals`): under
    noise a constant is known to its interval, not to 1e-3.

    Returns:
        `recovered`, `method` and `detail` of the equivalence rule, `test_r2`.

    Raises:
        ConfigError: The backend declares no truth for its first observable.
    """
    with experiments.make(
        backend_id, options=dict(options), blind=False, device="cpu"
    ) as lab:
        names = [v.name for v in lab.inputs]
        target = lab.observables[0].name
        truths = lab.ground_truth() or {}
        if target not in truths:
            msg = f"Backend `{backend_id}` has no ground truth for `{target}`."
            raise ConfigError(msg)
        truth = parse_expression(truths[target], names)
        rng = np.random.default_rng(seed + 1_000_003)
        test = lab.sample_inputs(rng, _TEST_POINTS)
        y = lab.run_batch(test, seed=seed).columns[target]
        if expression is None:
            return {
                "recovered": False,
                "method": "none",
                "detail": "no law found",
                "test_r2": None,
            }
        try:
            found = parse_expression(expression, names)
        except ExpressionError as exc:
            return {
                "recovered": False,
                "method": "none",
                "detail": str(exc),
                "test_r2": None,
            }
        verdict = is_equivalent(found, truth, lambda n: lab.sample_inputs(rng, n))
        if not verdict.recovered and law is not None and law[1]:
            by_form = _by_intervals(law, names, truth, lab.sample_inputs(rng, 400))
            if by_form is not None and by_form.recovered:
                verdict = by_form
            elif by_form is not None:
                verdict = dataclasses.replace(
                    verdict,
                    detail=f"{verdict.detail}; by the intervals: {by_form.detail}",
                )
        import sympy  # noqa: PLC0415 - already loaded by tools; local to keep the module light

        fn = sympy.lambdify(
            [sympy.Symbol(n, real=True) for n in names],
            machine_numbers(found),
            modules="numpy",
        )
        with np.errstate(all="ignore"):
            yhat = np.broadcast_to(
                np.asarray(fn(*[test[n] for n in names]), dtype=float), y.shape
            )
        finite = bool(np.all(np.isfinite(yhat)))
        score = r2(y, yhat) if finite else None
        with np.errstate(all="ignore"):
            gap = np.abs(yhat - y)
            relative = gap / np.abs(y)
        return {
            "recovered": verdict.recovered,
            "method": verdict.method,
            "detail": verdict.detail,
            "test_r2": score,
            # How far the law is from the truth on fresh clean points, to
            # check an accepted law's stated precision against.
            "max_abs_error": float(gap.max()) if finite else None,
            "max_rel_error": float(relative.max())
            if finite and np.all(np.isfinite(relative))
            else None,
        }


def _campaign_row(
    problems_file: Path,
    pid: str,
    *,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
    tolerance: float | None,
    db_url: str,
    name: str | None = None,
    claim_precision: float | None = None,
) -> dict[str, Any]:
    """One full campaign on a problem, judged."""
    settings: dict[str, Any] = {
        "backend": "core/Formula-v0",
        "backend_options": {
            "problem_file": str(problems_file.resolve()),
            "problem_id": pid,
        },
        "noise": noise,
        "seed": seed,
        "time_limit": time_limit,
        "max_measurements": max_measurements,
        "max_iterations": 1000,
        "device": "cpu",
        "name": name or _campaign_name(pid, noise, seed),
    }
    if tolerance is not None:
        settings["tolerance"] = tolerance
    if claim_precision is not None:
        settings["claim_precision"] = claim_precision
    config = load_config(None, settings)  # validated; a bad value is a ConfigError
    started = time.perf_counter()
    try:
        summary = start_campaign(config, db_url)
    except Exception as exc:  # a failed campaign is a result; the bench goes on
        log.exception("bench %s: campaign failed", pid)
        return dict(
            _failed_row(f"campaign failed: {type(exc).__name__}: {exc}", None),
            seconds=round(time.perf_counter() - started, 2),
        )
    seconds = time.perf_counter() - started
    best = summary.get("best") or {}
    law = law_with_intervals(best)
    verdict = _verdict(problems_file, pid, best.get("expression"), seed, law=law)
    return {
        "recovered": bool(verdict["recovered"]),
        "expression": best.get("expression"),
        "seconds": round(seconds, 2),
        "measurements": summary["measurements"],
        "points_used": None,
        "test_r2": verdict["test_r2"],
        "method": verdict["method"],
        "detail": verdict["detail"],
        "campaign_id": summary["campaign_id"],
        "status": summary["status"],
        "stop_reason": summary.get("stop_reason"),
        # The law with its constants free, and their 95 % intervals: enough to
        # judge the row again by a rule that reads the intervals.
        "law": best.get("law"),
        "constants": law[1] if law else {},
        "rivals": _rival_laws(db_url, summary.get("rivals") or []),
        **claim_check(best.get("attack"), verdict),
    }


def law_with_intervals(
    best: Mapping[str, Any],
) -> tuple[str, dict[str, list[float]]] | None:
    """A summary's best law with its constants free, and each constant's [value, lower, upper] (95 %)."""
    if not best.get("law"):
        return None
    constants = {
        name: [c.get("value"), c.get("lower"), c.get("upper")]
        for name, c in (best.get("constants") or {}).items()
    }
    return str(best["law"]), constants


def claim_check(
    attack: Mapping[str, Any] | None, verdict: Mapping[str, Any]
) -> dict[str, Any]:
    """An accepted law's stated precision against its distance from the truth on fresh points.

    `holds to P (relative)` is kept when the largest relative error is at
    most P; `holds to P (of the output's RMS R)` when the largest error is
    at most P * R. (The fresh points span the declared ranges; the claim,
    the measured ones, which the attack design stretches to the same.)
    """
    if not attack or attack.get("precision") is None:
        return {"claim": None, "claim_error": None, "claim_kept": None}
    precision = float(attack["precision"])
    reference = attack.get("reference")
    if reference is None:
        error = verdict.get("max_rel_error")
    else:
        gap = verdict.get("max_abs_error")
        error = None if gap is None else gap / float(reference)
    return {
        "claim": {"precision": precision, "reference": reference},
        "claim_error": error,
        "claim_kept": None if error is None else bool(error <= precision),
    }


def _rival_laws(db_url: str, ids: Sequence[str]) -> list[str]:
    """The laws a "consistent" ending could not exclude, as text."""
    if not ids:
        return []
    with open_store(db_url) as store:
        return [store.get_hypothesis(h).expression for h in ids]


def _by_intervals(
    law: tuple[str, Mapping[str, Sequence[float]]],
    names: Sequence[str],
    truth: Any,
    sample: Mapping[str, np.ndarray],
) -> Any:
    """The interval rule's verdict, or None when the law cannot be read."""
    text, constants = law
    try:
        expr = parse_expression(text, names, list(constants))
        intervals = {
            p: (float(v[0]), float(v[1]), float(v[2]))
            for p, v in constants.items()
            if v is not None and len(v) == 3 and None not in v
        }
    except (ExpressionError, TypeError, ValueError):
        return None
    return constants_within_intervals(expr, intervals, truth, sample)


def _campaign_name(pid: str, noise: float, seed: int) -> str:
    return f"bench-{pid}-noise{noise:g}-seed{seed}-{time.time_ns()}"


def _campaign_child(
    conn: Connection, problems_file: Path, pid: str, settings: dict[str, Any]
) -> None:
    """The body of a campaign's process: run it, send the row back."""
    faulthandler.register(DUMP_SIGNAL, all_threads=True)
    try:
        row = _campaign_row(problems_file, pid, **settings)
    except BaseException as exc:  # the parent records it; the bench goes on
        row = _failed_row(f"campaign failed: {type(exc).__name__}: {exc}", None)
    with contextlib.suppress(OSError):  # the bench has stopped waiting for it
        conn.send(row)
    conn.close()


def _failed_row(detail: str, campaign_id: str | None) -> dict[str, Any]:
    return {
        "recovered": False,
        "expression": None,
        "seconds": None,
        "measurements": None,
        "points_used": None,
        "test_r2": None,
        "method": "none",
        "detail": detail[-500:],
        "campaign_id": campaign_id,
        "status": "failed",
        "stop_reason": None,
    }


def _private(db_url: str) -> bool:
    """Whether no other process can see the database (in-memory SQLite)."""
    url = sa.engine.make_url(db_url)
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    )


def _guarded_campaign_row(
    problems_file: Path,
    pid: str,
    *,
    wall_limit: float,
    dump: _DumpSignal,
    **settings: Any,
) -> dict[str, Any]:
    """`_campaign_row` in a child process, killed if it runs past `wall_limit` seconds.

    A private in-memory database cannot be shared with a child: the campaign
    then runs in this process, unguarded.
    """
    name = _campaign_name(pid, settings["noise"], settings["seed"])
    if _private(settings["db_url"]):
        return _campaign_row(problems_file, pid, name=name, **settings)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_campaign_child,
        args=(send, problems_file, pid, dict(settings, name=name)),
        name=f"lawloop-bench-{pid}",
    )
    started = time.perf_counter()
    child.start()
    send.close()
    dump.child = child.pid
    try:
        ended = receive.poll(wall_limit)  # a row, or EOF if the child died
        row = _received(receive) if ended else None
        if not ended:
            log.warning(
                "bench %s: over its %.0f s wall-clock guard; killed", pid, wall_limit
            )
            child.terminate()
            child.join(_KILL_GRACE_S)
            if child.is_alive():
                child.kill()
        child.join()
    finally:
        dump.child = None
        receive.close()
        if child.is_alive():  # interrupted while waiting: take the campaign along
            child.kill()
            child.join()
    seconds = round(time.perf_counter() - started, 2)
    if row is not None:
        return row if row["seconds"] is not None else dict(row, seconds=seconds)
    campaign_id = _campaign_id(settings["db_url"], name)
    if not ended:
        return dict(
            _failed_row(
                f"killed by the bench's wall-clock guard after {wall_limit:g} s "
                f"(time limit {settings['time_limit']:g} s)",
                campaign_id,
            ),
            seconds=seconds,
            status="killed",
            stop_reason=f"wall-clock guard ({wall_limit:g} s)",
        )
    return dict(
        _failed_row(
            f"campaign process ended without a result (exit code {child.exitcode})",
            campaign_id,
        ),
        seconds=seconds,
    )


def _received(conn: Connection) -> dict[str, Any] | None:
    """The row a campaign's process sent, or None if it died first."""
    try:
        row: dict[str, Any] = conn.recv()
    except (EOFError, OSError):
        return None
    return row


def _campaign_id(db_url: str, name: str) -> str | None:
    """The id of the campaign named `name`, if it got as far as being recorded."""
    try:
        with open_store(db_url) as store:
            return store.get_campaign(name).id
    except StorageError:
        return None


class _DumpSignal:
    """`kill -USR1` on the bench: its threads' stacks on stderr, and the running campaign's.

    The stacks of this process are printed at once (`faulthandler`, even in
    a C call); the signal is then passed on to the campaign's process, which
    prints its own. Nothing stops. Installed in the main thread only.
    """

    def __init__(self) -> None:
        self.child: int | None = None
        """The pid of the running campaign's process, if any."""
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _DumpSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(DUMP_SIGNAL, self._forward)
            faulthandler.register(DUMP_SIGNAL, all_threads=True, chain=True)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            faulthandler.unregister(DUMP_SIGNAL)
            signal.signal(DUMP_SIGNAL, self._previous)
            self._installed = False

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        child = self.child
        if child is None:
            return
        sys.stderr.write(f"bench: passing SIGUSR1 to the campaign's process {child}\n")
        sys.stderr.flush()
        with contextlib.suppress(ProcessLookupError):  # it has just ended
            os.kill(child, signum)


def _baseline_engine(name: str, lab: experiments.ExperimentBackend) -> Any:
    """The engine as a campaign would build it, so the baseline differs only in the loop."""
    from lawloop.tools.sr import DEFAULT_SYMBOLS, make_engine  # noqa: PLC0415 - loads SR packages lazily

    if name != "operon":
        return make_engine(name)
    # The same primitives and threads as the campaign's search (agent._runner).
    angles = any(is_angle(v) for v in lab.inputs)
    return make_engine(
        "operon",
        allowed_symbols=DEFAULT_SYMBOLS + (",sin,cos" if angles else ""),
        n_threads=CampaignConfig.model_fields["sr_threads"].default,
    )


def _baseline_row(
    problems_file: Path,
    pid: str,
    engine: str,
    *,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
) -> dict[str, Any]:
    """One search by a baseline engine on `max_measurements` random inputs, judged."""
    options = {"problem_file": str(problems_file.resolve()), "problem_id": pid}
    expression: str | None = None
    error: str | None = None
    points_used: int | None = None
    started = time.perf_counter()
    try:
        with experiments.make(
            "core/Formula-v0", options=options, noise=noise, device="cpu"
        ) as lab:
            names = [v.name for v in lab.inputs]
            rng = np.random.default_rng(seed)
            inputs = lab.sample_inputs(rng, max_measurements)
            y = lab.run_batch(inputs, seed=seed).columns[lab.observables[0].name]
            X = np.column_stack([inputs[n] for n in names])
            # A campaign drops non-finite measurements too (agent._data.Dataset).
            keep = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
            if engine == "gplearn" and keep.sum() > _GPLEARN_MAX_POINTS:
                chosen = rng.choice(
                    np.flatnonzero(keep), _GPLEARN_MAX_POINTS, replace=False
                )
                keep = np.zeros_like(keep)
                keep[chosen] = True
            points_used = int(keep.sum())
            max_evaluations = (
                CampaignConfig.model_fields["sr_max_evaluations"].default
                if engine == "operon"
                else None
            )
            result = _baseline_engine(engine, lab).search(
                X[keep],
                y[keep],
                variable_names=names,
                seed=seed,
                time_limit=time_limit,
                max_evaluations=max_evaluations,
            )
            expression = result.best.expression
    except Exception as exc:  # a failed baseline is a result row, not a failed bench
        log.warning("bench %s/%s failed: %s", pid, engine, exc)
        error = f"{type(exc).__name__}: {exc}"[-1500:]
    seconds = time.perf_counter() - started
    verdict = _verdict(problems_file, pid, expression, seed)
    return {
        "recovered": bool(verdict["recovered"]),
        "expression": expression,
        "seconds": round(seconds, 2),
        "measurements": max_measurements,
        "points_used": points_used,
        "test_r2": verdict["test_r2"],
        "method": verdict["method"],
        "detail": error or verdict["detail"],
        "campaign_id": None,
        "status": "failed" if error else "finished",
        "stop_reason": None,
    }


def bench_feynman(
    problems_file: Path,
    *,
    ids: Sequence[str] | None = None,
    engines: Sequence[str] = ("lawloop",),
    noise: float = 0.0,
    time_limit: float = 300.0,
    max_measurements: int = 10_000,
    seed: int = 0,
    tolerance: float | None = None,
    db_url: str,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    wall_limit: float | None = None,
    claim_precision: float | None = None,
) -> list[dict[str, Any]]:
    """Run each engine on each problem and judge each found law against the truth.

    `lawloop` runs a full campaign. A baseline (`operon`, `gplearn`) draws
    `max_measurements` random inputs from the blinded backend, measures them
    with the same noise, and runs one search with `time_limit` as its cap
    and its default evaluation budget (for `operon`, the campaign's
    `sr_max_evaluations`, primitives and threads). gplearn ignores time
    limits, so it gets at most 10,000 of the points (`points_used`).

    Args:
        problems_file: A file in the format of `benchmarks/problems/feynman_dev.json` (see its README).
        ids: Problem ids to run (default: all, in file order).
        engines: `lawloop`, `operon` or `gplearn`, run in this order on each
            problem.
        noise: Gaussian noise in RMS units.
        time_limit: Wall-clock budget per problem and engine, seconds.
        max_measurements: Measurement budget per problem and engine.
        seed: Campaign seed, also the seed of the baselines' inputs and search.
        tolerance: Relative precision to which laws must hold (None: the
            campaign default, 1e-3); campaigns only.
        claim_precision: The precision an accepted law must be shown to
            hold to (None: the campaign default, 1e-3); campaigns only.
        db_url: Where the campaigns are recorded.
        on_row: Called with each row as soon as it is judged, so a long
            bench can save its progress.
        wall_limit: Seconds after which a campaign's process is killed and
            its row recorded with status `killed` (default:
            `default_wall_limit(time_limit)`, twice the limit plus 30 s).

    Returns:
        One row per problem and engine: `id`, `engine`, `split` (from the
        file, or None), `noise`, `recovered`, `expression`, `seconds`,
        `measurements` (drawn), `points_used` (given to a baseline's search;
        None for campaigns), `test_r2`, `method`, `detail` (the verdict's, or
        a baseline's error), `campaign_id`, `status` (`failed` for a baseline
        that raised, `killed` for a campaign over its wall-clock guard),
        `stop_reason` (campaign-only fields are None for baselines), and
        `overshoot_s`: `seconds` minus `time_limit` (negative when it ended
        early).

    Raises:
        ConfigError: Unknown problem id or engine, or unreadable file.
    """
    problems = {p["id"]: p for p in _problems(problems_file)}
    chosen = list(ids) if ids else list(problems)
    unknown = [i for i in chosen if i not in problems]
    if unknown:
        msg = f"Unknown problem id(s) {unknown} in `{problems_file}`."
        raise ConfigError(msg)
    names = _check_engines(engines)
    guard = default_wall_limit(time_limit) if wall_limit is None else wall_limit
    with _DumpSignal() as dump:
        return _bench_rows(
            problems_file,
            problems,
            chosen,
            names,
            on_row=on_row,
            dump=dump,
            wall_limit=guard,
            noise=noise,
            time_limit=time_limit,
            max_measurements=max_measurements,
            seed=seed,
            tolerance=tolerance,
            claim_precision=claim_precision,
            db_url=db_url,
        )


def _bench_rows(
    problems_file: Path,
    problems: Mapping[str, Mapping[str, Any]],
    chosen: Sequence[str],
    names: Sequence[str],
    *,
    on_row: Callable[[dict[str, Any]], None] | None,
    dump: _DumpSignal,
    wall_limit: float,
    noise: float,
    time_limit: float,
    max_measurements: int,
    seed: int,
    tolerance: float | None,
    claim_precision: float | None,
    db_url: str,
) -> list[dict[str, Any]]:
    """The rows of `bench_feynman`, each passed to `on_row` as it is judged."""
    rows = []
    for pid in chosen:
        for engine in names:
            head = {
                "id": pid,
                "engine": engine,
                "split": problems[pid].get("split"),
                "noise": noise,
            }
            if engine == "lawloop":
                body = _guarded_campaign_row(
                    problems_file,
                    pid,
                    wall_limit=wall_limit,
                    dump=dump,
                    noise=noise,
                    time_limit=time_limit,
                    max_measurements=max_measurements,
                    seed=seed,
                    tolerance=tolerance,
                    claim_precision=claim_precision,
                    db_url=db_url,
                )
            else:
                body = _baseline_row(
                    problems_file,
                    pid,
                    engine,
                    noise=noise,
                    time_limit=time_limit,
                    max_measurements=max_measurements,
                    seed=seed,
                )
            seconds = body["seconds"]
            row = head | body
            row["overshoot_s"] = (
                None if seconds is None else round(seconds - time_limit, 2)
            )
            log.info("bench %s/%s: %s", pid, engine, row)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
