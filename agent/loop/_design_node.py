"""The design and run_experiments nodes: which inputs to measure next, and measuring them."""

from __future__ import annotations

import logging

import numpy as np

from lawloop.agent._ids import node_id, node_seed
from lawloop.agent.loop._context import _MAX_MESSAGE, LoopContext
from lawloop.agent.science._attack import (
    attack_design,
)
from lawloop.agent.science._dataset import Dataset
from lawloop.agent.science._design import (
    Design,
    disagreement_design,
    probe_design,
    random_design,
    seen_box,
    space_filling,
)
from lawloop.agent.science._fitting import predictor
from lawloop.agent.science._judge import (
    point_sigma,
)
from lawloop.experiments import InvalidDesignError

__all__ = ["DesignNodes"]

log = logging.getLogger(__name__)


class DesignNodes(LoopContext):
    """Choose the inputs of an iteration (space-filling, disagreement, attack, probes) and measure them."""

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
        ev = self.judgement(k - 1)
        attack = ev.attack if ev is not None else None
        if ev is None or attack is None or not ev.leader_adequate:
            return None
        leaders = self.leaders(k - 1)
        if not leaders:
            return None
        cfg = self.config
        bound, goal, n_now = attack.precision, attack.goal, attack.n
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
