"""The dashboard's page templates, style sheet and script (served by `agent._dashboard`).

Templates are Jinja2 with autoescaping (Flask turns it on for `.html`
names): every recorded string is inserted escaped. The script only
fetches the dashboard's own JSON and writes it with `textContent`, never as
HTML, and the pages load nothing from outside the server.
"""

from __future__ import annotations

__all__ = ["SCRIPT", "STYLE", "TEMPLATES"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { background: #24323f; color: #fff; padding: 0.6em 1.5em; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
header .subtitle { color: #ccd; font-size: 0.9em; margin-left: 1em; }
main { padding: 0.5em 1.5em 2em; max-width: 1250px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
th a { color: inherit; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .expr { font-family: ui-monospace, monospace; }
.expr { word-break: break-all; }
.law { font-family: ui-monospace, monospace; font-size: 1.2em; padding: 0.3em 0.6em; background: #f3f8f3; border-left: 4px solid #2ca02c; display: inline-block; }
.meta { color: #555; font-size: 0.9em; }
.status-accepted { color: #2ca02c; font-weight: 600; }
.status-rejected { color: #d62728; }
.status-superseded { color: #ff7f0e; }
.status-open { color: #1f77b4; }
.outcome-accepted { color: #2ca02c; font-weight: 600; }
.outcome-consistent { color: #ff7f0e; font-weight: 600; }
.outcome-not-found { color: #d62728; font-weight: 600; }
.live { color: #b35c00; font-weight: 600; }
form.filters { display: flex; gap: 0.8em; align-items: end; flex-wrap: wrap; margin: 0.5em 0; }
form.filters label { display: flex; flex-direction: column; font-size: 0.85em; color: #444; }
img.plot { max-width: 100%; height: auto; border: 1px solid #eee; }
pre.why { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; white-space: pre-wrap; }
.progress dt { font-weight: 600; float: left; clear: left; width: 9em; }
.progress dd { margin-left: 10em; }
"""

SCRIPT = """
"use strict";
// Live progress: poll the JSON named by data-progress and fill elements by id.
function fill(prefix, doc) {
  for (const [key, value] of Object.entries(doc)) {
    const el = document.getElementById(prefix + key);
    if (el) { el.textContent = value === null ? "-" : String(value); }
  }
}
async function pollCampaign(el) {
  try {
    const reply = await fetch(el.dataset.progress, {cache: "no-store"});
    if (!reply.ok) { return; }
    const doc = await reply.json();
    fill("p-", doc);
    if (doc.live) { setTimeout(() => pollCampaign(el), 2000); }
  } catch (err) { setTimeout(() => pollCampaign(el), 5000); }
}
async function pollList(el) {
  try {
    const reply = await fetch(el.dataset.campaigns, {cache: "no-store"});
    if (!reply.ok) { return; }
    const rows = await reply.json();
    for (const row of rows) { fill("c-" + row.campaign_id + "-", row); }
    if (rows.some((r) => r.live)) { setTimeout(() => pollList(el), 3000); }
  } catch (err) { setTimeout(() => pollList(el), 5000); }
}
document.addEventListener("DOMContentLoaded", () => {
  const progress = document.querySelector("[data-progress]");
  if (progress && progress.dataset.live === "true") { pollCampaign(progress); }
  const list = document.querySelector("[data-campaigns]");
  if (list && list.dataset.live === "true") { pollList(list); }
});
"""

_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}lawloop{% endblock %}</title>
<link rel="stylesheet" href="{{ url_for('style') }}">
<script src="{{ url_for('script') }}" defer></script>
</head>
<body>
<header><a href="{{ url_for('index') }}">lawloop</a> <span class="subtitle">read-only dashboard of {{ database }}</span></header>
<main>
{% block body %}{% endblock %}
</main>
</body>
</html>
"""

_INDEX = """{% extends "base.html" %}
{% block title %}lawloop: campaigns{% endblock %}
{% block body %}
<h1>Campaigns</h1>
{% if not campaigns %}<p>No campaign in this database yet. Start one with <code>python run.py campaign start --backend core/Pendulum-v0</code>.</p>{% endif %}
<table id="campaigns" data-campaigns="{{ url_for('api_campaigns') }}" data-live="{{ 'true' if any_live else 'false' }}">
<tr><th>name</th><th>id</th><th>backend</th><th>status</th><th>outcome</th><th>iterations</th><th>measurements</th><th>best law</th></tr>
{% for c in campaigns %}
<tr class="campaign-row">
<td><a class="campaign-link" href="{{ url_for('campaign_page', campaign=c.campaign_id) }}">{{ c.name }}</a></td>
<td><code>{{ c.campaign_id[:8] }}</code></td>
<td>{{ c.backend }}</td>
<td id="c-{{ c.campaign_id }}-status" class="{{ 'live' if c.live else '' }}">{{ c.status }}</td>
<td id="c-{{ c.campaign_id }}-outcome" class="outcome-{{ (c.outcome or '-')|replace(' ', '-') }}">{{ c.outcome or "-" }}</td>
<td class="num" id="c-{{ c.campaign_id }}-iterations">{{ c.iterations }}</td>
<td class="num" id="c-{{ c.campaign_id }}-measurements">{{ c.measurements }}</td>
<td class="expr" id="c-{{ c.campaign_id }}-best_expression">{{ c.best_expression or "-" }}</td>
</tr>
{% endfor %}
</table>
{% endblock %}
"""

_CAMPAIGN = """{% extends "base.html" %}
{% block title %}lawloop: {{ p.name }}{% endblock %}
{% block body %}
<h1>Campaign {{ p.name }}</h1>
<p class="meta"><code>{{ p.campaign_id }}</code> &middot; backend <code>{{ p.backend }}</code> &middot; planner {{ campaign.planner }} &middot; seed {{ campaign.seed }}
&middot; <a href="{{ url_for('campaign_report', campaign=p.campaign_id) }}">full report (HTML)</a></p>
<dl class="progress" id="progress" data-progress="{{ url_for('api_progress', campaign=p.campaign_id) }}" data-live="{{ 'true' if p.live else 'false' }}">
<dt>status</dt><dd id="p-status" class="{{ 'live' if p.live else '' }}">{{ p.status }}</dd>
<dt>outcome</dt><dd id="p-outcome" class="outcome-{{ (p.outcome or '-')|replace(' ', '-') }}">{{ p.outcome or "-" }}</dd>
<dt>iterations</dt><dd><span id="p-iterations">{{ p.iterations }}</span> of <span id="p-max_iterations">{{ p.max_iterations }}</span></dd>
<dt>measurements</dt><dd><span id="p-measurements">{{ p.measurements }}</span> of <span id="p-max_measurements">{{ p.max_measurements }}</span></dd>
<dt>best law</dt><dd class="expr"><span id="p-best_expression">{{ p.best_expression or "-" }}</span> (<span id="p-best_status">{{ p.best_status or "-" }}</span>)</dd>
<dt>precision</dt><dd id="p-best_holds_to">{{ p.best_holds_to or "-" }}</dd>
<dt>hypotheses</dt><dd id="p-hypotheses">{{ p.hypotheses }}</dd>
<dt>last activity</dt><dd id="p-updated_at">{{ p.updated_at or "-" }}</dd>
</dl>

<h2>Data and the best laws</h2>
<img class="plot" data-figure="data" alt="data and the best laws" src="{{ url_for('campaign_figure', campaign=p.campaign_id, name='data') }}" width="1000" height="400">
<img class="plot" data-figure="residuals" alt="residuals" src="{{ url_for('campaign_figure', campaign=p.campaign_id, name='residuals') }}" width="1000" height="360">
<h2>Complexity and error; timeline; budget</h2>
<img class="plot" data-figure="pareto" alt="complexity-error front" src="{{ url_for('campaign_figure', campaign=p.campaign_id, name='pareto') }}" width="1000" height="400">
<img class="plot" data-figure="timeline" alt="hypothesis timeline" src="{{ url_for('campaign_figure', campaign=p.campaign_id, name='timeline') }}" width="1000" height="340">
<img class="plot" data-figure="budget" alt="budget use" src="{{ url_for('campaign_figure', campaign=p.campaign_id, name='budget') }}">

<h2 id="log">Hypothesis log</h2>
<form class="filters" id="filters" method="get" action="{{ url_for('campaign_page', campaign=p.campaign_id) }}#log">
<label>status
<select name="status" id="filter-status">
<option value="">any</option>
{% for s in statuses %}<option value="{{ s }}"{% if s == query.status %} selected{% endif %}>{{ s }}</option>{% endfor %}
</select></label>
<label>source
<select name="source" id="filter-source">
<option value="">any</option>
{% for s in sources %}<option value="{{ s }}"{% if s == query.source %} selected{% endif %}>{{ s }}</option>{% endfor %}
</select></label>
<label>text <input type="search" name="q" id="filter-q" value="{{ query.q }}" placeholder="e.g. sqrt(L)"></label>
<input type="hidden" name="sort" value="{{ query.sort }}">
<input type="hidden" name="order" value="{{ query.order }}">
<button type="submit" id="filter-apply">Filter</button>
<a href="{{ url_for('campaign_page', campaign=p.campaign_id) }}#log">clear</a>
</form>
<p class="meta" id="log-count">{{ rows|length }} of {{ total }} hypotheses. Score: BIC of the latest fit (lower is better); chi2: reduced chi-square.</p>
<table id="hypothesis-log">
<tr>
{% for key, title in columns %}
<th><a class="sort" data-sort="{{ key }}" href="{{ sort_url(key) }}">{{ title }}{% if query.sort == key %} {{ "&#9650;"|safe if query.order == "asc" else "&#9660;"|safe }}{% endif %}</a></th>
{% endfor %}
</tr>
{% for r in rows %}
<tr class="hypothesis-row" data-status="{{ r.status }}" data-source="{{ r.source }}">
<td><a class="hypothesis-link" href="{{ url_for('hypothesis_page', hypothesis=r.id) }}"><code>{{ r.id[:8] }}</code></a></td>
<td class="num">{{ r.iteration if r.iteration is not none else "-" }}</td>
<td>{{ r.source }}</td>
<td class="status-{{ r.status }}">{{ r.status }}</td>
<td class="num">{{ r.score|num }}</td>
<td class="num">{{ r.chi2|num(3) }}</td>
<td class="num">{{ r.complexity|num }}</td>
<td class="expr">{{ r.expression }}</td>
</tr>
{% endfor %}
</table>
{% endblock %}
"""

_HYPOTHESIS = """{% extends "base.html" %}
{% block title %}lawloop: hypothesis {{ h.id[:8] }}{% endblock %}
{% block body %}
<p class="meta"><a href="{{ url_for('campaign_page', campaign=campaign.id) }}#log">&larr; campaign {{ campaign.name }}</a></p>
<h1>Hypothesis <code>{{ h.id[:8] }}</code> <span class="status-{{ h.status }}" id="hypothesis-status">{{ h.status }}</span></h1>
<p class="law" id="hypothesis-law">{{ target }} = {{ law.text }}</p>
{% if equation %}<p><img id="equation" alt="the law, typeset" src="{{ equation }}" width="{{ equation_size[0] // 2 }}" height="{{ equation_size[1] // 2 }}"></p>{% endif %}
<p class="meta">with free constants: <code>{{ h.expression }}</code>{% if law.latex %} &middot; LaTeX: <code>{{ law.latex }}</code>{% endif %}<br>
id <code>{{ h.id }}</code> &middot; source {{ h.source }} &middot; proposed in iteration {{ why.hypothesis.iteration if why.hypothesis.iteration is not none else "-" }}
&middot; score {{ h.score|num }} &middot; units: {{ "consistent" if h.units_consistent else ("inconsistent" if h.units_consistent is false else "not checked") }}{% if h.units_message %} ({{ h.units_message }}){% endif %}</p>
{% if h.statement %}<p>{{ h.statement }}</p>{% endif %}

<h2>Data and residuals</h2>
<img class="plot" id="hypothesis-plot" data-figure="law" alt="data against this law, and its residuals" src="{{ url_for('hypothesis_plot', hypothesis=h.id) }}" width="1000" height="360">

{% if constants %}
<h2>Constants (latest fit)</h2>
<table id="constants"><tr><th>constant</th><th>value</th><th>&plusmn; standard error</th><th>relative</th></tr>
{% for row in constants %}<tr><td><code>{{ row.name }}</code></td><td class="num">{{ row.value|num(8) }}</td><td class="num">&plusmn; {{ row.stderr|num(3) }}</td><td class="num">{{ row.relative|pct }}</td></tr>{% endfor %}
</table>
{% endif %}

<h2>Decision</h2>
{% if why.decision %}
<p><strong>{{ why.decision.kind }}</strong>{% if why.decision.iteration is not none %} in iteration {{ why.decision.iteration }}{% endif %}: {{ why.decision.reason }}
{% if why.decision.by %}(by <a href="{{ url_for('hypothesis_page', hypothesis=why.decision.by.id) }}"><code>{{ why.decision.by.expression }}</code></a>){% endif %}</p>
{% else %}<p>No decision about it yet.</p>{% endif %}
<table id="decisions"><tr><th>iteration</th><th>kind</th><th>role</th><th>reason</th></tr>
{% for d in why.decisions %}<tr><td class="num">{{ d.iteration if d.iteration is not none else "-" }}</td><td>{{ d.kind }}</td><td>{{ d.role }}</td><td>{{ d.reason }}</td></tr>{% endfor %}
</table>

<h2>Lineage</h2>
<p>Origin: {{ why.origin.source }}{% if why.origin.rationale %}: {{ why.origin.rationale }}{% endif %}</p>
<table id="proposed-by"><tr><th>proposed by</th><th>planner</th><th>template</th><th>iteration</th><th>created it</th><th>error</th></tr>
{% for c in why.origin.proposed_by %}<tr><td><code>{{ c.id[:8] }}</code></td><td>{{ c.planner or c.kind }}</td><td>{{ c.template_name }}</td><td class="num">{{ c.iteration if c.iteration is not none else "-" }}</td><td>{{ "yes" if c.created else "no" }}</td><td>{{ c.error or "" }}</td></tr>{% endfor %}
</table>
{% if why.origin.parents %}<p>Parents:</p><ul id="parents">
{% for q in why.origin.parents %}<li><a href="{{ url_for('hypothesis_page', hypothesis=q.id) }}"><code>{{ q.expression }}</code></a> <span class="status-{{ q.status }}">{{ q.status }}</span> ({{ q.via }})</li>{% endfor %}
</ul>{% endif %}
{% if why.origin.derived %}<p>Laws derived from it:</p><ul id="derived">
{% for q in why.origin.derived %}<li><a href="{{ url_for('hypothesis_page', hypothesis=q.id) }}"><code>{{ q.expression }}</code></a> <span class="status-{{ q.status }}">{{ q.status }}</span></li>{% endfor %}
</ul>{% endif %}

<h2>Fits</h2>
<table id="fits"><tr><th>iteration</th><th>method</th><th>ok</th><th>parameters</th><th>n</th><th>chi2</th><th>bound</th><th>BIC</th><th>RMSE</th><th>fresh-data test</th></tr>
{% for f in why.fits %}<tr>
<td class="num">{{ f.iteration if f.iteration is not none else "-" }}</td><td>{{ f.method }}</td><td>{{ "yes" if f.success else "no: " ~ f.message }}</td>
<td>{% for k, v in (f.parameters or {}).items() %}<code>{{ k }}</code> = {{ v|num(6) }}{% if (f.stderr or {}).get(k) is not none %} &plusmn; {{ f.stderr[k]|num(2) }}{% endif %}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td class="num">{{ f.scores.get("n")|num }}</td><td class="num">{{ f.scores.get("chi2")|num(3) }}</td><td class="num">{{ f.scores.get("bound")|num(3) }}</td>
<td class="num">{{ f.scores.get("bic")|num(6) }}</td><td class="num">{{ f.scores.get("rmse")|num(3) }}</td>
<td>{% if f.fresh %}{{ f.fresh|fresh }}{% else %}-{% endif %}</td>
</tr>{% endfor %}
</table>

<h2>Why this status</h2>
<pre class="why" id="why">{{ why_text }}</pre>
{% endblock %}
"""

_NOT_FOUND = """{% extends "base.html" %}
{% block title %}lawloop: not found{% endblock %}
{% block body %}
<h1>Not found</h1>
<p>{{ message }}</p>
<p><a href="{{ url_for('index') }}">All campaigns</a></p>
{% endblock %}
"""

TEMPLATES = {
    "base.html": _BASE,
    "index.html": _INDEX,
    "campaign.html": _CAMPAIGN,
    "hypothesis.html": _HYPOTHESIS,
    "not_found.html": _NOT_FOUND,
}
"""Template name to Jinja2 source; names end in `.html`, so Flask autoescapes them."""
