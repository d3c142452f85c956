"""`Store` writes of a campaign's frame: the campaign, its iterations, artifacts, runs and planner calls."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from lawloop.storage._arrays import NPZ_MEDIA_TYPE, decode_arrays, encode_arrays
from lawloop.storage._models import (
    Artifact,
    Campaign,
    CampaignStatus,
    ExperimentRun,
    Iteration,
    PlannerCall,
    now_utc,
)
from lawloop.storage._store_base import StoreBase, check_int64, enum_value

__all__ = ["WritesMixin"]


class WritesMixin(StoreBase):
    """`Store.add_campaign`, `add_iteration`, `put_arrays`, `add_run`, `add_planner_call` and their updates."""

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
        status: CampaignStatus = CampaignStatus.CREATED,
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
                seed=check_int64(seed, "seed"),
                status=enum_value(CampaignStatus, status, "campaign status"),
                config_json=dict(config),
                code_version=code_version,
                environment_json=dict(environment),
            ),
        )

    def set_campaign_status(
        self,
        id: str,
        status: CampaignStatus,
        *,
        result: Any = None,
        finished: bool = False,
    ) -> None:
        """Update a campaign's status, and optionally its result and finish time.

        Args:
            id: The campaign id (exact).
            status: The new status, e.g. `CampaignStatus.RUNNING` (its string stores the same).
            result: Final summary (JSON-serializable); `None` leaves it as is.
            finished: Set `finished_at` to now, unless it is already set.

        Raises:
            NotFoundError: No such campaign.
            InvalidValueError: Unknown status.
        """
        value = enum_value(CampaignStatus, status, "campaign status")
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
                seed=check_int64(seed, "seed"),
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
