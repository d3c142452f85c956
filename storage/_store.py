"""`Store`: the provenance API, primitives in and frozen records out.

One writer per database file is the intended use on SQLite (the campaign
runner); readers (the CLI) may run alongside thanks to WAL. On PostgreSQL
several campaigns may write one database at once (see `storage._postgres`).
Each method is one short transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from types import TracebackType
from typing import Any, ClassVar, TypeVar, cast

import numpy as np
import sqlalchemy as sa
from lawloop.storage import _chain, _dump, _lease, _postgres
from lawloop.storage._arrays import NPZ_MEDIA_TYPE, decode_arrays, encode_arrays
from lawloop.storage._models import (
    MODELS,
    Artifact,
    Base,
    Campaign,
    CampaignStatus,
    Decision,
    EntityKind,
    ExperimentRun,
    Hypothesis,
    HypothesisStatus,
    Iteration,
    LineageEdge,
    ModelFit,
    PlannerCall,
    Relation,
    StatusChange,
    now_utc,
)
from lawloop.storage._records import (
    CampaignRecord,
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    IterationRecord,
    LeaseRecord,
    PlannerCallRecord,
    RunRecord,
    to_record,
)
from lawloop.storage.errors import (
    AmbiguousIdError,
    IntegrityError,
    InvalidValueError,
    NotFoundError,
)
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["EDGE_NAMESPACE", "STATUS_NAMESPACE", "Store"]

E = TypeVar("E", bound=StrEnum)
R = TypeVar("R")

EDGE_NAMESPACE = uuid.UUID("6d1c7a53-0b8e-4e0f-9a41-5f3b2c9e7d10")
"""Namespace of lineage edge ids: uuid5(EDGE_NAMESPACE, "source|target|relation")."""

STATUS_NAMESPACE = _chain.STATUS_NAMESPACE

_INT64 = (-(2**63), 2**63 - 1)
_UNSET: Any = _lease.UNSET  # "leave progress as it is"; `None` clears it


def _enum_value(enum: type[E], value: str, what: str) -> E:
    """Convert `value` to `enum`, or raise naming the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(f"`{m.value}`" for m in enum)
        msg = f"Unknown {what} `{value}`; expected one of {allowed}."
        raise InvalidValueError(msg) from None


def _check_int64(value: int, what: str) -> int:
    """Return `value` as `int` if it fits a signed 64-bit column."""
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        msg = f"`{what}` = {value} does not fit a signed 64-bit integer; use e.g. a 32-bit seed."
        raise InvalidValueError(msg)
    return value


class Store:
    """The provenance database: insert-if-absent writes, frozen reads.

    Every `add_*` takes the row's id from the caller and writes nothing if a
    row with that id exists (so a node re-run after a crash writes nothing
    twice); it returns whether it wrote. Rows never change afterwards, except
    through `set_campaign_status`, `finish_iteration`,
    `set_hypothesis_status` and the live run's lease methods
    (`acquire_lease`, `renew_lease`, `release_lease`, `request_stop`). Queries return frozen dataclasses, never live
    ORM objects. Open one with `storage.open_store`.

    Example:
        >>> with open_store("sqlite:///lawloop.db") as store:
        ...     sha = store.put_arrays({"x": np.arange(3.0)})
        ...     store.get_arrays(sha)["x"]
        array([0., 1., 2.])
    """

    DEFAULT_DUMP_DROP: ClassVar[tuple[str, ...]] = _dump.DEFAULT_DROP
    """Columns `dump_campaign` leaves out by default: `name` and clock readings."""

    def __init__(self, engine: sa.Engine) -> None:
        """Wrap an engine whose schema is at the latest revision.

        Args:
            engine: From `storage.make_engine`, already upgraded.
        """
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Concurrent writers need other insert semantics there; see `storage._postgres`.
        self._postgres = engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    # -- plumbing -----------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A session in one transaction; refused writes become `IntegrityError` or `InvalidValueError`."""
        try:
            with self._sessions.begin() as session:
                yield session
        except sa.exc.IntegrityError as error:
            kind = _postgres.constraint_kind(error)
            reason = str(error.orig).strip().rstrip(".")  # PostgreSQL's end in "."
            refused = f"{kind} constraint: {reason}" if kind else reason
            msg = f"The database refused the write: {refused}. Check the ids and foreign keys passed."
            raise IntegrityError(msg) from error
        except sa.exc.DataError as error:
            # Only a server database checks lengths and ranges (SQLite stores
            # a 300-character name in a VARCHAR(200) column as given).
            reason = str(error.orig).strip().rstrip(".")
            msg = f"The database refused a value: {reason}. Shorten or correct it."
            raise InvalidValueError(msg) from error

    def _insert(self, model: type[Base], key: str, values: dict[str, Any]) -> bool:
        """Insert a `model` row of `values` (columns) unless primary key `key` exists."""
        with self._transaction() as session:
            return self._insert_in(session, model, key, values)

    def _insert_in(
        self, session: Session, model: type[Base], key: str, values: dict[str, Any]
    ) -> bool:
        """`_insert` within `session`'s transaction; a written row joins its campaign's chain."""
        if session.get(model, key) is not None:
            return False
        table = cast(sa.Table, model.__table__)
        if self._postgres:
            wrote = _postgres.insert_if_absent(session, table, values)
        else:
            wrote = _insert_if_absent_sqlite(session, table, values)
        if wrote and model in _chain.CHAINED:
            campaign_id = key if model is Campaign else values["campaign_id"]
            _chain.append(session, table, key, campaign_id, postgres=self._postgres)
        return wrote

    def _change_status(
        self,
        session: Session,
        row: Hypothesis,
        status: HypothesisStatus,
        decision_id: str | None,
    ) -> None:
        """Set `row.status`, recording the change (chained) when it is one."""
        if row.status == status:
            return  # a node re-run after a crash sets what it set before
        count = session.execute(
            sa.select(sa.func.count()).where(StatusChange.hypothesis_id == row.id)
        ).scalar_one()
        change_id = str(uuid.uuid5(STATUS_NAMESPACE, f"{row.id}|{count}"))
        self._insert_in(
            session,
            StatusChange,
            change_id,
            dict(
                id=change_id,
                campaign_id=row.campaign_id,
                hypothesis_id=row.id,
                decision_id=decision_id,
                status=status,
            ),
        )
        row.status = status

    def _get(self, session: Session, model: type[Base], key: str, what: str) -> Any:
        """The row with primary key `key`, or `NotFoundError`."""
        row = session.get(model, key)
        if row is None:
            msg = f"No {what} with id `{key}`."
            raise NotFoundError(msg)
        return row

    def _resolve(
        self, session: Session, model: type[Base], id_or_prefix: str, what: str
    ) -> Any:
        """The row whose id is or starts with `id_or_prefix`."""
        if not id_or_prefix:
            msg = f"Empty {what} id; pass an id or a unique prefix of one."
            raise InvalidValueError(msg)
        row = session.get(model, id_or_prefix)
        if row is not None:
            return row
        column = model.__table__.c.id
        escaped = (
            id_or_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        rows: list[Any] = list(
            session.scalars(
                sa.select(model)
                .where(column.like(f"{escaped}%", escape="\\"))
                .order_by(column)
                .limit(11)
            )
        )
        if len(rows) == 1:
            return rows[0]
        if rows:
            shown = ", ".join(f"`{r.id}`" for r in rows[:10])
            more = " and more" if len(rows) > 10 else ""
            msg = f"{what.capitalize()} id prefix `{id_or_prefix}` is ambiguous: it matches {shown}{more}. Give more characters."
            raise AmbiguousIdError(msg)
        if model is Campaign:
            row = session.scalars(
                sa.select(Campaign).where(Campaign.name == id_or_prefix)
            ).first()
            if row is not None:
                return row
        msg = f"No {what} has an id starting with `{id_or_prefix}`."
        raise NotFoundError(msg)

    def _select(self, cls: type[R], statement: sa.Select[Any]) -> list[R]:
        """Run `statement` and copy each row into the record class `cls`."""
        with self._sessions() as session:
            return [to_record(cls, row) for row in session.scalars(statement)]

    # -- campaigns and iterations -------------------------------------------

    def add_campaign(
        self,
        id: str,
        *,
        name: str,
        backend_id: str,
        planner: str,
        seed: int,
        config: Mapping[str, Any],
        code_version: str,
        environment: Mapping[str, Any],
        status: str = "created",
    ) -> bool:
        """Record a campaign (insert-if-absent).

        Args:
            id: The campaign id (a UUID string).
            name: Unique human name.
            backend_id: Full versioned backend id, e.g. `core/DampedOscillator-v0`.
            planner: Planner name, e.g. `offline` or `llm:openai/gpt-4o`.
            seed: The campaign seed (signed 64-bit).
            config: The resolved configuration, JSON-serializable; frozen.
            code_version: Git commit and dirty flag, e.g. `3f2a9c1+dirty`.
            environment: Python and package versions, device.
            status: Initial `CampaignStatus` value.

        Returns:
            Whether a row was written (`False`: the id existed).

        Raises:
            InvalidValueError: Unknown status or out-of-range seed.
            IntegrityError: Another campaign has this name.
        """
        return self._insert(
            Campaign,
            id,
            dict(
                id=id,
                name=name,
                backend_id=backend_id,
                planner=planner,
                seed=_check_int64(seed, "seed"),
                status=_enum_value(CampaignStatus, status, "campaign status"),
                config_json=dict(config),
                code_version=code_version,
                environment_json=dict(environment),
            ),
        )

    def set_campaign_status(
        self, id: str, status: str, *, result: Any = None, finished: bool = False
    ) -> None:
        """Update a campaign's status, and optionally its result and finish time.

        Args:
            id: The campaign id (exact).
            status: A `CampaignStatus` value.
            result: Final summary (JSON-serializable); `None` leaves it as is.
            finished: Set `finished_at` to now, unless it is already set.

        Raises:
            NotFoundError: No such campaign.
            InvalidValueError: Unknown status.
        """
        value = _enum_value(CampaignStatus, status, "campaign status")
        with self._transaction() as session:
            row = self._get(session, Campaign, id, "campaign")
            row.status = value
            if result is not None:
                row.result_json = result
            if finished and row.finished_at is None:
                row.finished_at = now_utc()

    def add_iteration(
        self, id: str, *, campaign_id: str, index: int, seeds: Mapping[str, Any]
    ) -> bool:
        """Record the start of an iteration (insert-if-absent).

        Args:
            id: The iteration id.
            campaign_id: Its campaign.
            index: 0-based position in the campaign; unique per campaign.
            seeds: The seeds drawn for this iteration, by component.

        Returns:
            Whether a row was written.
        """
        return self._insert(
            Iteration,
            id,
            dict(
                id=id, campaign_id=campaign_id, index=int(index), seeds_json=dict(seeds)
            ),
        )

    def finish_iteration(self, id: str, summary: Any) -> None:
        """Record an iteration's summary and finish time (kept if already set).

        Args:
            id: The iteration id.
            summary: JSON-serializable summary.

        Raises:
            NotFoundError: No such iteration.
        """
        with self._transaction() as session:
            row = self._get(session, Iteration, id, "iteration")
            row.summary_json = summary
            if row.finished_at is None:
                row.finished_at = now_utc()

    # -- the live run: lease, heartbeat, stop requests (see `storage._lease`) --

    def acquire_lease(
        self,
        campaign_id: str,
        token: str,
        *,
        host: str,
        pid: int,
        node: str = "",
        ttl_s: float,
        log_path: str | None = None,
        replace: str | None = None,
    ) -> bool:
        """Take the right to run a campaign, atomically, if no live process holds it.

        One conditional UPDATE: it succeeds when the lease is free, has
        lapsed (`expires_at` is past on the database clock), is already
        `token`'s, or is held by `replace` (a token the caller found held by
        a dead process). It also clears a stop request left by an earlier run.

        Args:
            campaign_id: The campaign id (exact).
            token: The caller's secret for this run (a UUID string).
            host: The caller's host name, shown to anyone refused.
            pid: The caller's process id.
            node: The caller's process namespace (see `LeaseRecord.node`).
            ttl_s: Seconds the lease lasts unless renewed.
            log_path: The run's log file, recorded if given.
            replace: Take the lease over from this token.

        Returns:
            Whether the caller now holds the lease; if not, `get_lease` names the holder.

        Raises:
            NotFoundError: No such campaign.
            InvalidValueError: `ttl_s` is not positive.
        """
        with self._transaction() as session:
            if _lease.acquire(
                session,
                campaign_id,
                token,
                host=host,
                pid=pid,
                node=node,
                ttl_s=ttl_s,
                log_path=log_path,
                replace=replace,
            ):
                return True
            _lease.read(session, campaign_id)  # NotFoundError for an unknown id
            return False

    def renew_lease(
        self, campaign_id: str, token: str, *, ttl_s: float, progress: Any = _UNSET
    ) -> LeaseRecord | None:
        """Heartbeat: push the lease's expiry on, if `token` still holds it.

        Args:
            campaign_id: The campaign id (exact).
            token: The holder's token.
            ttl_s: Seconds from now the lease lasts.
            progress: A JSON-serializable progress snapshot to store with it.

        Returns:
            The lease after the renewal (with any pending stop request), or
            `None` when `token` no longer holds it (another process took it over).
        """
        with self._transaction() as session:
            if not _lease.renew(
                session, campaign_id, token, ttl_s=ttl_s, progress=progress
            ):
                return None
            return _lease.read(session, campaign_id)

    def release_lease(
        self, campaign_id: str, token: str, *, progress: Any = _UNSET
    ) -> bool:
        """Give the lease up (if `token` holds it), storing a last progress snapshot.

        Returns:
            Whether `token` held it.
        """
        with self._transaction() as session:
            return _lease.release(session, campaign_id, token, progress=progress)

    def request_stop(self, campaign_id: str) -> bool:
        """Ask the process that runs a campaign to stop after its current step.

        Returns:
            Whether a live lease was there to ask (`False`: nothing runs it).

        Raises:
            NotFoundError: No such campaign.
        """
        with self._transaction() as session:
            if _lease.request_stop(session, campaign_id):
                return True
            _lease.read(session, campaign_id)
            return False

    def get_lease(self, campaign_id: str) -> LeaseRecord:
        """The lease of a campaign (exact id): holder, heartbeat, stop request, log, progress.

        Raises:
            NotFoundError: No such campaign.
        """
        with self._sessions() as session:
            return _lease.read(session, campaign_id)

    # -- artifacts ----------------------------------------------------------

    def put_arrays(self, arrays: Mapping[str, np.ndarray]) -> str:
        """Store named arrays content-addressed, as deterministic `.npz` bytes.

        Args:
            arrays: Names to arrays; see `storage._arrays` for the format.

        Returns:
            The sha256 (hex) of the bytes; the same arrays give the same hash.

        Raises:
            InvalidValueError: Object arrays or non-string names.
        """
        data = encode_arrays(arrays)
        sha = hashlib.sha256(data).hexdigest()
        self._insert(
            Artifact,
            sha,
            dict(
                sha256=sha, media_type=NPZ_MEDIA_TYPE, size_bytes=len(data), data=data
            ),
        )
        return sha

    def get_arrays(self, sha256: str) -> dict[str, np.ndarray]:
        """Load arrays stored with `put_arrays`, checking their hash.

        Args:
            sha256: The hash `put_arrays` returned.

        Returns:
            Names to arrays.

        Raises:
            NotFoundError: No such artifact.
            IntegrityError: The stored bytes no longer match the hash.
        """
        with self._sessions() as session:
            row = self._get(session, Artifact, sha256, "artifact")
            data = row.data
        return decode_arrays(data, sha256)

    # -- records of work ----------------------------------------------------

    def add_run(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        backend_id: str,
        design_reason: str,
        inputs_sha256: str,
        data_sha256: str | None,
        seed: int,
        n_points: int,
        device: str,
        status_code: int,
        status_message: str = "",
        cost: float = 0.0,
        duration_s: float = 0.0,
    ) -> bool:
        """Record an experiment run (insert-if-absent).

        Args:
            id: The run id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            backend_id: Full versioned backend id.
            design_reason: Why these inputs were chosen.
            inputs_sha256: Artifact of the inputs (`put_arrays` first).
            data_sha256: Artifact of the measured columns; `None` if the run failed.
            seed: Seed passed to the backend (signed 64-bit).
            n_points: Number of input points.
            device: Device the backend ran on.
            status_code: `RunCode` value (0 is OK).
            status_message: Reason for a failure, tail-limited by the caller.
            cost: Budget units spent.
            duration_s: Wall time.

        Returns:
            Whether a row was written.
        """
        return self._insert(
            ExperimentRun,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                backend_id=backend_id,
                design_reason=design_reason,
                inputs_sha256=inputs_sha256,
                data_sha256=data_sha256,
                seed=_check_int64(seed, "seed"),
                n_points=int(n_points),
                device=device,
                status_code=int(status_code),
                status_message=status_message or "",
                cost=float(cost),
                duration_s=float(duration_s),
            ),
        )

    def add_planner_call(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        planner: str,
        template_name: str,
        template_sha256: str,
        prompt: str,
        reply: str | None,
        parsed: Any = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        latency_s: float = 0.0,
        error: str | None = None,
    ) -> bool:
        """Record one planner call, successful or not (insert-if-absent).

        Args:
            id: The call id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            planner: Planner name (`llm:<provider>/<model>`, `offline`, ...).
            template_name: Prompt template name.
            template_sha256: Hash of the template text.
            prompt: The rendered prompt.
            reply: The raw reply; `None` if none came.
            parsed: The parsed structured output (JSON-serializable), if any.
            input_tokens: Prompt tokens, if known.
            output_tokens: Reply tokens, if known.
            latency_s: Wall time of the call.
            error: What went wrong, if anything.

        Returns:
            Whether a row was written.
        """
        return self._insert(
            PlannerCall,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                planner=planner,
                template_name=template_name,
                template_sha256=template_sha256,
                prompt=prompt,
                reply=reply,
                parsed_json=parsed,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                latency_s=float(latency_s),
                error=error,
            ),
        )

    def add_hypothesis(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        expression: str,
        parameters: Sequence[str],
        source: str,
        source_detail: str = "",
        canonical_key: str = "",
        units_consistent: bool | None = None,
        units_message: str = "",
        statement: str = "",
        status: str = "open",
        score: float | None = None,
    ) -> bool:
        """Record a hypothesis (insert-if-absent).

        Args:
            id: The hypothesis id.
            campaign_id: Its campaign.
            iteration_id: Iteration that proposed it, if any.
            expression: Expression text with free parameters.
            parameters: Names of the free parameters.
            source: `llm`, `offline`, `sr`, `mutation`, `template`, `power-law`, ...
            source_detail: E.g. the parent of a mutation, the SR engine.
            canonical_key: `tools.canonical_key` of the expression (indexed).
            units_consistent: Result of the units check; `None` if not checked.
            units_message: Why the units check failed, if it did.
            statement: The hypothesis in words.
            status: Initial `HypothesisStatus` value.
            score: Initial score, if any.

        Returns:
            Whether a row was written.
        """
        initial = _enum_value(HypothesisStatus, status, "hypothesis status")
        with self._transaction() as session:
            wrote = self._insert_in(
                session,
                Hypothesis,
                id,
                dict(
                    id=id,
                    campaign_id=campaign_id,
                    iteration_id=iteration_id,
                    expression=expression,
                    parameters_json=list(parameters),
                    source=source,
                    source_detail=source_detail,
                    canonical_key=canonical_key,
                    units_consistent=units_consistent,
                    units_message=units_message,
                    statement=statement,
                    status=HypothesisStatus.OPEN,
                    score=None if score is None else float(score),
                ),
            )
            if wrote and initial is not HypothesisStatus.OPEN:
                # Born decided (e.g. refused at formalization): on the record as a change.
                row = self._get(session, Hypothesis, id, "hypothesis")
                self._change_status(session, row, initial, None)
            return wrote

    def set_hypothesis_status(
        self,
        id: str,
        status: str,
        *,
        decision_id: str | None = None,
        score: float | None = None,
    ) -> None:
        """Update a hypothesis's status, and its score unless `score` is `None`.

        A change of status is recorded as a `status_change` row, chained like
        every row, naming the decision behind it; setting the status it
        already has records nothing (a node re-run after a crash).

        Args:
            id: The hypothesis id (exact).
            status: A `HypothesisStatus` value.
            decision_id: The decision that changed it (`None`: set by hand).
            score: New score; `None` keeps the current one.

        Raises:
            NotFoundError: No such hypothesis (or decision).
            InvalidValueError: Unknown status.
        """
        value = _enum_value(HypothesisStatus, status, "hypothesis status")
        with self._transaction() as session:
            row = self._get(session, Hypothesis, id, "hypothesis")
            if decision_id is not None:
                self._get(session, Decision, decision_id, "decision")
            self._change_status(session, row, value, decision_id)
            if score is not None:
                row.score = float(score)

    def set_hypothesis_score(self, id: str, score: float) -> None:
        """Update a hypothesis's score (the BIC of its latest fit), leaving its status.

        Args:
            id: The hypothesis id (exact).
            score: The new score.

        Raises:
            NotFoundError: No such hypothesis.
        """
        with self._transaction() as session:
            row = self._get(session, Hypothesis, id, "hypothesis")
            row.score = float(score)

    def add_fit(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        hypothesis_id: str,
        method: str,
        parameters: Mapping[str, float],
        stderr: Mapping[str, float | None],
        covariance: Sequence[Sequence[float]] | None,
        scores: Mapping[str, Any],
        train_data: Sequence[str],
        test_data: Sequence[str] = (),
        success: bool,
        message: str = "",
    ) -> bool:
        """Record a parameter fit of a hypothesis (insert-if-absent).

        Args:
            id: The fit id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            hypothesis_id: The fitted hypothesis.
            method: Fitting method, e.g. `least_squares`.
            parameters: Fitted values by parameter name.
            stderr: Standard errors by parameter name.
            covariance: Covariance matrix as nested lists (parameter order), or `None`.
            scores: `r2`, `rmse`, `bic`, held-out scores, ...
            train_data: Artifact sha256s of the training data.
            test_data: Artifact sha256s of held-out data.
            success: Whether the fit converged.
            message: The fitter's message or failure reason.

        Returns:
            Whether a row was written.
        """
        return self._insert(
            ModelFit,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                hypothesis_id=hypothesis_id,
                method=method,
                parameters_json=dict(parameters),
                stderr_json=dict(stderr),
                covariance_json=None
                if covariance is None
                else [list(r) for r in covariance],
                scores_json=dict(scores),
                train_data_json=list(train_data),
                test_data_json=list(test_data),
                success=bool(success),
                message=message,
            ),
        )

    def add_decision(
        self,
        id: str,
        *,
        campaign_id: str,
        iteration_id: str | None,
        kind: str,
        reason: str,
        hypothesis_id: str | None = None,
        evidence: Any = None,
    ) -> bool:
        """Record a decision (insert-if-absent).

        Args:
            id: The decision id.
            campaign_id: Its campaign.
            iteration_id: Its iteration, if any.
            kind: `accept`, `reject`, `continue`, `stop`, `design`, ...
            reason: Why, in words.
            hypothesis_id: The hypothesis it is about, if any.
            evidence: JSON-serializable evidence (fit ids, scores, ...).

        Returns:
            Whether a row was written.
        """
        return self._insert(
            Decision,
            id,
            dict(
                id=id,
                campaign_id=campaign_id,
                iteration_id=iteration_id,
                kind=kind,
                reason=reason,
                hypothesis_id=hypothesis_id,
                evidence_json={} if evidence is None else evidence,
            ),
        )

    def link(
        self,
        source_id: str,
        source_kind: str,
        target_id: str,
        target_kind: str,
        relation: str,
    ) -> bool:
        """Record the lineage edge "source RELATION target" (insert-if-absent).

        Both rows must exist; the edge belongs to the campaign of the source
        (or of the target when the source is an artifact). Its id is
        uuid5(`EDGE_NAMESPACE`, "source|target|relation").

        Args:
            source_id: Id (sha256 for artifacts) of the source row.
            source_kind: Its `EntityKind` (table name).
            target_id: Id of the target row.
            target_kind: Its `EntityKind`.
            relation: A `Relation` value, e.g. `supported-by`.

        Returns:
            Whether an edge was written.

        Raises:
            InvalidValueError: Unknown kind or relation, or two artifacts.
            NotFoundError: An end does not exist.
        """
        skind = _enum_value(EntityKind, source_kind, "entity kind")
        tkind = _enum_value(EntityKind, target_kind, "entity kind")
        rel = _enum_value(Relation, relation, "relation")
        edge_id = str(
            uuid.uuid5(EDGE_NAMESPACE, f"{source_id}|{target_id}|{rel.value}")
        )
        with self._sessions() as session:
            if session.get(LineageEdge, edge_id) is not None:
                return False
            source = self._get(session, MODELS[skind], source_id, skind.value)
            target = self._get(session, MODELS[tkind], target_id, tkind.value)
        campaign_id = _campaign_of(skind, source) or _campaign_of(tkind, target)
        if campaign_id is None:
            msg = "An edge between two artifacts belongs to no campaign; link a run or fit instead."
            raise InvalidValueError(msg)
        return self._insert(
            LineageEdge,
            edge_id,
            dict(
                id=edge_id,
                campaign_id=campaign_id,
                source_id=source_id,
                source_kind=skind,
                target_id=target_id,
                target_kind=tkind,
                relation=rel,
            ),
        )

    # -- queries ------------------------------------------------------------

    def has_row(self, table: str, id: str) -> bool:
        """Whether `table` (an `EntityKind` or `lineage_edge`) has a row with this id."""
        model = (
            LineageEdge
            if table == "lineage_edge"
            else MODELS[_enum_value(EntityKind, table, "table")]
        )
        with self._sessions() as session:
            return session.get(model, id) is not None

    def get_campaign(self, id_or_prefix: str) -> CampaignRecord:
        """The campaign whose id is or starts with `id_or_prefix`, else whose name it is.

        Raises:
            NotFoundError: No match.
            AmbiguousIdError: The prefix matches several campaigns.
        """
        with self._sessions() as session:
            return to_record(
                CampaignRecord,
                self._resolve(session, Campaign, id_or_prefix, "campaign"),
            )

    def get_hypothesis(self, id_or_prefix: str) -> HypothesisRecord:
        """The hypothesis whose id is or starts with `id_or_prefix`.

        Raises:
            NotFoundError: No match.
            AmbiguousIdError: The prefix matches several hypotheses.
        """
        with self._sessions() as session:
            row = self._resolve(session, Hypothesis, id_or_prefix, "hypothesis")
            return to_record(HypothesisRecord, row)

    def list_campaigns(self) -> list[CampaignRecord]:
        """All campaigns, oldest first."""
        return self._select(CampaignRecord, sa.select(Campaign).order_by(Campaign.seq))

    def list_hypotheses(
        self, campaign_id: str | None = None, status: str | None = None
    ) -> list[HypothesisRecord]:
        """Hypotheses in insertion order, optionally of one campaign and/or status."""
        statement = sa.select(Hypothesis).order_by(Hypothesis.seq)
        if campaign_id is not None:
            statement = statement.where(Hypothesis.campaign_id == campaign_id)
        if status is not None:
            value = _enum_value(HypothesisStatus, status, "hypothesis status")
            statement = statement.where(Hypothesis.status == value)
        return self._select(HypothesisRecord, statement)

    def fits_for(self, hypothesis_id: str) -> list[FitRecord]:
        """Fits of one hypothesis, in insertion order."""
        return self._select(
            FitRecord,
            sa.select(ModelFit)
            .where(ModelFit.hypothesis_id == hypothesis_id)
            .order_by(ModelFit.seq),
        )

    def fits_in_iteration(self, iteration_id: str) -> list[FitRecord]:
        """Fits made in one iteration, in insertion order."""
        return self._select(
            FitRecord,
            sa.select(ModelFit)
            .where(ModelFit.iteration_id == iteration_id)
            .order_by(ModelFit.seq),
        )

    def iterations_for(self, campaign_id: str) -> list[IterationRecord]:
        """Iterations of one campaign, by index."""
        return self._select(
            IterationRecord,
            sa.select(Iteration)
            .where(Iteration.campaign_id == campaign_id)
            .order_by(Iteration.index),
        )

    def runs_for(self, campaign_id: str) -> list[RunRecord]:
        """Experiment runs of one campaign, in insertion order."""
        return self._select(RunRecord, _of_campaign(ExperimentRun, campaign_id))

    def planner_calls_for(self, campaign_id: str) -> list[PlannerCallRecord]:
        """Planner calls of one campaign, in insertion order."""
        return self._select(PlannerCallRecord, _of_campaign(PlannerCall, campaign_id))

    def decisions_for(self, campaign_id: str) -> list[DecisionRecord]:
        """Decisions of one campaign, in insertion order."""
        return self._select(DecisionRecord, _of_campaign(Decision, campaign_id))

    def edges_for(self, campaign_id: str) -> list[EdgeRecord]:
        """Lineage edges of one campaign, in insertion order."""
        return self._select(EdgeRecord, _of_campaign(LineageEdge, campaign_id))

    def check_lineage(self, campaign_id: str | None = None) -> list[str]:
        """Check that every edge's ends exist; return one message per dangling end.

        `link()` checks this on insert; this re-checks a database that was
        written by other means. An empty list means all is well.
        """
        problems = []
        with self._sessions() as session:
            for kind, model in MODELS.items():
                key = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
                for end in ("source", "target"):
                    id_col = getattr(LineageEdge, f"{end}_id")
                    statement = sa.select(LineageEdge).where(
                        getattr(LineageEdge, f"{end}_kind") == kind,
                        ~sa.exists().where(key == id_col),
                    )
                    if campaign_id is not None:
                        statement = statement.where(
                            LineageEdge.campaign_id == campaign_id
                        )
                    for edge in session.scalars(statement.order_by(LineageEdge.seq)):
                        problems.append(
                            f"Edge `{edge.id}` ({edge.relation.value}): {end} "
                            f"{kind.value} `{getattr(edge, f'{end}_id')}` does not exist."
                        )
        return problems

    def dump_campaign(
        self, campaign_id: str, *, drop: Sequence[str] = _dump.DEFAULT_DROP
    ) -> dict[str, list[dict[str, Any]]]:
        """A canonical dump of every row of a campaign, ids replaced by ordinals.

        See `storage._dump` for the ordering; two campaigns run with the same
        configuration and seed give equal dumps.

        Args:
            campaign_id: The campaign id or a unique prefix of it.
            drop: Column names left out of every row (timestamps, durations...).

        Returns:
            Table name to list of rows (plain dicts), plus `artifact` metadata.
        """
        with self._sessions() as session:
            campaign = self._resolve(session, Campaign, campaign_id, "campaign")
            return _dump.dump_campaign(session, campaign.id, drop=frozenset(drop))


def _campaign_of(kind: EntityKind, row: Any) -> str | None:
    """The campaign a row belongs to (`None` for artifacts)."""
    if kind is EntityKind.CAMPAIGN:
        return str(row.id)
    return getattr(row, "campaign_id", None)


def _of_campaign(model: type[Base], campaign_id: str) -> sa.Select[Any]:
    """Rows of `model` in one campaign, in insertion order."""
    table = model.__table__
    return (
        sa.select(model).where(table.c.campaign_id == campaign_id).order_by(table.c.seq)
    )


def _insert_if_absent_sqlite(
    session: Session, table: sa.Table, values: dict[str, Any]
) -> bool:
    """SQLite: insert one row unless its primary key exists, also when another process just wrote it.

    The check before (`session.get`) runs outside the write lock (pysqlite
    starts no transaction for a SELECT), so two processes storing the same
    content-addressed artifact both pass it; `ON CONFLICT DO NOTHING` makes
    the second insert a no-op instead of a UNIQUE error. `seq` is computed
    inside the INSERT, under the write lock.

    Returns:
        Whether the row was written.
    """
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - only for SQLite stores

    key = list(table.primary_key.columns)
    statement = (
        sqlite.insert(table)
        .values(**_postgres.with_next_seq(table, values))
        .on_conflict_do_nothing(index_elements=key)
    )
    return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]
