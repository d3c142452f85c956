"""The work of each graph node, reading and writing the provenance store.

Nodes are idempotent: every row id derives from (campaign, iteration, node,
index) and every write is insert-if-absent, so a node re-run after a crash
finds its own rows and writes nothing twice. What a node hands to the next
travels through the store, not through the graph state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from lawloop.agent._clock import Clock, Gate
from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.planners._llm_planner import LLMPlanner
from lawloop.agent.planners._offline import Leader
from lawloop.agent.science._attack import (
    ALPHA,
    AttackResult,
    attack_design,
    attack_law,
    holds_to_text,
    jacobian,
    scale_words,
)
from lawloop.agent.science._dataset import Dataset, concat
from lawloop.agent.science._design import (
    Design,
    disagreement_design,
    probe_design,
    random_design,
    seen_box,
    space_filling,
)
from lawloop.agent.science._fitting import fit_hypothesis, predictor
from lawloop.agent.science._judge import (
    Judgement,
    Scored,
    adequacy_bound,
    chi2_reduced,
    judge,
    point_sigma,
)
from lawloop.agent.science._reduction import Reduction, find_reductions
from lawloop.experiments import Executor, ExperimentBackend, InvalidDesignError
from lawloop.storage import Store

__all__ = ["Loop"]

log = logging.getLogger(__name__)

# Tail of a failure message kept on the record: enough to diagnose, not a dump.
_MAX_MESSAGE = 1500
_RIVALS = 3
DEFAULT_TOLERANCE = 1e-3


@dataclass
class Loop:
    """One campaign's nodes, bound to its store, backend and configuration."""

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
            x = self.store.get_arrays(run.inputs_sha256)
            y = self.store.get_arrays(run.data_sha256)[self.target]
            parts.append(
                Dataset(
                    {v: np.asarray(x[v], dtype=np.float64) for v in self.variables},
                    np.asarray(y, dtype=np.float64),
                    np.full(y.shape[0], k, dtype=int),
                    (run.data_sha256,),
                    np.zeros(y.shape[0], dtype=int),
                )
            )
        return concat(parts, self.variables).finite()

    def _run_ids(self, until: int) -> list[str]:
        index = {it.id: it.index for it in self.store.iterations_for(self.campaign_id)}
        return [
            r.id
            for r in self.store.runs_for(self.campaign_id)
            if r.status_code == 0 and index.get(r.iteration_id or "", -1) <= until
        ]

    def judgement(self, k: int) -> dict[str, Any] | None:
        """The evidence of iteration `k`'s main decision, if it was made."""
        did = node_id(self.campaign_id, k, "decide")
        for d in self.store.decisions_for(self.campaign_id):
            if d.id == did:
                return dict(d.evidence_json)
        return None

    def leaders(self, k: int) -> list[Leader]:
        """The laws ranked first at the end of iteration `k`, with their fits there."""
        ev = self.judgement(k) if k >= 0 else None
        if not ev:
            return []
        out = []
        for hid in ev.get("ranking", [])[:_RIVALS]:
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
        return sum(r.n_points for r in self.store.runs_for(self.campaign_id))

    # -- nodes -----------------------------------------------------------------

    def design(self, k: int) -> tuple[str, str]:
        """Choose the inputs of iteration `k`; returns (inputs sha256, reason)."""
        self.begin_iteration(k)
        rng = np.random.default_rng(node_seed(self.config.seed, k, "design"))
        left = self.config.max_measurements - self.measured()
        inputs = self.backend.inputs
        if self.config.design == "random":
            size = self.config.initial_points if k == 0 else self.config.batch_points
            n = min(size, max(1, left - self.config.replicates))
            reps = self.config.replicates if k == 0 else self.config.replicates // 2
            design = random_design(
                inputs, n, rng, replicates=min(reps, max(0, left - n))
            )
        elif k == 0:
            n = min(self.config.initial_points, max(1, left - self.config.replicates))
            design = space_filling(
                inputs,
                n,
                rng,
                replicates=min(self.config.replicates, max(0, left - n)),
                span=self.config.initial_span,
            )
        elif (attack := self._attack_batch(k, left, rng)) is not None:
            design = attack
        else:
            data = self.data(until=k - 1)
            n, reps, grown = self._later_size(k, left, data)
            leaders = self.leaders(k - 1)
            rivals = [
                (
                    lead.expression,
                    predictor(
                        lead.expression, self.variables, lead.parameters, lead.values
                    ),
                )
                for lead in leaders
            ]
            probe = (
                probe_design(
                    inputs,
                    seen_box(data.inputs, inputs),
                    round(n * self.config.probe_fraction),
                    rng,
                    law=leaders[0].expression,
                )
                if leaders and len(data)
                else None
            )
            n_probe = len(next(iter(probe.inputs.values()))) if probe else 0
            design = disagreement_design(
                inputs,
                rivals,
                n - n_probe,
                rng,
                noise_sd=data.noise_sd() or 0.0,
                tolerance=self.tolerance,
                replicates=reps,
            )
            if probe is not None:
                design = Design(
                    {
                        v: np.concatenate([design.inputs[v], probe.inputs[v]])
                        for v in self.variables
                    },
                    f"{design.reason}; {probe.reason}",
                )
            if grown:
                design = Design(design.inputs, f"{design.reason}; {grown}")
            design = self._with_llm_designs(k, design, left)
        return self.store.put_arrays(design.inputs), design.reason

    def _attack_batch(
        self, k: int, left: int, rng: np.random.Generator
    ) -> Design | None:
        """The design that attacks last iteration's adequate leader, or None when none leads.

        Sized to bring the attack's bound to the claimed precision: the
        bound falls as one over the square root of the measurements, so
        `n (bound / goal)**2` measurements in all; at least `batch_points`
        (a fresh batch for the confirmation); at most `noisy_batch_growth`
        times more each turn, 16 batches (the fits' cost grows with the
        data) and half the budget left. A quarter
        of it separates the rivals and keeps part of the batch space-filling.
        """
        ev = self.judgement(k - 1) or {}
        attack = ev.get("attack")
        if not attack or not ev.get("leader_adequate"):
            return None
        leaders = self.leaders(k - 1)
        if not leaders:
            return None
        cfg = self.config
        bound, goal, n_now = attack.get("precision"), attack["goal"], attack["n"]
        need = cfg.batch_points
        if bound is not None and bound > goal:
            need = int(np.ceil(n_now * ((bound / goal) ** 2 - 1)))
        # Grown geometrically, as noisy designs are: a bound far from its goal
        # earns a bigger design each turn, never the whole budget at once.
        cap = cfg.batch_points * cfg.noisy_batch_growth ** min(k - 1, 30)
        n = int(
            min(
                max(need, cfg.batch_points),
                cap,
                16 * cfg.batch_points,
                max(1, left // 2),
            )
        )
        data = self.data(until=k - 1)
        lead = leaders[0]
        predict = predictor(
            lead.expression, self.variables, lead.parameters, lead.values
        )
        noise = data.noise_sd()

        def sigma_of(y: np.ndarray) -> np.ndarray:
            return point_sigma(y, noise, self.tolerance, self.backend.declared_noise)

        n_rivals = n // 4 if len(leaders) > 1 else 0
        found = attack_design(
            self.backend.inputs, data, predict, sigma_of, n - n_rivals, rng
        )
        if found is None:
            return None
        parts = [found]
        if n_rivals:
            rivals = [
                (
                    r.expression,
                    predictor(r.expression, self.variables, r.parameters, r.values),
                )
                for r in leaders
            ]
            parts.append(
                disagreement_design(
                    self.backend.inputs,
                    rivals,
                    n_rivals,
                    rng,
                    noise_sd=noise or 0.0,
                    tolerance=self.tolerance,
                )
            )
        bound_text = "none yet" if bound is None else f"{bound:.2g}"
        reason = "; ".join(p.reason for p in parts) + (
            f"; sized to bring the bound on a correction from {bound_text} "
            f"towards {goal:g} (relative, 95 %)"
        )
        return Design(
            {v: np.concatenate([p.inputs[v] for p in parts]) for v in self.variables},
            reason,
        )

    def _later_size(self, k: int, left: int, data: Dataset) -> tuple[int, int, str]:
        """Distinct points and repeats of design `k` > 0, and why they grew ('' if not).

        Where the repeats show noise above the relative precision, the design
        grows by `noisy_batch_growth` per iteration and repeats every point:
        averaging is the only way past noise, and measurements are cheap next
        to search and fitting. More points and more repeats tighten the
        lack-of-fit test (see `adequacy_bound`), so an approximation that the
        noise hid at a few hundred points is refuted at a few thousand.
        """
        cfg = self.config
        sd = data.noise_sd()
        y_rms = float(np.sqrt(np.mean(data.y**2))) if len(data) else 0.0
        if cfg.noisy_batch_growth > 1 and sd and sd > self.tolerance * y_rms:
            # At most four times `batch_points`: the fit's cost grows with the
            # data, and a time-limited campaign still needs its iterations.
            size = cfg.batch_points * cfg.noisy_batch_growth ** min(k - 1, 30)
            size = min(size, 4 * cfg.batch_points)
            n = int(min(size, max(cfg.batch_points, left // 4), max(1, left // 2)))
            reps = min(n, max(0, left - n))
            why = (
                f"noise {sd:.3g} (RMS {y_rms:.3g}): {n} points, {reps} repeats, "
                f"growing x{cfg.noisy_batch_growth:g} per iteration to beat it"
            )
            return n, reps, why
        n = min(cfg.batch_points, max(1, left - cfg.replicates))
        return n, min(cfg.replicates // 2, max(0, left - n)), ""

    def _with_llm_designs(self, k: int, design: Design, left: int) -> Design:
        """Add the points the LLM proposed last iteration to test its laws, if valid and affordable."""
        room = min(
            self.config.batch_points // 4,
            left - len(next(iter(design.inputs.values()))),
        )
        if room <= 0:
            return design
        iid = self.iteration_id(k - 1)
        points: list[dict[str, float]] = []
        for call in self.store.planner_calls_for(self.campaign_id):
            if call.iteration_id == iid and call.planner.startswith("llm:"):
                points.extend((call.parsed_json or {}).get("designs", []))
        valid = []
        for point in points:
            if set(point) != set(self.variables):
                continue
            try:  # untrusted: the backend's own validation decides
                self.backend.validate_inputs(
                    {v: np.array([float(point[v])]) for v in self.variables}
                )
            except (InvalidDesignError, TypeError, ValueError):
                continue
            valid.append(point)
            if len(valid) == room:
                break
        if not valid:
            return design
        inputs = {
            v: np.concatenate(
                [design.inputs[v], np.array([p[v] for p in valid], dtype=np.float64)]
            )
            for v in self.variables
        }
        reason = f"{design.reason}, {len(valid)} of {len(points)} points the LLM proposed to test its laws"
        return Design(inputs, reason)

    def run_experiments(self, k: int, inputs_sha: str, reason: str) -> None:
        """Measure the designed inputs, chunk by chunk; a failure is recorded, never raised.

        Each chunk is one run row with its own inputs, seed, timing and
        status, so a failed chunk loses only its points; a chunk measured
        before a crash is never measured again.
        """
        inputs = self.store.get_arrays(inputs_sha)
        seed = node_seed(self.config.seed, k, "run_experiments")
        n = int(next(iter(inputs.values())).shape[0])
        per_input = sum(v.cost for v in self.backend.inputs) / max(
            1, len(self.backend.inputs)
        )
        bounds = self.executor.bounds(n)
        for i, (start, stop) in enumerate(bounds):
            rid = node_id(self.campaign_id, k, "run", i)
            if self.store.has_row("experiment_run", rid):
                continue
            chunk = self.executor.run_chunk(inputs, i, start, stop, seed=seed)
            result = chunk.result
            data_sha = (
                self.store.put_arrays(dict(result.columns))
                if result.status.ok
                else None
            )
            part = (
                inputs_sha
                if len(bounds) == 1
                else self.store.put_arrays(
                    {v: a[start:stop] for v, a in inputs.items()}
                )
            )
            where = f" (chunk {i + 1} of {len(bounds)})" if len(bounds) > 1 else ""
            self.store.add_run(
                rid,
                campaign_id=self.campaign_id,
                iteration_id=self.iteration_id(k),
                backend_id=str(self.backend.id),
                design_reason=reason + where,
                inputs_sha256=part,
                data_sha256=data_sha,
                seed=chunk.seed,
                n_points=chunk.n,
                device=str(self.backend.device),
                status_code=int(result.status.code),
                status_message=(result.status.message or "")[-_MAX_MESSAGE:],
                cost=float(chunk.n * per_input),
                duration_s=chunk.elapsed_s,
            )

    def _supersede(self, k: int, accepted: str, scored: list[Scored]) -> None:
        """Mark rivals that also fit, but are more complex, as replaced by the accepted law."""
        rivals = [
            s.hypothesis_id
            for s in scored
            if s.hypothesis_id != accepted and s.success and s.chi2 <= s.bound
        ]
        if not rivals:
            return
        did = node_id(self.campaign_id, k, "supersede")
        self.record_decision(
            did,
            k,
            "supersede",
            f"{len(rivals)} rival law(s) also fit the data but are no simpler; "
            "the accepted law replaces them",
            hypothesis_id=accepted,
            evidence={"superseded": rivals},
        )
        for hid in rivals:
            self.store.set_hypothesis_status(hid, "superseded", decision_id=did)
            self.store.link(hid, "hypothesis", accepted, "hypothesis", "replaced-by")

    def _bound(self, n: int, k: int, data: Dataset) -> float:
        """The adequacy bound on `n` points with `k` constants, given the data's noise estimate."""
        sd, dof = data.noise()
        y_rms = float(np.sqrt(np.mean(data.y**2))) if len(data) else 0.0
        return adequacy_bound(
            self.config.adequacy_chi2,
            n,
            k,
            noise_sd=sd,
            noise_dof=dof,
            tolerance=self.tolerance,
            y_rms=y_rms,
        )

    def fit(self, k: int) -> None:
        """Fit the open hypotheses on all data; test each old fit on the fresh batch first.

        The last leader is fitted first and always; past the time limit the
        others are left unfitted this iteration, and a `skip-fit` decision
        names them (which a re-run and a replay then follow).
        """
        data = self.data(until=k)
        fresh = data.select(data.iteration == k) if k > 0 else None
        noise, noise_dof = data.noise()
        prev = self.judgement(k - 1) if k > 0 else None
        ranked = list(prev.get("ranking", [])) if prev else []
        open_hyps = {
            h.id: h for h in self.store.list_hypotheses(self.campaign_id, status="open")
        }
        order = [h for h in ranked if h in open_hyps] + [
            h for h in open_hyps if h not in ranked
        ]
        train = list(data.shas)
        runs = self._run_ids(k)
        seed = node_seed(self.config.seed, k, "fit")
        chosen = order[: self.config.max_fit_hypotheses]
        recorded_skips = self._skipped_fits(k)
        skipped: list[str] = []
        for i, hid in enumerate(chosen):
            fid = node_id(self.campaign_id, k, "fit", hid)
            if self.store.has_row("model_fit", fid):
                # A crash between the row and its edges would lose the edges:
                # they are insert-if-absent, so a resumed run writes them here.
                self._link_fit(hid, fid, runs)
                continue
            if (
                hid in recorded_skips
                if recorded_skips is not None
                else i > 0 and self.time_cut(k, f"fit {hid}")
            ):
                skipped.append(hid)
                continue
            hyp = open_hyps[hid]
            params = tuple(hyp.parameters_json)
            earlier = [f for f in self.store.fits_for(hid) if f.success]
            initial = (
                dict(earlier[-1].parameters_json)
                if earlier
                else json.loads(hyp.source_detail or "{}").get("initial", {})
            )
            fresh_chi2, fresh_bound, streak = None, None, 0
            if earlier and fresh is not None and len(fresh):
                last = earlier[-1]
                yhat = predictor(
                    hyp.expression, self.variables, params, last.parameters_json
                )(fresh.inputs)
                sigma = point_sigma(
                    fresh.y, noise, self.tolerance, self.backend.declared_noise
                )
                sigma = self._with_constants_spread(
                    hyp.expression, params, last, fresh, sigma
                )
                fresh_chi2 = chi2_reduced(fresh.y, yhat, sigma)
                fresh_bound = self._bound(len(fresh), 0, data)
                streak = (
                    int(last.scores_json.get("streak", 0)) + 1
                    if fresh_chi2 <= fresh_bound
                    else 0
                )
            record = fit_hypothesis(
                hyp.expression,
                self.variables,
                params,
                data,
                initial=initial,
                seed=seed,
                noise_sd=noise,
                tolerance=self.tolerance,
                bootstrap=self.config.bootstrap,
                declared=self.backend.declared_noise,
                # The first is fitted whatever the time; the others give up
                # at the deadline, and count as skipped for time.
                deadline=None if i == 0 else self.deadline(k, "fit"),
            )
            if record.timed_out:
                skipped.append(hid)
                continue
            scores = dict(
                record.scores,
                bound=self._bound(len(data), len(params), data),
                noise_dof=noise_dof,
                fresh_chi2=fresh_chi2,
                fresh_bound=fresh_bound,
                streak=streak,
                fresh_n=len(fresh) if fresh else 0,
            )
            self.store.add_fit(
                fid,
                campaign_id=self.campaign_id,
                iteration_id=self.iteration_id(k),
                hypothesis_id=hid,
                method="scipy.least_squares multi-start",
                parameters=record.values,
                stderr=record.stderr,
                covariance=record.covariance,
                scores=scores,
                train_data=train,
                test_data=list(fresh.shas) if fresh is not None and len(fresh) else [],
                success=record.success,
                message=record.message,
            )
            self._link_fit(hid, fid, runs)
        if skipped and recorded_skips is None:
            self._record_skipped_fits(k, chosen, skipped)

    def _skipped_fits(self, k: int) -> set[str] | None:
        """The hypotheses iteration `k`'s fit node left unfitted for time, if it recorded any."""
        did = node_id(self.campaign_id, k, "skip-fit")
        if not self.store.has_row("decision", did):
            return None
        decision = next(
            d for d in self.store.decisions_for(self.campaign_id) if d.id == did
        )
        return set((decision.evidence_json or {}).get("skipped", []))

    def _record_skipped_fits(
        self, k: int, chosen: list[str], skipped: list[str]
    ) -> None:
        """Record which open hypotheses were not fitted because the time limit was reached."""
        left = self.time_left(k, "fit")
        limit = self.config.time_limit
        reached = (
            f"time limit ({limit:g} s) reached" if limit is not None else "out of time"
        )
        self.record_decision(
            node_id(self.campaign_id, k, "skip-fit"),
            k,
            "skip-fit",
            f"{reached}: {len(skipped)} of {len(chosen)} "
            "open hypotheses not fitted this iteration (the best ranked was fitted first)",
            evidence={
                "skipped": skipped,
                "fitted_first": chosen[0],
                "time_left_s": None if left is None else round(left, 3),
            },
        )

    def _with_constants_spread(
        self,
        expression: str,
        params: tuple[str, ...],
        fit: Any,
        fresh: Dataset,
        sigma: np.ndarray,
    ) -> np.ndarray:
        """`sigma` widened by the prediction's spread from the constants' covariance.

        A prediction at new inputs is uncertain by the measurement there and
        by the constants it was made with; an attack measures at the edges
        of the ranges, far from where a first fit's constants were pinned
        down, so leaving out the second would fail the true law there.
        """
        cov = np.asarray(fit.covariance_json or [], dtype=np.float64)
        if not params or cov.shape != (len(params), len(params)):
            return sigma
        if not np.all(np.isfinite(cov)):
            return sigma

        def make(values: Any) -> Any:
            return predictor(expression, self.variables, params, values)

        values = {p: float(fit.parameters_json[p]) for p in params}
        jac = jacobian(make, values, fresh.inputs)
        spread = np.einsum("ij,jk,ik->i", jac, cov, jac)
        return np.asarray(np.sqrt(sigma**2 + np.maximum(spread, 0.0)))

    def _link_fit(self, hid: str, fid: str, runs: list[str]) -> None:
        """The fit's lineage: the hypothesis it tests and the runs it was fitted on."""
        self.store.link(hid, "hypothesis", fid, "model_fit", "tested-by")
        for run_id in runs:
            self.store.link(fid, "model_fit", run_id, "experiment_run", "fitted-on")

    def _attack(
        self, k: int, verdict: Judgement, scored: list[Scored], fit_of: dict[str, Any]
    ) -> tuple[Judgement, AttackResult | None, list[str]]:
        """Attack the adequate leader; a refuted one is rejected and the rivals judged again.

        Returns the judgement that stands, the attack on its leader (None
        when no adequate law leads) and the laws the attack refuted.
        """
        data: Dataset | None = None
        refuted: list[str] = []
        for _ in range(_RIVALS):
            if not verdict.leader_adequate or verdict.leader is None:
                return verdict, None, refuted
            if data is None:
                data = self.data(until=k)
            attack = self._attack_one(verdict.leader, fit_of[verdict.leader], data)
            if attack.verdict != "refuted":
                return verdict, attack, refuted
            hid = verdict.leader
            refuted.append(hid)
            rid = node_id(self.campaign_id, k, "reject", hid)
            self.record_decision(
                rid,
                k,
                "reject",
                _refutation(attack),
                hypothesis_id=hid,
                evidence={"fit": fit_of[hid].id, "attack": attack.evidence()},
            )
            self.store.set_hypothesis_status(hid, "rejected", decision_id=rid)
            self.store.link(hid, "hypothesis", rid, "decision", "refuted-by")
            scored = [s for s in scored if s.hypothesis_id != hid]
            verdict = judge(scored, confirmations=self.config.confirmations)
        return verdict, None, refuted

    def _attack_one(self, hid: str, fit: Any, data: Dataset) -> AttackResult:
        """The attack on one fitted law, on all the data."""
        hyp = self.store.get_hypothesis(hid)
        params = tuple(hyp.parameters_json)
        noise, _ = data.noise()
        sigma = point_sigma(data.y, noise, self.tolerance, self.backend.declared_noise)

        def make(values: Any) -> Any:
            return predictor(hyp.expression, self.variables, params, values)

        return attack_law(
            self.backend.inputs,
            data,
            make,
            {p: float(fit.parameters_json[p]) for p in params},
            sigma,
            goal=max(self.config.claim_precision, self.tolerance),
            material=self.tolerance,
            reference=_noise_reference(data.y, noise, self.tolerance),
        )

    def decide(self, k: int, elapsed_s: float) -> tuple[bool, str]:
        """Judge this iteration's fits; accept, reject, stop or go on. Returns (done, reason)."""
        did = node_id(self.campaign_id, k, "decide")
        iid = self.iteration_id(k)
        fits = self.store.fits_in_iteration(iid)
        scored = [
            Scored(
                hypothesis_id=f.hypothesis_id,
                complexity=int(f.scores_json["complexity"]),
                bic=float(f.scores_json["bic"])
                if f.scores_json.get("bic") is not None
                else float("inf"),
                chi2=float(f.scores_json["chi2"])
                if f.scores_json.get("chi2") is not None
                else float("inf"),
                fresh_chi2=f.scores_json.get("fresh_chi2"),
                bound=float(f.scores_json.get("bound", self.config.adequacy_chi2)),
                streak=int(f.scores_json.get("streak", 0)),
                success=f.success,
            )
            for f in fits
        ]
        verdict = judge(scored, confirmations=self.config.confirmations)
        fit_of = {f.hypothesis_id: f for f in fits}
        for s in scored:
            if s.success and np.isfinite(s.bic):
                self.store.set_hypothesis_score(s.hypothesis_id, s.bic)
        verdict, attack, refuted = self._attack(k, verdict, scored, fit_of)
        # Laws the attack refuted are out of this iteration's contest.
        scored = [s for s in scored if s.hypothesis_id not in refuted]
        for hid, why in verdict.rejected:
            rid = node_id(self.campaign_id, k, "reject", hid)
            self.record_decision(
                rid,
                k,
                "reject",
                why,
                hypothesis_id=hid,
                evidence={"fit": fit_of[hid].id, "scores": fit_of[hid].scores_json},
            )
            self.store.set_hypothesis_status(hid, "rejected", decision_id=rid)
            self.store.link(hid, "hypothesis", rid, "decision", "refuted-by")
        measured = self.measured()
        done, stop = False, ""
        if verdict.accept and (attack is None or attack.verdict != "holds"):
            # Adequate and confirmed, but not yet shown to hold to the claimed
            # precision: the next designs attack it.
            verdict = replace(verdict, accept=False, reason=_attacking(verdict, attack))
        if verdict.accept:
            done, stop, kind = True, "accepted", "accept"
        elif k + 1 >= self.config.max_iterations:
            done, stop, kind = (
                True,
                f"iteration budget ({self.config.max_iterations}) used",
                "stop",
            )
        elif measured >= self.config.max_measurements:
            done, stop, kind = (
                True,
                f"measurement budget ({self.config.max_measurements}) used",
                "stop",
            )
        elif self.config.time_limit is not None and elapsed_s >= self.config.time_limit:
            done, stop, kind = (
                True,
                f"time limit ({self.config.time_limit:g} s) reached",
                "stop",
            )
        else:
            kind = "continue"
        reason = (
            verdict.reason
            if not stop or stop == "accepted"
            else f"{stop}; {verdict.reason}"
        )
        if stop == "accepted" and attack is not None:
            reason = f"{reason}; it {holds_to_text(attack.evidence())}"
        rivals: list[str] = []
        if done and stop != "accepted" and verdict.leader_adequate:
            # The budget ended with a law that fits every measurement but was
            # not accepted: "consistent", naming the rivals it did not exclude,
            # never "accepted" with the simplest of them.
            rivals = [
                s.hypothesis_id
                for s in scored
                if s.hypothesis_id != verdict.leader and s.success and s.chi2 <= s.bound
            ]
            if rivals:
                unresolved = f"{len(rivals)} rival law(s) fit every measurement as well"
            elif attack is not None and attack.verdict != "holds":
                unresolved = (
                    f"the attack could bound a correction only to "
                    f"{_precision(attack)} ({scale_words(attack.reference)}, 95 %), short of the "
                    f"{self.config.claim_precision:g} an accepted law must hold to"
                )
            else:
                unresolved = "it was not yet confirmed on fresh data"
            reason = (
                f"consistent, not accepted: {stop}; the leader fits every "
                f"measurement but {unresolved}; {verdict.reason}"
            )
            stop = "consistent"
        leader_fit = fit_of.get(verdict.leader or "")
        evidence: dict[str, Any] = {
            "ranking": list(verdict.ranking),
            "leader": verdict.leader,
            "leader_adequate": verdict.leader_adequate,
            "leader_fit": leader_fit.id if leader_fit else None,
            "top": [
                {"hypothesis": hid, "scores": fit_of[hid].scores_json}
                for hid in verdict.ranking[:_RIVALS]
            ],
            "measurements": measured,
            "iterations": k + 1,
        }
        if stop == "consistent":
            evidence["rivals"] = rivals
        if attack is not None:
            evidence["attack"] = attack.evidence()
        self.record_decision(
            did, k, kind, reason, hypothesis_id=verdict.leader, evidence=evidence
        )
        if verdict.accept and verdict.leader:
            self.store.set_hypothesis_status(
                verdict.leader, "accepted", decision_id=did
            )
            self.store.link(
                verdict.leader, "hypothesis", did, "decision", "supported-by"
            )
            if leader_fit:
                self.store.link(
                    did, "decision", leader_fit.id, "model_fit", "supported-by"
                )
            self._supersede(k, verdict.leader, scored)
        self.store.finish_iteration(
            iid, {"decision": kind, "reason": reason, "measurements": measured}
        )
        return done, stop


def _precision(attack: AttackResult) -> str:
    p = attack.test.precision
    return f"{p:.2g}" if np.isfinite(p) else "nothing (too few measurements)"


def _refutation(attack: AttackResult) -> str:
    """Why the attack refutes a law, in words."""
    t = attack.test
    where = ", ".join(f"{k}={v:.3g}" for k, v in attack.worst.items())
    return (
        f"refuted by the attack: a smooth correction of {t.largest:.2g} "
        f"({scale_words(attack.reference)}) "
        f"(largest, at {where}) is seen on {attack.n} measurements "
        f"(F test p = {t.p_value:.2g} < {ALPHA:g}), larger than the "
        f"{attack.material:g} laws are stated to"
    )


def _attacking(verdict: Judgement, attack: AttackResult | None) -> str:
    """The reason of an adequate, confirmed leader still under attack."""
    if attack is None:
        return verdict.reason
    return (
        f"{verdict.reason}; not accepted yet: the attack bounds a correction to "
        f"{_precision(attack)} (relative, 95 %), the goal is {attack.goal:g}"
    )


def _noise_reference(
    y: np.ndarray, noise: float | None, tolerance: float
) -> float | None:
    """The output's RMS when noise of fixed size dominates the measurements, else None.

    Fixed-size noise (the benchmarks' and most instruments': a fraction of
    the output's RMS) cannot support a relative claim where the output is
    small; a claim in units of the RMS is then the honest one. Without it,
    or below the relative tolerance, the claim stays relative.
    """
    rms = float(np.sqrt(np.mean(y**2))) if len(y) else 0.0
    if noise is None or not np.isfinite(noise) or rms <= 0 or noise <= tolerance * rms:
        return None
    return rms
