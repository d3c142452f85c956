"""Rendering a `why` explanation: plain text for people, Graphviz DOT for pictures.

Both renderers read only the plain dict `agent.views._why.explain` returns, so an
explanation saved as JSON renders the same later.

Example:
    >>> why = explain(store, "dcb4e1f5")  # doctest: +SKIP
    >>> print(to_text(why).splitlines()[0])  # doctest: +SKIP
    why hypothesis dcb4e1f5-c3a0-5cf4-b41f-7fab2e4e6c4e is accepted
    >>> to_dot(why).startswith("digraph")  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["number", "to_dot", "to_text"]


def number(value: Any, spec: str = ".3g") -> str:
    """A number for reading (integers in full), `n/a` for a missing one."""
    if value is None:
        return "n/a"
    if isinstance(value, bool | int) or not isinstance(value, float):
        return str(value)
    return format(value, spec)


def _signed(value: Any) -> str:
    """A difference with its sign, `n/a` for a missing one."""
    return "n/a" if value is None else format(value, "+.3g")


def _law(b: Mapping[str, Any]) -> str:
    """A hypothesis named by id, status and expression."""
    return f"{b['id']} ({b.get('status', '?')}) {b.get('expression', '?')}"


def _call_line(c: Mapping[str, Any]) -> str:
    """One planner call or SR run that proposed a law."""
    what = "created by" if c.get("created") else "also proposed by"
    if c.get("kind") == "sr":
        space = c.get("space")
        if isinstance(space, Mapping):
            space = f"groups {space.get('groups')} times {space.get('scale')}"
        return (
            f"{what} SR run {c['id']} ({c.get('planner')}, engine {c.get('engine')}, "
            f"iteration {c.get('iteration')}, {c.get('n_points')} points, seed {c.get('seed')}, "
            f"search space: {space})"
        )
    error = f", error: {c['error']}" if c.get("error") else ""
    return (
        f"{what} planner call {c['id']} ({c.get('planner')}, template "
        f"{c.get('template_name')}, iteration {c.get('iteration')}{error})"
    )


def _origin_lines(origin: Mapping[str, Any], indent: str) -> list[str]:
    """Rationale, proposers, admission and parents, each parent indented below."""
    lines = []
    if origin.get("rationale"):
        lines.append(f"{indent}rationale: {origin['rationale']}")
    lines.extend(f"{indent}{_call_line(c)}" for c in origin.get("proposed_by", []))
    adm = origin.get("admission")
    if adm and adm.get("outcome") == "rejected":
        lines.append(f"{indent}rejected at admission: {adm.get('reason')}")
        if adm.get("repair"):
            lines.append(f"{indent}  repaired as {adm['repair']}")
    for p in origin.get("parents", []):
        via = f" by {p['via']}" if p.get("via") else ""
        lines.append(f"{indent}derived{via} from {_law(p)}")
        sd = p.get("status_decision")
        if sd and sd.get("source") != "formalize":  # the admission line says it
            lines.append(f"{indent}  {sd['kind']}: {sd['reason']}")
        if p.get("origin"):
            lines.extend(_origin_lines(p["origin"], indent + "  "))
    return lines


def _fit_lines(f: Mapping[str, Any]) -> list[str]:
    """A fit, the runs it was fitted on, and its fresh-data test."""
    s = f["scores"]
    head = (
        f"  fit {f['id']} (iteration {f['iteration']}): {number(s['n'])} points, "
        f"reduced chi-square {number(s['chi2'])} (bound {number(s['bound'])}), "
        f"BIC {number(s['bic'], '.5g')}, complexity {number(s['complexity'])}, seed {number(f['seed'])}"
    )
    if not f["success"]:
        head += f"; failed: {f['message']}"
    lines = [head]
    for r in f["runs"]:
        sha = (r.get("data_sha256") or "none")[:12]
        tag = " [fresh]" if r.get("fresh") else ""
        lines.append(
            f"    fitted on run {r['id']}{tag} (iteration {r.get('iteration')}, "
            f"{r.get('n_points')} points, seed {r.get('seed')}, data {sha}): "
            f"{r.get('design_reason')}"
        )
    fresh = f.get("fresh")
    if fresh:
        verdict = "passed" if fresh["passed"] else "failed"
        lines.append(
            f"    fresh test: {fresh['n']} new points predicted with the constants fitted "
            f"before they were measured: reduced chi-square {number(fresh['chi2'])} vs bound "
            f"{number(fresh['bound'])}, {verdict} (streak {fresh['streak']})"
        )
    return lines


def _rival_lines(rivals: Mapping[str, Any]) -> list[str]:
    """Rank per iteration, the laws beaten or lost to, replacements."""
    lines = []
    for r in rivals["rankings"]:
        rank = (
            "not ranked (fit failed)"
            if r["rank"] is None
            else f"ranked {r['rank']} of {r['of']}"
        )
        ok = "adequate" if r["adequate"] else "not adequate"
        lines.append(
            f"  iteration {r['iteration']}: {rank}, {ok} ({r['decision_kind']} decision {r['decision_id']})"
        )
        for a in r["against"]:
            lines.append(
                f"    {a['relation'].replace('-', ' ')} {_law(a)}: {a['rule']}; "
                f"its chi-square {_signed(a['d_chi2'])}, BIC {_signed(a['d_bic'])}, "
                f"complexity {_signed(a['d_complexity'])} relative to this law"
            )
    acc = rivals.get("accepted")
    last = rivals["rankings"][-1] if rivals["rankings"] else None
    if (
        acc
        and last
        and any(
            a["id"] == acc["id"] and last["iteration"] == acc.get("iteration_compared")
            for a in last["against"]
        )
    ):
        acc = None  # the last ranking compared the two already
    if acc:
        lines.append(f"  the accepted law: {_law(acc)}")
        if acc.get("iteration_compared") is not None:
            lines.append(
                f"    in iteration {acc['iteration_compared']}: {acc['rule']}; its BIC "
                f"{_signed(acc['d_bic'])}, complexity {_signed(acc['d_complexity'])} relative to this law"
            )
    for b in rivals.get("replaced_by", []):
        lines.append(f"  replaced by {_law(b)}")
    replaced = rivals.get("replaced", [])
    if replaced:
        lines.append(f"  replaced {len(replaced)} law(s):")
        lines.extend(f"    {_law(b)}" for b in replaced)
    return lines or ["  none: it was never ranked"]


def _evidence_line(d: Mapping[str, Any]) -> str:
    """The numbers a status decision rests on, in one line."""
    ev = d.get("evidence") or {}
    if d.get("source") == "formalize":
        return f"units check: {ev.get('units_message')}"
    parts = [
        f"reduced chi-square {number(ev.get('chi2'))} vs bound {number(ev.get('bound'))}"
    ]
    if ev.get("chi2_over_bound") is not None:
        parts[0] += f" ({number(ev['chi2_over_bound'])} times the bound)"
    if ev.get("fresh_chi2") is not None:
        parts.append(
            f"fresh reduced chi-square {number(ev['fresh_chi2'])} vs bound {number(ev.get('fresh_bound'))}"
        )
    if ev.get("streak") is not None and ev.get("confirmations") is not None:
        parts.append(f"streak {ev['streak']} of {ev['confirmations']} required")
    parts.append(
        f"BIC {number(ev.get('bic'), '.5g')}, complexity {number(ev.get('complexity'))}"
    )
    if ev.get("d_bic") is not None:
        parts.append(f"BIC {_signed(ev['d_bic'])} relative to the law that beat it")
    if ev.get("d_complexity") is not None:
        parts.append(
            f"complexity {_signed(ev['d_complexity'])} relative to the accepted law"
        )
    if ev.get("rank") is not None:
        parts.append(f"ranked {ev['rank']} of {ev.get('of')}")
    return "; ".join(parts)


def to_text(why: Mapping[str, Any]) -> str:
    """Render an explanation as plain text, one fact a line, ids in full.

    Args:
        why: What `explain` returned.

    Returns:
        The text, ending with a newline.
    """
    h, c, origin = why["hypothesis"], why["campaign"], why["origin"]
    lines = [
        f"why hypothesis {h['id']} is {h['status']}",
        f"  {h.get('statement') or h['expression']}",
        f"  campaign {c['name']} ({c['id']}), backend {c['backend_id']}",
        "",
        "where it came from",
        f"  iteration {origin['iteration']}, source {origin['source']}",
        *_origin_lines(origin, "  "),
    ]
    lines.extend(f"  derived into {_law(d)}" for d in origin.get("derived", []))
    lines += ["", "data it was fitted and tested on"]
    lines += [x for f in why["fits"] for x in _fit_lines(f)] or ["  never fitted"]
    lines += ["", "rivals", *_rival_lines(why["rivals"]), "", "decision"]
    d = why.get("decision")
    if d is None:
        lines.append(f"  no decision has judged it yet (status {h['status']})")
    elif d.get("source") == "ranking":
        lines.append(
            f"  still {h['status']}: last ranked in iteration {d['iteration']}, whose "
            f"{d['kind']} decision {d['id']} said: {d['reason']}"
        )
        lines.append(f"  evidence: {_evidence_line(d)}")
        if d.get("by"):
            lines.append(f"  led by {_law(d['by'])}")
    else:
        lines.append(
            f"  {d['kind']} in iteration {d['iteration']} (decision {d['id']}): {d['reason']}"
        )
        lines.append(f"  evidence: {_evidence_line(d)}")
        if d.get("by"):
            lines.append(f"  beaten by {_law(d['by'])}")
    return "\n".join(lines) + "\n"


# -- Graphviz ----------------------------------------------------------------------

_STYLE = {
    "hypothesis": 'shape=box, style="rounded,filled"',
    "planner_call": 'shape=parallelogram, style=filled, fillcolor="#e8f0ff"',
    "model_fit": 'shape=note, style=filled, fillcolor="#fff8e0"',
    "experiment_run": 'shape=cylinder, style=filled, fillcolor="#e8ffe8"',
    "decision": 'shape=diamond, style=filled, fillcolor="#ffe8e8"',
}
_STATUS_COLOUR = {
    "accepted": "#b7f0b1",
    "rejected": "#f4b6b6",
    "superseded": "#f6deb0",
    "open": "#ffffff",
}


def _quote(text: str) -> str:
    """A DOT double-quoted string."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def _clip(text: str, n: int = 60) -> str:
    """`text` cut to `n` characters, for a node label."""
    return text if len(text) <= n else text[: n - 1] + "…"


class _Dot:
    """Collects nodes and labelled edges, each once, and prints a digraph."""

    def __init__(self) -> None:
        self.nodes: dict[str, str] = {}
        self.edges: dict[tuple[str, str, str], str] = {}

    def node(self, kind: str, row_id: str, lines: list[str], extra: str = "") -> str:
        """Add the node of a row (once); returns its DOT id, `kind:row_id`."""
        key = f"{kind}:{row_id}"
        if key not in self.nodes:
            style = _STYLE[kind] + (f", {extra}" if extra else "")
            label = _quote("\n".join(lines))
            self.nodes[key] = f"  {_quote(key)} [label={label}, {style}];"
        return key

    def edge(self, a: str, b: str, label: str, *, dashed: bool = False) -> None:
        """Add the edge `a -> b` with this label (once)."""
        style = ", style=dashed" if dashed else ""
        line = f"  {_quote(a)} -> {_quote(b)} [label={_quote(label)}{style}];"
        self.edges.setdefault((a, b, label), line)

    def law(self, b: Mapping[str, Any], *, main: bool = False) -> str:
        """Add a hypothesis node, coloured by its status; the explained one bold."""
        colour = _STATUS_COLOUR.get(str(b.get("status")), "#eeeeee")
        extra = f'fillcolor="{colour}"' + (", penwidth=3" if main else "")
        lines = [
            f"hypothesis {b['id'][:8]} ({b.get('status')})",
            _clip(str(b.get("expression"))),
        ]
        return self.node("hypothesis", b["id"], lines, extra)

    def text(self, name: str) -> str:
        """The digraph's source."""
        head = [
            f"digraph {_quote(name)} {{",
            "  rankdir=LR;",
            '  node [fontname="Helvetica"];',
            '  edge [fontname="Helvetica", fontsize=10];',
        ]
        return (
            "\n".join([*head, *self.nodes.values(), *self.edges.values(), "}"]) + "\n"
        )


def _dot_origin(dot: _Dot, key: str, origin: Mapping[str, Any]) -> None:
    """The proposers and parents of a law, recursively."""
    for c in origin.get("proposed_by", []):
        what = "SR run" if c.get("kind") == "sr" else "planner call"
        lines = [
            f"{what} {c['id'][:8]}",
            f"{c.get('planner')} / {c.get('template_name')}",
            f"iteration {c.get('iteration')}",
        ]
        dot.edge(key, dot.node("planner_call", c["id"], lines), "proposed-by")
    for p in origin.get("parents", []):
        pkey = dot.law(p)
        dot.edge(key, pkey, "derived-from")
        if p.get("origin"):
            _dot_origin(dot, pkey, p["origin"])


def _dot_data(dot: _Dot, key: str, fits: list[Mapping[str, Any]]) -> None:
    """The fits of the law and the runs each was fitted on."""
    for f in fits:
        s = f["scores"]
        fkey = dot.node(
            "model_fit",
            f["id"],
            [
                f"fit {f['id'][:8]}",
                f"iteration {f['iteration']}, {s['n']} points",
                f"chi2 {number(s['chi2'])} (bound {number(s['bound'])})",
            ],
        )
        dot.edge(key, fkey, "tested-by")
        for r in f["runs"]:
            lines = [
                f"run {r['id'][:8]}",
                f"iteration {r.get('iteration')}, {r.get('n_points')} points",
                f"data {(r.get('data_sha256') or 'none')[:12]}",
                _clip(str(r.get("design_reason")), 40),
            ]
            dot.edge(fkey, dot.node("experiment_run", r["id"], lines), "fitted-on")


def _dot_rivals(dot: _Dot, key: str, rivals: Mapping[str, Any]) -> None:
    """Who outranked whom (dashed, one edge a pair) and the replaced-by edges."""
    outranked: dict[tuple[str, str], list[str]] = {}
    for r in rivals["rankings"]:
        for a in r["against"]:
            other = dot.law(a)
            pair = (key, other) if a["relation"] == "beat" else (other, key)
            outranked.setdefault(pair, []).append(str(r["iteration"]))
    for (win, lose), iterations in outranked.items():
        dot.edge(
            win, lose, f"outranked (iteration {', '.join(iterations)})", dashed=True
        )
    for b in rivals.get("replaced_by", []):
        dot.edge(key, dot.law(b), "replaced-by")
    for b in rivals.get("replaced", []):
        dot.edge(dot.law(b), key, "replaced-by")


def to_dot(why: Mapping[str, Any]) -> str:
    """Render an explanation as a Graphviz digraph (`dot -Tsvg` draws it).

    Nodes are the hypothesis (bold), its parents, the planner calls and SR
    runs that proposed them, its fits, the experiment runs they were fitted
    on, the decision that set its status and its rivals. Solid edges are
    recorded lineage, labelled with the relation (`proposed-by`,
    `derived-from`, `tested-by`, `fitted-on`, `supported-by`, `refuted-by`,
    `replaced-by`); dashed ones are the judge's rankings and decisions
    recorded without an edge (a supersede, a units check at admission).

    Args:
        why: What `explain` returned.

    Returns:
        DOT source text.
    """
    dot = _Dot()
    h = why["hypothesis"]
    key = dot.law(h, main=True)
    _dot_origin(dot, key, why["origin"])
    _dot_data(dot, key, why["fits"])
    _dot_rivals(dot, key, why["rivals"])
    d = why.get("decision")
    dkey = None
    if d is not None:
        lines = [
            f"{d['kind']} {d['id'][:8]}",
            f"iteration {d['iteration']}",
            _clip(d["reason"], 50),
        ]
        dkey = dot.node("decision", d["id"], lines)
        if d.get("by"):
            dot.edge(dkey, dot.law(d["by"]), "in favour of", dashed=True)
    nodes = {k.split(":", 1)[1]: k for k in dot.nodes}
    linked = False
    for e in why.get("lineage", []):
        a, b = nodes.get(e["source"]), nodes.get(e["target"])
        if a and b:
            dot.edge(a, b, e["relation"])
            linked = linked or {a, b} == {key, dkey}
    if d is not None and dkey is not None and not linked:
        how = "last ranked by" if d.get("source") == "ranking" else "decided by"
        dot.edge(key, dkey, f"{how} ({d['kind']})", dashed=True)
    return dot.text(f"why {h['id']}")
