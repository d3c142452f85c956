"""The fit node: every open hypothesis fitted on all data, each old fit tested on the fresh batch first."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.loop._context import LoopContext
from lawloop.agent.record import FitScores, SkipFitEvidence
from lawloop.agent.science._attack import (
    jacobian,
)
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._fitting import HypothesisFit, fit_hypothesis, predictor
from lawloop.agent.science._judge import (
    adequacy_bound,
    chi2_reduced,
    point_sigma,
)
from lawloop.storage import EntityKind, Relation

__all__ = ["FitNodes"]

log = logging.getLogger(__name__)


class FitNodes(LoopContext):
    """Fit the open hypotheses of an iteration and record each fit with its scores."""

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
        train = list(data.shas)
        runs = self._run_ids(k)
        seed = node_seed(self.config.seed, k, "fit")
        chosen = self._fit_order(k)[: self.config.max_fit_hypotheses]
        open_hyps = {
            h.id: h for h in self.store.list_hypotheses(self.campaign_id, status="open")
        }
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
            fresh_chi2, fresh_bound, streak = (
                self._fresh_test(
                    hyp.expression, params, earlier[-1], fresh, data, noise
                )
                if earlier and fresh is not None and len(fresh)
                else (None, None, 0)
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
            if record.timed_out or record.scores is None:
                skipped.append(hid)
                continue
            scores = record.scores.replace(
                bound=self._bound(len(data), len(params), data),
                noise_dof=noise_dof,
                fresh_chi2=fresh_chi2,
                fresh_bound=fresh_bound,
                streak=streak,
                fresh_n=len(fresh) if fresh else 0,
            )
            tested = list(fresh.shas) if fresh is not None and len(fresh) else []
            self._record_fit(k, fid, hid, record, scores, (train, tested))
            self._link_fit(hid, fid, runs)
        if skipped and recorded_skips is None:
            self._record_skipped_fits(k, chosen, skipped)

    def _record_fit(
        self,
        k: int,
        fid: str,
        hid: str,
        record: HypothesisFit,
        scores: FitScores,
        data: tuple[list[str], list[str]],
    ) -> None:
        """Write one fit with its scores and the data it was fitted (and tested) on."""
        train, test = data
        self.store.add_fit(
            fid,
            campaign_id=self.campaign_id,
            iteration_id=self.iteration_id(k),
            hypothesis_id=hid,
            method="scipy.least_squares multi-start",
            parameters=record.values,
            stderr=record.stderr,
            covariance=record.covariance,
            scores=scores.dump(),
            train_data=train,
            test_data=test,
            success=record.success,
            message=record.message,
        )

    def _fit_order(self, k: int) -> list[str]:
        """The open hypotheses, last iteration's ranking first (its leader is fitted first)."""
        prev = self.judgement(k - 1) if k > 0 else None
        ranked = list(prev.ranking) if prev else []
        open_ids = [
            h.id for h in self.store.list_hypotheses(self.campaign_id, status="open")
        ]
        return [h for h in ranked if h in open_ids] + [
            h for h in open_ids if h not in ranked
        ]

    def _fresh_test(
        self,
        expression: str,
        params: tuple[str, ...],
        last: Any,
        fresh: Dataset,
        data: Dataset,
        noise: float | None,
    ) -> tuple[float, float, int]:
        """(chi-square, its bound, streak) of the last fit predicting the fresh batch."""
        yhat = predictor(expression, self.variables, params, last.parameters_json)(
            fresh.inputs
        )
        sigma = point_sigma(fresh.y, noise, self.tolerance, self.backend.declared_noise)
        sigma = self._with_constants_spread(expression, params, last, fresh, sigma)
        fresh_chi2 = chi2_reduced(fresh.y, yhat, sigma)
        fresh_bound = self._bound(len(fresh), 0, data)
        streak = (
            FitScores.read(last.scores_json).streak + 1
            if fresh_chi2 <= fresh_bound
            else 0
        )
        return fresh_chi2, fresh_bound, streak

    def _skipped_fits(self, k: int) -> set[str] | None:
        """The hypotheses iteration `k`'s fit node left unfitted for time, if it recorded any."""
        did = node_id(self.campaign_id, k, "skip-fit")
        if not self.store.has_row("decision", did):
            return None
        decision = self.store.get_decision(did)
        return set(SkipFitEvidence.read(decision.evidence_json).skipped)

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
            evidence=SkipFitEvidence(
                skipped=skipped,
                fitted_first=chosen[0],
                time_left_s=None if left is None else round(left, 3),
            ).dump(),
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
        self.store.link(
            hid, EntityKind.HYPOTHESIS, fid, EntityKind.MODEL_FIT, Relation.TESTED_BY
        )
        for run_id in runs:
            self.store.link(
                fid,
                EntityKind.MODEL_FIT,
                run_id,
                EntityKind.EXPERIMENT_RUN,
                Relation.FITTED_ON,
            )
