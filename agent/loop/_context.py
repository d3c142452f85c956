"""The context every node works in: store, backend, configuration, clock and shared queries.

The queries are what several nodes read: the campaign's data, the last
judgement, the leaders, the reductions.

A node run after a crash finds its own rows (every id derives from campaign,
iteration, node and index; every write is insert-if-absent), so what a node
hands to the next travels through the store, not through the graph state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lawloop.agent._clock import Clock, Gate
from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.planners._llm_planner import LLMPlanner
from lawloop.agent.planners._offline import Leader
from lawloop.agent.record import DecideEvidence
from lawloop.agent.science._dataset import Dataset, concat
from lawloop.agent.science._reduction import Reduction, find_reductions
from lawloop.agent.views._usage import measured
from lawloop.experiments import Executor, ExperimentBackend
from lawloop.storage import Store

__all__ = ["DEFAULT_TOLERANCE", "LoopContext"]

log = logging.getLogger(__name__)

# Tail of a failure message kept on the record: enough to diagnose, not a dump.
_MAX_MESSAGE = 1500
_RIVALS = 3
DEFAULT_TOLERANCE = 1e-3


@dataclass
class LoopContext:
    """One campaign's store, backend, configuration and clock, with the queries its nodes share."""

    store: Store
    backend: ExperimentBackend
    config: CampaignConfig
    campaign_id: str
    regressor_factory: Callable[[], Any]
    llm: LLMPlanner | None = None
    """The LLM planner, when the campaign uses one (its proposals join the offline ones)."""
    clock: Clock | None = None
    """The campaign's work time, set by the runner for each run (`None`: nothing is cut for time)."""
    _reductions: tuple[int, list[Reduction]] | None = field(default=None, repr=False)
    _executor: Executor | None = field(default=None, repr=False)
    _runs_read: dict[tuple[str, str, int], Dataset] = field(
        default_factory=dict, repr=False
    )

    # -- helpers ---------------------------------------------------------------

    def time_left(self, k: int, step: str) -> float | None:
        """Seconds left for `step` of iteration `k` before the time limit; `None`: no limit.

        The live loop reads its clock; a replay reads what the record did
        instead (`agent._replay`), so the two do the same work.
        """
        del k, step  # the live clock does not depend on them; a replay's record does
        return None if self.clock is None else self.clock.remaining_s()

    def time_cut(self, k: int, step: str) -> bool:
        """Whether `step` of iteration `k` is left undone because the time limit is reached."""
        left = self.time_left(k, step)
        return left is not None and left <= 0

    def deadline(self, k: int, step: str) -> float | None:
        """The `time.monotonic()` reading at which `step` of iteration `k` must stop; `None`: none.

        A replay has none: it cuts what the record cut, not what its clock says.
        """
        del k, step
        return None if self.clock is None else self.clock.deadline()

    def work_gate(self, k: int, step: str) -> Gate:
        """A gate over the units of work of `step` in iteration `k`, closing at the time limit."""
        return Gate(lambda: self.time_cut(k, step))

    @property
    def variables(self) -> list[str]:
        """Input variable names, in the backend's order."""
        return [v.name for v in self.backend.inputs]

    @property
    def target(self) -> str:
        """The observable the campaign explains."""
        return str(self.backend.observables[0].name)

    @property
    def executor(self) -> Executor:
        """Runs the backend: chunks, per-chunk seeds, time limit, failures as records."""
        if self._executor is None:
            self._executor = Executor(
                self.backend,
                chunk_points=self.config.chunk_points,
                timeout_s=self.config.run_timeout_s,
            )
        return self._executor

    @property
    def tolerance(self) -> float:
        """Relative precision laws must hold to: the config's, else the backend's, else 1e-3."""
        if self.config.tolerance is not None:
            return self.config.tolerance
        declared = self.backend.precision
        # Below 1e-9 the fits' own rounding, not the law, would decide.
        return max(declared, 1e-9) if declared else DEFAULT_TOLERANCE

    def iteration_id(self, k: int) -> str:
        """The id of iteration `k`'s row."""
        return node_id(self.campaign_id, k, "iteration")

    def record_decision(
        self,
        decision_id: str,
        k: int,
        kind: str,
        reason: str,
        *,
        hypothesis_id: str | None = None,
        evidence: Any = None,
    ) -> None:
        """Write a decision of iteration `k` (insert-if-absent, like every row)."""
        self.store.add_decision(
            decision_id,
            campaign_id=self.campaign_id,
            iteration_id=self.iteration_id(k),
            kind=kind,
            reason=reason,
            hypothesis_id=hypothesis_id,
            evidence=evidence,
        )

    def begin_iteration(self, k: int) -> str:
        """Write the iteration row (once) with the seeds of its nodes."""
        seeds = {
            n: node_seed(self.config.seed, k, n)
            for n in ("design", "run_experiments", "search", "fit")
        }
        iid = self.iteration_id(k)
        self.store.add_iteration(
            iid, campaign_id=self.campaign_id, index=k, seeds=seeds
        )
        return iid

    def data(self, *, until: int) -> Dataset:
        """Every successful measurement of iterations `<= until`, in run order."""
        index = {it.id: it.index for it in self.store.iterations_for(self.campaign_id)}
        parts = []
        for run in self.store.runs_for(self.campaign_id):
            k = index.get(run.iteration_id or "", -1)
            if run.status_code != 0 or run.data_sha256 is None or k > until:
                continue
            # A run's arrays never change once recorded: each is read from the
            # store once, not by every node of every later iteration.
            key = (run.id, run.data_sha256, k)
            part = self._runs_read.get(key)
            if part is None:
                x = self.store.get_arrays(run.inputs_sha256)
                y = self.store.get_arrays(run.data_sha256)[self.target]
                part = Dataset(
                    {v: np.asarray(x[v], dtype=np.float64) for v in self.variables},
                    np.asarray(y, dtype=np.float64),
                    np.full(y.shape[0], k, dtype=int),
                    (run.data_sha256,),
                    np.zeros(y.shape[0], dtype=int),
                )
                self._runs_read[key] = part
            parts.append(part)
        return concat(parts, self.variables).finite()

    def _run_ids(self, until: int) -> list[str]:
        index = {it.id: it.index for it in self.store.iterations_for(self.campaign_id)}
        return [
            r.id
            for r in self.store.runs_for(self.campaign_id)
            if r.status_code == 0 and index.get(r.iteration_id or "", -1) <= until
        ]

    def judgement(self, k: int) -> DecideEvidence | None:
        """The evidence of iteration `k`'s main decision, if it was made."""
        did = node_id(self.campaign_id, k, "decide")
        for d in self.store.decisions_for(self.campaign_id):
            if d.id == did:
                return DecideEvidence.read(d.evidence_json)
        return None

    def leaders(self, k: int) -> list[Leader]:
        """The laws ranked first at the end of iteration `k`, with their fits there."""
        ev = self.judgement(k) if k >= 0 else None
        if not ev:
            return []
        out = []
        for hid in ev.ranking[:_RIVALS]:
            hyp = self.store.get_hypothesis(hid)
            fits = [f for f in self.store.fits_for(hid) if f.success]
            if not fits:
                continue
            out.append(
                Leader(
                    hid,
                    hyp.expression,
                    tuple(hyp.parameters_json),
                    dict(fits[-1].parameters_json),
                    {
                        k: float(v)
                        for k, v in dict(fits[-1].stderr_json or {}).items()
                        if isinstance(v, int | float)
                    },
                )
            )
        return out

    def reductions(self, k: int) -> list[Reduction]:
        """Plausible dimensional reductions of the data of iterations `<= k`, best first.

        A pure function of the recorded data, so a resumed campaign computes
        the same ones; kept for the iteration because two nodes use them.
        """
        if self._reductions is None or self._reductions[0] != k:
            found = find_reductions(
                self.backend.inputs, self.backend.observables[0], self.data(until=k)
            )
            self._reductions = (k, found)
        return self._reductions[1]

    def measured(self) -> int:
        """Points measured so far (successful or not: the budget was spent)."""
        return measured(self.store, self.campaign_id)
