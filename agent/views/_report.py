"""`render_report`: one self-contained HTML page about a campaign.

The page embeds its figures as base64 PNG and its style inline, and links
to nothing outside itself, so it can be mailed, archived or opened on a
machine without network. Every recorded string (laws, statements, reasons,
LLM text) is untrusted and goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2

from lawloop.agent.record import FitScores
from lawloop.agent.views import _plots
from lawloop.agent.views._campaign import (
    CampaignView,
    Law,
    best_laws,
    budget,
    law_for,
    load_view,
    named_law,
    readable_law,
    timeline,
)
from lawloop.agent.views._summary import OUTCOMES, campaign_outcome
from lawloop.storage import DecisionRecord, Store

__all__ = [
    "ReportFigure",
    "accepted_law",
    "constants_table",
    "format_number",
    "render_report",
]


@dataclass(frozen=True, slots=True)
class ReportFigure:
    """A figure of the report: PNG bytes and the words around them."""

    key: str
    """Anchor and test id, e.g. `data`."""
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a `data:` URI."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels."""
        return _plots.png_size(self.png)


def accepted_law(view: CampaignView) -> Law | None:
    """The campaign's accepted law (the last accepted, if several), or `None`."""
    accepted = [h for h in view.hypotheses if h.status == "accepted"]
    return law_for(view, accepted[-1]) if accepted else None


def constants_table(law: Law) -> list[dict[str, Any]]:
    """The law's fitted constants: name, value, standard error and relative error."""
    if law.fit is None:
        return []
    values = dict(law.fit.parameters_json)
    errors = dict(law.fit.stderr_json or {})
    rows = []
    for name in law.hypothesis.parameters_json:
        value, err = values.get(name), errors.get(name)
        rel = (
            abs(err / value)
            if isinstance(err, int | float) and isinstance(value, int | float) and value
            else None
        )
        rows.append({"name": name, "value": value, "stderr": err, "relative": rel})
    return rows


def render_report(
    store: Store, campaign: str, *, generated_at: datetime | None = None
) -> str:
    """The HTML report of a campaign.

    Sections: the accepted law with its constants and uncertainties (text,
    typeset formula and LaTeX source), data against the best laws,
    residuals, the complexity-error front, the hypothesis timeline, budget
    use, and the hypothesis log.

    Args:
        store: The provenance store (`storage.open_read_only` will do).
        campaign: Campaign id, unique id prefix, or name.
        generated_at: The time printed in the footer (default: now, UTC).

    Returns:
        The HTML document, self-contained.

    Raises:
        NotFoundError: No such campaign.
        AmbiguousIdError: The prefix matches several campaigns.

    Example:
        >>> html = render_report(store, "3f2a")  # doctest: +SKIP
        >>> "2*pi*sqrt(L)*(0.0626514*theta0**2 + 1)/sqrt(g)" in html  # doctest: +SKIP
        True
    """
    view = load_view(store, campaign)
    laws = best_laws(view)
    accepted = accepted_law(view)
    headline = accepted or (laws[0] if laws else None)
    equation = _equation(headline)
    c = view.campaign
    result = dict(c.result_json or {})
    figures = _figures(view, laws)
    decision = _deciding_decision(view, headline)
    counts: dict[str, int] = {}
    for h in view.hypotheses:
        counts[h.status] = counts.get(h.status, 0) + 1
    outcome = campaign_outcome(c.status, result.get("stop_reason"))
    return _template().render(
        campaign=c,
        view=view,
        result=result,
        outcome=outcome,
        outcome_text=OUTCOMES.get(outcome or "", ""),
        accepted=accepted,
        headline=headline,
        equation=equation,
        constants=constants_table(headline) if headline else [],
        scores=FitScores.read(headline.fit.scores_json)
        if headline and headline.fit
        else None,
        log_scores={
            hid: FitScores.read(fit.scores_json) for hid, fit in view.fits.items()
        },
        decision=decision,
        figures=figures,
        budget=budget(view),
        timeline=timeline(view),
        counts=counts,
        hypotheses=view.hypotheses,
        iteration_index=view.iteration_index,
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        version=dict((c.environment_json or {}).get("packages") or {}).get(
            "lawloop", ""
        ),
    )


def _equation(headline: Law | None) -> ReportFigure | None:
    """The headline law typeset as an image, when it has LaTeX and it renders."""
    if headline is None or headline.latex is None:
        return None
    png = _plots.equation_image(headline.latex)
    return None if png is None else ReportFigure("equation", "", "", png)


def _figures(view: CampaignView, laws: list[Law]) -> list[ReportFigure]:
    """The report's figures, in page order, with their titles and captions."""
    shown = ", ".join(law.text for law in laws) or "none"
    return [
        ReportFigure(
            "data",
            "Data and the best laws",
            f"Measured {view.target} ({len(view.data)} points) and the values of the "
            f"best laws, best first: {shown}.",
            _plots.data_figure(view, laws),
        ),
        ReportFigure(
            "residuals",
            "Residuals",
            "Measured minus predicted for each law, coloured by the iteration that "
            "measured the point (later iterations are fresh data the law had to predict).",
            _plots.residual_figure(view, laws),
        ),
        ReportFigure(
            "pareto",
            "Complexity and error",
            "Each fitted law's RMSE (its latest fit) against its complexity, with the "
            "non-dominated front; right, the fronts recorded by symbolic-regression searches.",
            _plots.pareto_figure(view),
        ),
        ReportFigure(
            "timeline",
            "Hypothesis timeline",
            "New hypotheses per iteration by source, and the verdicts given in each iteration.",
            _plots.timeline_figure(view),
        ),
        ReportFigure(
            "budget",
            "Budget",
            "The share of each configured limit the campaign used.",
            _plots.budget_figure(view),
        ),
    ]


def _deciding_decision(
    view: CampaignView, headline: Law | None
) -> DecisionRecord | None:
    """The latest accept, continue or stop decision about the headline law, if any."""
    if headline is None:
        return None
    return next(
        (
            d
            for d in reversed(view.decisions)
            if d.hypothesis_id == headline.hypothesis.id
            and d.kind in ("accept", "continue", "stop")
        ),
        None,
    )


def format_number(value: Any, digits: int = 6) -> str:
    """A number for a table: `digits` significant digits, `-` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def _template() -> jinja2.Template:
    """The page template, autoescaping everything it inserts."""
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True
    )
    env.filters["num"] = format_number
    env.filters["law"] = readable_law
    env.globals["named"] = named_law
    env.filters["pct"] = lambda x: "-" if x is None else f"{100 * x:.3g}%"
    env.globals["status_colors"] = _plots.STATUS_COLORS
    return env.from_string(_PAGE)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lawloop report: {{ campaign.name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .law { font-family: ui-monospace, monospace; }
.law { font-size: 1.25em; padding: 0.4em 0.6em; background: #f3f8f3; border-left: 4px solid #2ca02c; display: inline-block; }
.law.open { background: #f3f6fb; border-left-color: #1f77b4; }
.meta { color: #555; font-size: 0.9em; }
.status { font-weight: 600; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.expr { font-family: ui-monospace, monospace; word-break: break-all; }
</style>
</head>
<body>
<h1>lawloop report: {{ campaign.name }}</h1>
<p class="meta">
campaign <code>{{ campaign.id }}</code> &middot; backend <code>{{ campaign.backend_id }}</code>
&middot; planner {{ campaign.planner }} &middot; seed {{ campaign.seed }}<br>
status <span class="status">{{ campaign.status }}</span>
{% if result.get("stop_reason") %} ({{ result["stop_reason"] }}){% endif %}
{% if outcome %}&middot; outcome <span class="status outcome-{{ outcome|replace(' ', '-') }}" id="outcome">{{ outcome }}</span>: {{ outcome_text }}{% endif %}
&middot; started {{ campaign.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") }}
{% if campaign.finished_at %} &middot; finished {{ campaign.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC") }}{% endif %}
&middot; code <code>{{ campaign.code_version }}</code>
</p>

<h2 id="law">{% if accepted %}Accepted law{% else %}No law accepted{% endif %}</h2>
{% if headline %}
{% if not accepted %}<p>No law was accepted{% if campaign.status == "running" %} yet{% endif %}; the best so far:</p>{% endif %}
<p class="law{% if not accepted %} open{% endif %}" id="accepted-law">{{ view.target }} = {{ headline.text|law }}</p>
{% set holds = (result.get("best") or {}).get("holds_to") %}
{% if holds %}<p id="precision">{% if accepted %}It{% else %}So far it{% endif %} {{ holds }}: the attack before acceptance would have seen a smooth relative correction larger than that.</p>{% endif %}
{% if equation %}
<p><img id="equation" alt="the law, typeset" src="{{ equation.data_uri }}" width="{{ equation.size[0] // 2 }}" height="{{ equation.size[1] // 2 }}"></p>
{% endif %}
{% if headline.latex %}<p class="meta">LaTeX: <code>{{ view.target }} = {{ headline.latex }}</code></p>{% endif %}
<p class="meta">hypothesis <code>{{ headline.hypothesis.id }}</code> ({{ headline.hypothesis.status }}, from {{ headline.hypothesis.source }}),
with free constants: <code>{{ headline.hypothesis.expression }}</code></p>
{% if constants %}
<table id="constants">
<tr><th>constant</th><th>value</th><th>&plusmn; standard error</th><th>relative error</th></tr>
{% for row in constants %}
<tr><td><code>{{ row.name }}</code></td><td class="num">{{ row.value|num(8) }}</td><td class="num">&plusmn; {{ row.stderr|num(3) }}</td><td class="num">{{ row.relative|pct }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if scores %}
<p class="meta">fit on {{ scores.n }} points: reduced chi-square {{ scores.chi2|num(3) }},
R&sup2; {{ scores.r2|num(8) }}, RMSE {{ scores.rmse|num(3) }}, BIC {{ scores.bic|num(6) }},
complexity {{ scores.complexity|num }}.
{% if headline.hypothesis.units_message %}Units: {{ headline.hypothesis.units_message }}.{% endif %}</p>
{% endif %}
{% if decision %}<p>Decision ({{ decision.kind }}): {{ decision.reason }}</p>{% endif %}
{% else %}
<p>No law has been fitted yet.</p>
{% endif %}

{% for fig in figures %}
<h2 id="{{ fig.key }}">{{ fig.title }}</h2>
<figure>
<img class="figure" data-figure="{{ fig.key }}" alt="{{ fig.title }}" src="{{ fig.data_uri }}" width="{{ fig.size[0] }}" height="{{ fig.size[1] }}">
<figcaption>{{ fig.caption }}</figcaption>
</figure>
{% if fig.key == "timeline" %}
<table id="timeline-table">
<tr><th>iteration</th><th>proposed (by source)</th><th>accepted</th><th>rejected</th><th>superseded</th></tr>
{% for row in timeline %}
<tr><td class="num">{{ row.iteration }}</td><td>{% for s, n in row.proposed|dictsort %}{{ s }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td class="num">{{ row.accepted }}</td><td class="num">{{ row.rejected }}</td><td class="num">{{ row.superseded }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if fig.key == "budget" %}
<table id="budget-table">
<tr><th>budget</th><th>used</th><th>limit</th><th>share</th></tr>
{% for b in budget %}
<tr><td>{{ b.name }}</td><td class="num">{{ b.used|num(4) }} {{ b.unit }}</td><td class="num">{% if b.limit is none %}no limit{% else %}{{ b.limit|num(6) }} {{ b.unit }}{% endif %}</td><td class="num">{{ b.fraction|pct }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% endfor %}

<h2 id="hypotheses">Hypothesis log</h2>
<p class="meta">{{ hypotheses|length }} hypotheses:
{% for status, n in counts|dictsort %}<span style="color: {{ status_colors.get(status, '#222') }}">{{ status }} {{ n }}</span>{% if not loop.last %}, {% endif %}{% endfor %}.
Score: BIC of the latest fit (lower is better).</p>
<table id="hypothesis-log">
<tr><th>id</th><th>iteration</th><th>source</th><th>status</th><th>score</th><th>chi2/dof</th><th>complexity</th><th>expression</th></tr>
{% for h in hypotheses %}
{% set fitted = log_scores.get(h.id) %}
<tr><td><code>{{ h.id[:8] }}</code></td><td class="num">{{ iteration_index.get(h.iteration_id or "", "") }}</td><td>{{ h.source }}</td>
<td style="color: {{ status_colors.get(h.status, '#222') }}">{{ h.status }}</td><td class="num">{{ h.score|num(6) }}</td>
<td class="num">{{ (fitted.chi2 if fitted else none)|num(3) }}</td><td class="num">{{ fitted.complexity if fitted else "" }}</td><td class="expr" title="{{ h.expression }}">{{ named(view, h) }}</td></tr>
{% endfor %}
</table>

<p class="meta">Generated by lawloop {{ version }} at {{ generated_at }} from the provenance record; nothing was refitted.</p>
</body>
</html>
"""
