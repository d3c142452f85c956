"""Replay a recorded campaign offline and compare every result with the record.

`replay` re-executes a campaign's recorded iterations from what the record
holds: the frozen configuration (`campaign.config_json`), the campaign seed
(every node's seed derives from it) and, for an LLM planner, the recorded
replies (no network). It runs into a fresh SQLite database under the
*recorded campaign's own id*, so that every row gets the id it has in the
record, then compares the two records with `compare_records` (see
`agent._replay_compare` for what is compared and what is not).

The recorded database is only read: a SQLite file through a snapshot
(SQLite's backup API over a `mode=ro` connection, consistent even while a
campaign writes), a server database with plain queries and no schema
upgrade. A restricted replay (`iteration=N`) re-executes iterations `0..N`
(each depends on the ones before) and compares only the rows of iteration `N`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy as sa

from lawloop.agent._clock import Gate
from lawloop.agent._ids import node_id
from lawloop.agent.audit._compare import (
    check_iteration,
    compare_records,
    finished_iterations,
)
from lawloop.agent.audit._replay_report import ReplayReport
from lawloop.agent.errors import ConfigError
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.loop._environment import code_version, environment
from lawloop.agent.loop._nodes import Loop
from lawloop.agent.loop._runner import _initial_state, _run
from lawloop.agent.loop._wiring import (
    describe_backend,
    llm_planner,
    make_backend,
    regressor_factory,
)
from lawloop.agent.planners._llm_planner import MAX_EXCHANGES
from lawloop.agent.record import (
    FormalizeEvidence,
    SkipEvidence,
    SkipFitEvidence,
    decision_evidence,
)
from lawloop.storage import (
    CampaignRecord,
    DecisionRecord,
    PlannerCallRecord,
    Store,
    make_engine,
    open_store,
)

__all__ = ["replay"]

log = logging.getLogger(__name__)

_REPLAY_DB = "replay.sqlite"


def replay(
    db_url: str,
    campaign: str,
    *,
    iteration: int | None = None,
    keep: Path | None = None,
    device: str | None = None,
) -> ReplayReport:
    """Re-execute a recorded campaign offline and compare the result with the record.

    Args:
        db_url: SQLAlchemy URL of the recorded database; only read.
        campaign: Campaign id, unique id prefix, or name.
        iteration: Compare only this iteration (iterations `0..N` are re-executed).
        keep: A directory to keep the replay database in (`replay.sqlite`), to
            inspect it with `--db`; by default it lives in a temporary directory.
        device: Simulate on this device instead of the recorded one.

    Returns:
        The report; `report.ok` when the replay matches the record.

    Raises:
        ConfigError: The database cannot be replayed from (in memory, no file),
            `keep` holds a replay already, or the recorded config no longer validates.
        CampaignStateError: No finished iteration to replay, or `iteration` is not one.
        StorageError: No such campaign (`NotFoundError`, `AmbiguousIdError`).
    """
    with (
        tempfile.TemporaryDirectory(prefix="lawloop-replay-") as tmp,
        _open_recorded(db_url, Path(tmp)) as recorded,
    ):
        c = recorded.get_campaign(campaign)
        finished = finished_iterations(recorded, c.id)
        check_iteration(c.id, finished, iteration)
        last = max(finished) if iteration is None else iteration
        target = _replay_dir(keep) if keep is not None else Path(tmp)
        url = f"sqlite:///{target / _REPLAY_DB}"
        notes = _execute(recorded, c, last, url, device=device)
        with open_store(url) as replayed:
            report = compare_records(recorded, replayed, c.id, iteration=iteration)
        return replace(
            report,
            notes=(*notes, *report.notes),
            replay_db=url if keep is not None else None,
        )


# -- executing -------------------------------------------------------------------


@dataclass
class _ReplayLoop(Loop):
    """The campaign's loop, stopped after iteration `last` whatever it decides.

    The stop is imposed after the decision is recorded, so the recorded rows of
    the last iteration are those of an unstopped run (a lower `max_iterations`
    would have changed them).

    Where the recorded run cut work for its time limit (a stop, a skipped
    search, LLM turn or fit, unadmitted proposals, screens stopped part-way,
    a search's cap), the replay cuts the same work, read from the record:
    its own clock decides nothing.
    """

    last: int = 0
    recorded: Store | None = None
    """The recorded campaign's store (read only)."""
    _decisions: dict[str, DecisionRecord] | None = field(default=None, repr=False)
    _calls: dict[str, PlannerCallRecord] | None = field(default=None, repr=False)

    def decide(self, k: int, elapsed_s: float) -> tuple[bool, str]:
        """Decide as the campaign does, then stop after the last replayed iteration."""
        done, reason = super().decide(k, self._recorded_elapsed(k, elapsed_s))
        if not done and k >= self.last:
            return True, f"replay stopped after iteration {k}"
        return done, reason

    def time_left(self, k: int, step: str) -> float | None:
        """The time the record had left where it cut work, or the cap its search had."""
        if self.recorded is None or self.config.time_limit is None:
            return None
        node = {"search": "search", "fit": "skip-fit", "llm": "skip-llm"}.get(step)
        decision = self._decision(node_id(self.campaign_id, k, node)) if node else None
        ev = (
            decision_evidence(decision.kind, decision.evidence_json)
            if decision
            else None
        )
        if isinstance(ev, SkipFitEvidence | SkipEvidence) and (
            "time_left_s" in ev.model_fields_set
        ):
            left = ev.time_left_s
            return None if left is None else float(left)
        if step == "search":
            call = self._call(node_id(self.campaign_id, k, "search"))
            cap = json.loads(call.prompt).get("time_cap_s") if call else None
            return None if cap is None else float(cap)
        return None

    def time_cut(self, k: int, step: str) -> bool:
        """Whether the record left `step` of iteration `k` undone for time."""
        if self.recorded is None or self.config.time_limit is None:
            return False
        kind, _, index = step.partition(" ")
        if kind == "fit":
            d = self._decision(node_id(self.campaign_id, k, "skip-fit"))
            return (
                d is not None and index in SkipFitEvidence.read(d.evidence_json).skipped
            )
        if kind in ("formalize", "search") and index:
            d = self._decision(node_id(self.campaign_id, k, kind, "outcome"))
            outcomes = FormalizeEvidence.read(d.evidence_json).outcomes if d else []
            i = int(index)
            return i < len(outcomes) and outcomes[i].outcome == "skipped"
        return super().time_cut(k, step)

    def deadline(self, k: int, step: str) -> float | None:
        """None: a replay stops no fit on its clock (the record says which were skipped)."""
        del k, step
        return None

    def work_gate(self, k: int, step: str) -> Gate:
        """A gate that lets through as many units as the record ran (all, if it was not cut)."""
        call = self._call(node_id(self.campaign_id, k, step))
        cut = (call.parsed_json or {}).get("time_cut") if call else None
        return Gate(lambda: False, limit=int(cut["units"]) if cut else None)

    def _recorded_elapsed(self, k: int, elapsed_s: float) -> float:
        """The time limit where the record stopped on it, else no time spent."""
        limit = self.config.time_limit
        if self.recorded is None or limit is None:
            return elapsed_s
        decision = self._decision(node_id(self.campaign_id, k, "decide"))
        stopped = (
            decision is not None and f"time limit ({limit:g} s)" in decision.reason
        )
        return limit if stopped else 0.0

    def _decision(self, decision_id: str) -> DecisionRecord | None:
        if self._decisions is None:
            assert self.recorded is not None
            self._decisions = {
                d.id: d for d in self.recorded.decisions_for(self.campaign_id)
            }
        return self._decisions.get(decision_id)

    def _call(self, call_id: str) -> PlannerCallRecord | None:
        if self._calls is None:
            assert self.recorded is not None
            self._calls = {
                c.id: c for c in self.recorded.planner_calls_for(self.campaign_id)
            }
        return self._calls.get(call_id)


def _execute(
    recorded: Store, c: CampaignRecord, last: int, url: str, *, device: str | None
) -> list[str]:
    """Run iterations `0..last` of campaign `c` into the database at `url`; returns notes."""
    try:
        config = CampaignConfig(**c.config_json)
    except pydantic.ValidationError as exc:
        msg = (
            f"The recorded config of campaign `{c.id}` no longer validates, so it "
            f"cannot be replayed with this code: {exc}"
        )
        raise ConfigError(msg) from exc
    notes = _context_notes(c, config)
    recorded_device = str(c.environment_json.get("device") or "")
    run_device = device or config.device or recorded_device or None
    if run_device and recorded_device and run_device != recorded_device:
        notes.append(
            f"Simulated on `{run_device}`; the record ran on `{recorded_device}`."
        )
    if run_device and run_device.startswith("cuda") and not _cuda_available():
        msg = (
            f"Campaign `{c.id}` ran on `{run_device}`, which this machine lacks; "
            "replay it with `--device cpu` (its results may then differ)."
        )
        raise ConfigError(msg)
    source = str(uuid.uuid5(uuid.UUID(c.id), "replay/llm-replies"))
    update: dict[str, Any] = {"device": run_device}
    if config.planner == "llm":
        update["llm_replay_from"] = source
    config, llm = llm_planner(config.model_copy(update=update), check=False)
    backend = make_backend(config)
    store = open_store(url)
    try:
        if llm is not None:
            _copy_llm_replies(recorded, store, c, source)
        env = environment(str(backend.device))
        env["backend"] = describe_backend(backend)
        store.add_campaign(
            c.id,
            name=c.name,
            backend_id=str(backend.id),
            planner=llm.name if llm else config.planner,
            seed=config.seed,
            config=c.config_json,
            code_version=code_version(),
            environment=env,
        )
        log.info("replaying campaign %s through iteration %d", c.id, last)
        loop = _ReplayLoop(
            store,
            backend,
            config,
            c.id,
            regressor_factory(config, backend),
            llm,
            last=last,
            recorded=recorded,
        )
        _run(store, url, loop, _initial_state(c.id))
    finally:
        backend.close()
        store.close()
        if llm is not None:
            llm.close()
    return notes


def _cuda_available() -> bool:
    """Whether torch sees a GPU (False without torch)."""
    try:
        import torch  # noqa: PLC0415 - heavy; only for campaigns recorded on a GPU
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _copy_llm_replies(
    recorded: Store, store: Store, c: CampaignRecord, source: str
) -> None:
    """Put the recorded LLM exchanges where `llm_replay_from` finds them, under `source`.

    Only transport errors go along: the record also writes `unusable reply: ...`
    into `error`, and a reused reply with an error would be taken for a
    transport failure, skipping the parse and the repair the record made.
    """
    store.add_campaign(
        source,
        name=f"recorded LLM replies of {c.id}",
        backend_id=c.backend_id,
        planner=c.planner,
        seed=c.seed,
        config={},
        code_version="",
        environment={},
    )
    calls = {
        call.id: call
        for call in recorded.planner_calls_for(c.id)
        if call.planner.startswith("llm:")
    }
    for it in recorded.iterations_for(c.id):
        for j in range(MAX_EXCHANGES):
            call = calls.get(node_id(c.id, it.index, "llm", j))
            if call is None:
                continue
            parsed = dict(call.parsed_json or {})
            store.add_planner_call(
                node_id(source, it.index, "llm", j),
                campaign_id=source,
                iteration_id=None,
                planner=call.planner,
                template_name=call.template_name,
                template_sha256=call.template_sha256,
                prompt=call.prompt,
                reply=call.reply,
                parsed=parsed,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                error=None if "reply_error" in parsed else call.error,
            )


def _context_notes(c: CampaignRecord, config: CampaignConfig) -> list[str]:
    """What differs between the recorded run's setting and this one (not mismatches)."""
    notes = []
    now = code_version()
    if now != c.code_version:
        notes.append(f"Recorded with code `{c.code_version}`; replayed with `{now}`.")
    env = environment(str(c.environment_json.get("device", "cpu")))
    for key in ("python", "platform", "machine"):
        if env.get(key) != c.environment_json.get(key):
            notes.append(
                f"Recorded on {key} `{c.environment_json.get(key)}`; replayed on `{env.get(key)}`."
            )
    before = c.environment_json.get("packages") or {}
    changed = [
        f"{p} {before.get(p)} -> {v}"
        for p, v in env["packages"].items()
        if p in before and before.get(p) != v
    ]
    if changed:
        notes.append(f"Package versions differ: {', '.join(changed)}.")
    added = sorted(set(config.model_dump(mode="json")) - set(c.config_json))
    if added:
        notes.append(
            f"Settings not on the record take their current defaults: {', '.join(added)}."
        )
    if config.time_limit is not None:
        notes.append(
            f"The campaign has a time limit ({config.time_limit:g} s): the replay "
            "cuts the work the record cut for time (its stop, skipped searches and "
            "fits, search caps), but a search that its cap stopped may end elsewhere."
        )
    return notes


# -- reading the record ----------------------------------------------------------


@contextmanager
def _open_recorded(db_url: str, tmp: Path) -> Iterator[Store]:
    """The recorded store, opened so that nothing can write to the recorded database.

    A SQLite file is copied with the backup API over a `mode=ro` connection (a
    consistent snapshot even while a campaign writes) and the copy is opened;
    a server database is opened without a schema upgrade and only read.
    """
    url = sa.make_url(db_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite":
        store = Store(make_engine(url))
    else:
        if database in ("", ":memory:") or url.query:
            msg = (
                f"Cannot replay from `{db_url}`: give the URL of a SQLite file, "
                "e.g. `sqlite:///lawloop.db` (an in-memory database is gone with its process)."
            )
            raise ConfigError(msg)
        path = Path(database).resolve()
        if not path.is_file():
            msg = f"No database file at `{path}`; check `--db` (a URL such as `sqlite:///lawloop.db`)."
            raise ConfigError(msg)
        copy = tmp / "recorded.sqlite"
        source = sqlite3.connect(
            f"file:{urllib.parse.quote(str(path))}?mode=ro", uri=True, timeout=30
        )
        try:
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        store = open_store(f"sqlite:///{copy}")
    try:
        yield store
    finally:
        store.close()


def _replay_dir(keep: Path) -> Path:
    """`keep`, created if needed; refused if it holds a replay database already."""
    keep = keep.resolve()
    keep.mkdir(parents=True, exist_ok=True)
    if (keep / _REPLAY_DB).exists():
        msg = f"`{keep}` holds a replay already (`{_REPLAY_DB}`); give a new or empty directory."
        raise ConfigError(msg)
    return keep
