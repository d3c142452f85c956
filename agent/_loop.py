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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent._config import CampaignConfig
from agent._data import Dataset, concat
from agent._design import (
    Design,
    disagreement_design,
    probe_design,
    random_design,
    seen_box,
    space_filling,
)
from agent._ids import node_id, node_seed
from agent._judge import Scored, adequacy_bound, chi2_reduced, judge, point_sigma
from agent._llm_planner import LLMPlanner
from agent._models import fit_hypothesis, predictor
from agent._offline import Leader
from agent._reduction import Reduction, find_reductions
from experiments import Executor, ExperimentBackend, InvalidDesignError
from storage import Store

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
    _reductions: tuple[int, list[Reduction]] | None = field(default=None, repr=False)
    _executor: Executor | None = field(default=None, repr=False)

    # -- helpers ---------------------------------------------------------------

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
        """Fit the open hypotheses on all data; test each old fit on the fresh batch first."""
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
        for hid in order[: self.config.max_fit_hypotheses]:
            fid = node_id(self.campaign_id, k, "fit", hid)
            if self.store.has_row("model_fit", fid):
                # A crash between the row and its edges would lose the edges:
                # they are insert-if-absent, so a resumed run writes them here.
                self._link_fit(hid, fid, runs)
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
            )
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

    def _link_fit(self, hid: str, fid: str, runs: list[str]) -> None:
        """The fit's lineage: the hypothesis it tests and the runs it was fitted on."""
        self.store.link(hid, "hypothesis", fid, "model_fit", "tested-by")
        for run_id in runs:
            self.store.link(fid, "model_fit", run_id, "experiment_run", "fitted-on")

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
        for s in scored:
            if s.success and np.isfinite(s.bic):
                self.store.set_hypothesis_score(s.hypothesis_id, s.bic)
        measured = self.measured()
        done, stop = False, ""
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
            unresolved = (
                f"{len(rivals)} rival law(s) fit every measurement as well"
                if rivals
                else "it was not yet confirmed on fresh data"
            )
            reason = (
                f"consistent, not accepted: {stop}; the leader fits every "
                f"measurement but {unresolved}; {verdict.reason}"
            )
            stop = "consistent"
        leader_fit = fit_of.get(verdict.leader or "")
        evidence = {
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
