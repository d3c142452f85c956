"""A campaign read back once for viewing: data, best laws, fronts, timeline, budget.

`load_view` reads everything the report and the dashboard show from the
store in one pass; the functions below derive what each figure and table
needs from it. Nothing is refitted: laws are evaluated with the parameters
of their latest successful fit, and scores are the recorded ones.
Recorded text (laws, LLM replies) is untrusted: a law that cannot be parsed
or evaluated is shown without values, never executed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sympy

from lawloop.agent.record import DecideEvidence, FitScores, SupersedeEvidence
from lawloop.agent.science._dataset import Dataset, concat
from lawloop.agent.views._summary import law_with_constants
from lawloop.storage import (
    CampaignRecord,
    DecisionRecord,
    FitRecord,
    HypothesisRecord,
    IterationRecord,
    PlannerCallRecord,
    RunRecord,
    Store,
)
from lawloop.tools import ToolError, name_constants, parse_expression, predict

__all__ = [
    "BudgetItem",
    "CampaignView",
    "Law",
    "TimelineRow",
    "best_laws",
    "budget",
    "informative_input",
    "law_for",
    "load_view",
    "pareto_front",
    "pareto_points",
    "predict_law",
    "sr_fronts",
    "timeline",
]

_JUDGED = ("accept", "continue", "stop")  # kinds of an iteration's main decision


@dataclass(frozen=True, slots=True)
class CampaignView:
    """Every row of one campaign that a viewer shows, read once.

    Example:
        >>> view = load_view(store, "3f2a")  # doctest: +SKIP
        >>> view.target, len(view.data)  # doctest: +SKIP
        ('T', 172)
    """

    campaign: CampaignRecord
    variables: tuple[str, ...]
    """Input variable names, in the backend's order."""
    units: dict[str, str]
    """Unit of each input and of the target."""
    target: str
    """The observable the campaign explains."""
    data: Dataset
    """Every successful, finite measurement, in run order."""
    hypotheses: list[HypothesisRecord]
    fits: dict[str, FitRecord]
    """Hypothesis id to its latest successful fit."""
    iterations: list[IterationRecord]
    runs: list[RunRecord]
    calls: list[PlannerCallRecord]
    decisions: list[DecisionRecord]
    iteration_index: dict[str, int] = field(default_factory=dict)
    """Iteration id to its index."""

    def hypothesis(self, hypothesis_id: str) -> HypothesisRecord | None:
        """The hypothesis with this exact id, if it belongs to the campaign."""
        return next((h for h in self.hypotheses if h.id == hypothesis_id), None)


@dataclass(frozen=True, slots=True)
class Law:
    """A hypothesis with the fit that gives its constants, ready to show."""

    hypothesis: HypothesisRecord
    fit: FitRecord | None
    """Its latest successful fit; `None` when it was never fitted."""
    text: str
    """The law with fitted constants substituted (snapped for the accepted law)."""
    latex: str | None
    """LaTeX of `text`; `None` when it cannot be parsed."""

    @property
    def label(self) -> str:
        """A short label for legends: constants to 4 digits, cut at 70 characters."""
        text = readable_law(self.text, digits=4)
        return text if len(text) <= 70 else text[:67] + "..."


_LONG_INTEGER = re.compile(r"(?<![\d.eE])(?<![eE][-+])\d{13,}(?![\d.])")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?:[eE][-+]?\d+)?")


def readable_law(text: str, digits: int | None = None) -> str:
    """A law's text for reading: long integers as 6-digit floats; with `digits`, decimals rounded.

    Canonical forms keep constants of nature exact, as integers and
    rationals (`980665000000000000000000000000*c1*m/(1380649*T)`), which
    no reader takes in; the record keeps the exact text. A legend needs
    the shape of a law, not the 11 digits of its fitted constants.
    """
    text = _LONG_INTEGER.sub(lambda m: f"{int(m.group()):.6g}", text)
    if digits is not None:
        text = _DECIMAL.sub(lambda m: f"{float(m.group()):.{digits}g}", text)
    return text


def named_law(view: CampaignView, hypothesis: HypothesisRecord) -> str:
    """The hypothesis's law with constants of nature by name, readable; its text if none is."""
    try:
        expr = parse_expression(
            hypothesis.expression, view.variables, list(hypothesis.parameters_json)
        )
        named = name_constants(expr)
    except (ToolError, ArithmeticError, RecursionError, TypeError, ValueError):
        return readable_law(hypothesis.expression)  # a display never fails a page
    return readable_law(str(named) if named is not expr else hypothesis.expression)


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """What happened to hypotheses in one iteration."""

    iteration: int
    proposed: dict[str, int]
    """New hypotheses by source."""
    accepted: int
    rejected: int
    """Rejected by a judge decision or, at admission, by the units check."""
    superseded: int


@dataclass(frozen=True, slots=True)
class BudgetItem:
    """One budget: what was used against the configured limit."""

    name: str
    used: float
    limit: float | None
    """`None`: no limit configured."""
    unit: str = ""

    @property
    def fraction(self) -> float | None:
        """Share of the limit used, `None` without a limit."""
        if self.limit is None or self.limit <= 0:
            return None
        return self.used / self.limit


def load_view(store: Store, campaign: str) -> CampaignView:
    """Read a campaign for viewing.

    Args:
        store: The provenance store (a read-only one will do).
        campaign: Campaign id, unique id prefix, or name.

    Returns:
        The view.

    Raises:
        NotFoundError: No such campaign.
        AmbiguousIdError: The prefix matches several campaigns.
    """
    c = store.get_campaign(campaign)
    iterations = store.iterations_for(c.id)
    index = {it.id: it.index for it in iterations}
    runs = store.runs_for(c.id)
    backend = dict((c.environment_json or {}).get("backend") or {})
    inputs = list(backend.get("inputs") or [])
    observables = list(backend.get("observables") or [])
    variables = tuple(str(v["name"]) for v in inputs)
    target = str(observables[0]["name"]) if observables else ""
    units = {str(v["name"]): str(v.get("unit", "")) for v in [*inputs, *observables]}
    parts = []
    for run in runs:
        if run.status_code != 0 or run.data_sha256 is None:
            continue
        x = store.get_arrays(run.inputs_sha256)
        y_all = store.get_arrays(run.data_sha256)
        if not variables:  # a record without the backend description: read the arrays
            variables = tuple(sorted(x))
            target = next(iter(y_all))
        y = np.asarray(y_all[target], dtype=np.float64)
        parts.append(
            Dataset(
                {v: np.asarray(x[v], dtype=np.float64) for v in variables},
                y,
                np.full(y.shape[0], index.get(run.iteration_id or "", -1), dtype=int),
            )
        )
    hypotheses = store.list_hypotheses(c.id)
    fits: dict[str, FitRecord] = {}
    for it in iterations:
        for f in store.fits_in_iteration(it.id):
            if f.success:
                fits[f.hypothesis_id] = f  # insertion order: the last one wins
    return CampaignView(
        campaign=c,
        variables=variables,
        units=units,
        target=target,
        data=concat(parts, variables).finite(),
        hypotheses=hypotheses,
        fits=fits,
        iterations=iterations,
        runs=runs,
        calls=store.planner_calls_for(c.id),
        decisions=store.decisions_for(c.id),
        iteration_index=index,
    )


def law_for(view: CampaignView, hypothesis: HypothesisRecord) -> Law:
    """A hypothesis as a `Law`: constants from its latest fit, text and LaTeX.

    The accepted law's constants are snapped to simple values (2*pi) where the
    data allow, as `campaign status` prints it.
    """
    fit = view.fits.get(hypothesis.id)
    text = hypothesis.expression
    if fit is not None:
        try:
            text, _ = law_with_constants(
                hypothesis.expression,
                view.variables,
                list(hypothesis.parameters_json),
                dict(fit.parameters_json),
                stderr=dict(fit.stderr_json),
                data=view.data if hypothesis.status == "accepted" else None,
            )
        except (ToolError, ValueError, KeyError, TypeError):
            text = hypothesis.expression  # unparsable or a parameter without a value
    latex: str | None
    try:
        names = [] if fit is not None else list(hypothesis.parameters_json)
        latex = str(sympy.latex(parse_expression(text, view.variables, names)))
    except (ToolError, ValueError, TypeError):
        latex = None
    return Law(hypothesis, fit, text, latex)


def best_laws(view: CampaignView, n: int = 3) -> list[Law]:
    """The laws worth showing, best first: accepted ones, then the last ranking, then by score.

    Only fitted laws are returned.
    """
    order = [h.id for h in view.hypotheses if h.status == "accepted"]
    judged = [d for d in view.decisions if d.kind in _JUDGED]
    if judged:
        order += DecideEvidence.read(judged[-1].evidence_json).ranking
    scored = [h for h in view.hypotheses if h.score is not None and h.id in view.fits]
    order += [h.id for h in sorted(scored, key=lambda h: float(h.score or 0.0))]
    laws: list[Law] = []
    for hid in dict.fromkeys(order):
        h = view.hypothesis(hid)
        if h is not None and hid in view.fits:
            laws.append(law_for(view, h))
        if len(laws) == n:
            break
    return laws


def predict_law(
    view: CampaignView, law: Law, inputs: Mapping[str, np.ndarray]
) -> np.ndarray | None:
    """The law's values at `inputs` (its latest fit's constants), or `None` if it cannot be evaluated."""
    if law.fit is None:
        return None
    h = law.hypothesis
    try:
        expr = parse_expression(h.expression, view.variables, list(h.parameters_json))
        with np.errstate(all="ignore"):
            values = predict(expr, dict(law.fit.parameters_json), dict(inputs))
    except (
        ToolError,
        ValueError,
        TypeError,
        KeyError,
        ZeroDivisionError,
        OverflowError,
    ):
        # A law that cannot be evaluated is shown without values, never fixed up.
        return None
    n = len(next(iter(inputs.values()))) if inputs else 0
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()


def informative_input(view: CampaignView) -> str | None:
    """The input whose ranks follow the target's most closely (|Spearman rho|)."""
    if not view.variables or len(view.data) < 3:
        return view.variables[0] if view.variables else None
    y_rank = _ranks(view.data.y)
    best, best_rho = view.variables[0], -1.0
    for v in view.variables:
        x_rank = _ranks(view.data.inputs[v])
        if np.std(x_rank) == 0 or np.std(y_rank) == 0:
            continue
        rho = abs(float(np.corrcoef(x_rank, y_rank)[0, 1]))
        if rho > best_rho:
            best, best_rho = v, rho
    return best


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of `values` (ties broken by position: enough for a correlation)."""
    ranks = np.empty(values.shape[0], dtype=np.float64)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.shape[0])
    return ranks


def pareto_points(view: CampaignView) -> list[tuple[int, float, str, str]]:
    """(complexity, RMSE, status, hypothesis id) of every fitted law with both recorded."""
    points = []
    for h in view.hypotheses:
        fit = view.fits.get(h.id)
        scores = FitScores.read(fit.scores_json) if fit else None
        e = scores.rmse if scores else None
        if scores is not None and e is not None and math.isfinite(e):
            points.append((scores.complexity, float(e), h.status, h.id))
    return points


def pareto_front(
    points: Sequence[tuple[int, float, str, str]],
) -> list[tuple[int, float]]:
    """The non-dominated (complexity, error) pairs, by increasing complexity."""
    front: list[tuple[int, float]] = []
    for c, e, *_ in sorted(points, key=lambda p: (p[0], p[1])):
        if not front or e < front[-1][1]:
            if front and front[-1][0] == c:
                continue
            front.append((c, e))
    return front


def sr_fronts(view: CampaignView) -> list[tuple[int, list[tuple[int, float]]]]:
    """Each recorded symbolic-regression front: (iteration, [(complexity, MSE), ...])."""
    fronts = []
    for call in view.calls:
        parsed = call.parsed_json
        if not isinstance(parsed, dict) or not isinstance(parsed.get("front"), list):
            continue
        members = []
        for m in parsed["front"]:
            c, e = (
                (m.get("complexity"), m.get("mse"))
                if isinstance(m, dict)
                else (None, None)
            )
            if (
                isinstance(c, int | float)
                and isinstance(e, int | float)
                and math.isfinite(e)
            ):
                members.append((int(c), float(e)))
        if members:
            fronts.append(
                (view.iteration_index.get(call.iteration_id or "", -1), sorted(members))
            )
    return fronts


def timeline(view: CampaignView) -> list[TimelineRow]:
    """Per iteration: new hypotheses by source, and how many were accepted, rejected, superseded."""
    rows: dict[int, dict[str, Any]] = {
        it.index: {"proposed": Counter(), "accepted": 0, "rejected": 0, "superseded": 0}
        for it in view.iterations
    }

    def row(iteration_id: str | None) -> dict[str, Any]:
        k = view.iteration_index.get(iteration_id or "", -1)
        return rows.setdefault(
            k, {"proposed": Counter(), "accepted": 0, "rejected": 0, "superseded": 0}
        )

    judged = set()
    for d in view.decisions:
        if d.kind == "accept":
            row(d.iteration_id)["accepted"] += 1
        elif d.kind == "reject":
            row(d.iteration_id)["rejected"] += 1
            judged.add(d.hypothesis_id)
        elif d.kind == "supersede":
            superseded = SupersedeEvidence.read(d.evidence_json).superseded
            row(d.iteration_id)["superseded"] += len(superseded)
    for h in view.hypotheses:
        r = row(h.iteration_id)
        r["proposed"][h.source] += 1
        if h.status == "rejected" and h.id not in judged:
            r["rejected"] += 1  # refused at admission (units), with no judge decision
    return [
        TimelineRow(
            k, dict(r["proposed"]), r["accepted"], r["rejected"], r["superseded"]
        )
        for k, r in sorted(rows.items())
    ]


def budget(view: CampaignView, now: datetime | None = None) -> list[BudgetItem]:
    """Budget use against the limits of the campaign's recorded configuration.

    Args:
        view: The campaign.
        now: The clock for an iteration still running (default: now, UTC).

    Returns:
        Iterations, measurements, time, LLM calls and tokens, then the time
        spent measuring and planning (no limits).
    """
    config = dict(view.campaign.config_json or {})
    now = now or datetime.now(UTC)
    finished = [it for it in view.iterations if it.finished_at is not None]
    seconds = sum(
        ((it.finished_at or now) - it.started_at).total_seconds()
        for it in view.iterations
    )
    llm = [c for c in view.calls if c.planner.startswith("llm")]
    tokens = sum((c.input_tokens or 0) + (c.output_tokens or 0) for c in llm)
    uses_llm = config.get("planner") == "llm" or bool(llm)

    def limit(key: str) -> float | None:
        value = config.get(key)
        return float(value) if isinstance(value, int | float) else None

    items = [
        BudgetItem("iterations", len(finished), limit("max_iterations")),
        BudgetItem(
            "measurements",
            sum(r.n_points for r in view.runs),
            limit("max_measurements"),
            "points",
        ),
        BudgetItem("wall-clock time", seconds, limit("time_limit"), "s"),
    ]
    if uses_llm:
        items += [
            BudgetItem("LLM calls", len(llm), limit("llm_max_calls")),
            BudgetItem("LLM tokens", tokens, limit("llm_max_tokens")),
        ]
    items += [
        BudgetItem("measuring time", sum(r.duration_s for r in view.runs), None, "s"),
        BudgetItem(
            "planner and search time", sum(c.latency_s for c in view.calls), None, "s"
        ),
    ]
    return items
