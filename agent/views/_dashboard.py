"""The local, read-only web dashboard (`python run.py serve`), a Flask app.

Pages: the campaign list, a campaign (live progress, figures, the hypothesis
log sortable and filterable through query parameters), a hypothesis (plot,
constants, decision, lineage, fits, the `why` explanation) and the campaign's
full report. JSON endpoints feed the live progress. The store is opened with
`storage.open_read_only`, every route answers GET (and HEAD) only, and any
other method gets 405 before a route runs; when bound to a loopback address
the app also refuses requests whose `Host` is not a loopback name, so a web
page elsewhere cannot read it through DNS rebinding.
"""

from __future__ import annotations

import base64
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lawloop.agent.record import FitScores
from lawloop.agent.views import _plots
from lawloop.agent.views._campaign import CampaignView, best_laws, law_for, load_view
from lawloop.agent.views._dashboard_pages import SCRIPT, STYLE, TEMPLATES
from lawloop.agent.views._hypotheses import HypothesisQuery
from lawloop.agent.views._report import constants_table, format_number, render_report
from lawloop.agent.views._summary import campaign_summary
from lawloop.agent.views._why import explain, to_text
from lawloop.storage import (
    AmbiguousIdError,
    HypothesisRecord,
    NotFoundError,
    Store,
    open_read_only,
)

if TYPE_CHECKING:
    from flask import Flask, Response
    from werkzeug.serving import BaseWSGIServer

__all__ = ["create_dashboard", "make_dashboard_server"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Addresses that only this machine reaches: the default, and `Host` names allowed there."""

_FIGURES = ("data", "residuals", "pareto", "timeline", "budget")
_COLUMNS = (
    ("id", "id"),
    ("iteration", "iteration"),
    ("source", "source"),
    ("status", "status"),
    ("score", "score"),
    ("chi2", "chi2"),
    ("complexity", "complexity"),
    ("expression", "expression"),
)
_STATUSES = ("accepted", "open", "rejected", "superseded")
_LIVE = ("created", "running")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'"
)


class _Cache:
    """PNG bytes by key, the most recent `size` kept (figures of unchanged campaigns)."""

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], make: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, made with `make` on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def create_dashboard(db_url: str, *, trusted_hosts: list[str] | None = None) -> Flask:
    """The dashboard's Flask app, reading the database at `db_url`.

    Args:
        db_url: A SQLAlchemy URL; the database must exist and is only read.
        trusted_hosts: `Host` names the app answers (others get 400); `None`
            answers any.

    Returns:
        The app (a WSGI callable); its store closes with the process.

    Raises:
        NotFoundError: A SQLite URL names a file that does not exist.
        StorageError: The schema is missing or at another revision.

    Example:
        >>> app = create_dashboard("sqlite:///lawloop.db")  # doctest: +SKIP
        >>> app.test_client().get("/").status_code  # doctest: +SKIP
        200
    """
    from flask import Flask  # noqa: PLC0415 - keeps `import agent` light
    from jinja2 import DictLoader  # noqa: PLC0415

    store = open_read_only(db_url)
    database = sa.make_url(db_url).render_as_string(hide_password=True)
    app = Flask("lawloop.dashboard", static_folder=None)
    app.jinja_loader = DictLoader(TEMPLATES)
    app.jinja_env.filters["num"] = format_number
    app.jinja_env.filters["pct"] = lambda x: "-" if x is None else f"{100 * x:.3g}%"
    app.jinja_env.filters["fresh"] = _fresh
    app.jinja_env.globals["database"] = database
    if trusted_hosts is not None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts
    _add_guards(app)
    _add_pages(app, store)
    _add_api(app, store)
    _add_figures(app, store, _Cache())
    return app


def _add_guards(app: Flask) -> None:
    """Read-only methods, security headers, and a 404 page for unknown ids and paths."""
    from flask import abort, render_template, request  # noqa: PLC0415
    from werkzeug.exceptions import HTTPException  # noqa: PLC0415

    @app.before_request
    def _read_only() -> None:
        # Defence in depth: the store cannot write anyway, but no route is
        # even reached by a method that could mean "change something".
        if request.method not in _SAFE_METHODS:
            abort(405)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(NotFoundError)
    @app.errorhandler(AmbiguousIdError)
    @app.errorhandler(404)
    def _not_found(error: Exception) -> tuple[str, int]:
        # The message echoes the id or path asked for: the template escapes
        # it, since the CSP is the second line of defence, not the first.
        message = (
            f"No page at `{request.path}`."
            if isinstance(error, HTTPException)
            else str(error)
        )
        return render_template("not_found.html", message=message), 404


def _add_pages(app: Flask, store: Store) -> None:
    """The HTML pages and their style and script."""
    from flask import Response, render_template, request  # noqa: PLC0415

    @app.get("/")
    def index() -> str:
        rows = [_progress(store, c.id) for c in store.list_campaigns()]
        return render_template(
            "index.html", campaigns=rows, any_live=any(r["live"] for r in rows)
        )

    @app.get("/assets/dashboard.css")
    def style() -> Response:
        return Response(STYLE, mimetype="text/css")

    @app.get("/assets/dashboard.js")
    def script() -> Response:
        return Response(SCRIPT, mimetype="text/javascript")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)  # no icon, and no 404 in the browser's console

    @app.get("/campaigns/<campaign>")
    def campaign_page(campaign: str) -> str:
        return _campaign_page(store, campaign, _query(request.args))

    @app.get("/campaigns/<campaign>/report.html")
    def campaign_report(campaign: str) -> Response:
        response = Response(render_report(store, campaign), mimetype="text/html")
        # The report carries its figures as data URIs and its style inline.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        )
        return response

    @app.get("/hypotheses/<hypothesis>")
    def hypothesis_page(hypothesis: str) -> str:
        return _hypothesis_page(store, hypothesis)


def _add_api(app: Flask, store: Store) -> None:
    """The JSON endpoints that feed the live progress."""
    from flask import jsonify, request  # noqa: PLC0415

    @app.get("/api/campaigns")
    def api_campaigns() -> Response:
        return jsonify([_progress(store, c.id) for c in store.list_campaigns()])

    @app.get("/api/campaigns/<campaign>")
    def api_progress(campaign: str) -> Response:
        return jsonify(_progress(store, store.get_campaign(campaign).id))

    @app.get("/api/campaigns/<campaign>/hypotheses")
    def api_hypotheses(campaign: str) -> Response:
        view = load_view(store, campaign)
        rows, _ = _log_rows(view, _query(request.args))
        return jsonify(rows)


def _add_figures(app: Flask, store: Store, cache: _Cache) -> None:
    """The PNG figures, cached until their campaign changes."""
    from flask import abort  # noqa: PLC0415

    @app.get("/campaigns/<campaign>/figures/<name>.png")
    def campaign_figure(campaign: str, name: str) -> Response:
        if name not in _FIGURES:
            abort(404)
        cid = store.get_campaign(campaign).id
        key = (*_version(store, cid), name)
        return _png(cache.get(key, lambda: _figure(store, cid, name)))

    @app.get("/hypotheses/<hypothesis>/plot.png")
    def hypothesis_plot(hypothesis: str) -> Response:
        h = store.get_hypothesis(hypothesis)

        def make() -> bytes:
            view = load_view(store, h.campaign_id)
            return _plots.law_figure(view, law_for(view, h))

        return _png(cache.get((*_version(store, h.campaign_id), "law", h.id), make))


def _campaign_page(store: Store, campaign: str, query: dict[str, str]) -> str:
    """A campaign's page: progress, figures and its hypothesis log as `query` asks."""
    from flask import render_template, url_for  # noqa: PLC0415

    view = load_view(store, campaign)
    rows, total = _log_rows(view, query)

    def sort_url(key: str) -> str:
        order = "desc" if query["sort"] == key and query["order"] == "asc" else "asc"
        args: dict[str, Any] = {k: v for k, v in query.items() if v}
        args |= {"sort": key, "order": order, "campaign": view.campaign.id}
        return url_for("campaign_page", **args) + "#log"

    return render_template(
        "campaign.html",
        campaign=view.campaign,
        p=_progress(store, view.campaign.id),
        rows=rows,
        total=total,
        query=query,
        statuses=_STATUSES,
        sources=sorted({h.source for h in view.hypotheses}),
        columns=_COLUMNS,
        sort_url=sort_url,
    )


def _hypothesis_page(store: Store, hypothesis: str) -> str:
    """A hypothesis's page: its law typeset, constants, plot and the `why` explanation."""
    from flask import render_template  # noqa: PLC0415

    h = store.get_hypothesis(hypothesis)
    view = load_view(store, h.campaign_id)
    law = law_for(view, h)
    equation = _plots.equation_image(law.latex) if law.latex else None
    why = explain(store, h.id)
    return render_template(
        "hypothesis.html",
        h=h,
        campaign=view.campaign,
        target=view.target,
        law=law,
        equation=None
        if equation is None
        else "data:image/png;base64," + base64.b64encode(equation).decode("ascii"),
        equation_size=_plots.png_size(equation) if equation else (0, 0),
        constants=constants_table(law),
        why=why,
        why_text=to_text(why),
    )


def _version(store: Store, cid: str) -> tuple[Any, ...]:
    """What changes when the campaign does: the cache key of its figures."""
    c = store.get_campaign(cid)
    iterations = store.iterations_for(cid)
    last = iterations[-1] if iterations else None
    return (
        cid,
        c.status,
        len(iterations),
        last.finished_at if last else None,
        len(store.list_hypotheses(cid)),
    )


def _png(data: bytes) -> Response:
    """PNG bytes as a response the browser revalidates."""
    from flask import Response  # noqa: PLC0415

    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "no-cache"
    return response


def make_dashboard_server(
    db_url: str, *, host: str = "127.0.0.1", port: int = 8765
) -> BaseWSGIServer:
    """A threaded HTTP server of the dashboard, bound and ready to `serve_forever()`.

    Args:
        db_url: A SQLAlchemy URL; the database must exist and is only read.
        host: Address to bind; the loopback default serves this machine only.
        port: TCP port; 0 picks a free one (read it back from `server.port`).

    Returns:
        The server; stop it with `shutdown()` from another thread, or Ctrl-C
        around `serve_forever()`, then `server_close()`.

    Raises:
        OSError: The address cannot be bound (port in use, unknown host).
        NotFoundError: A SQLite URL names a file that does not exist.
        StorageError: The schema is missing or at another revision.
    """
    from werkzeug.serving import make_server  # noqa: PLC0415 - keeps `import agent` light

    # One line per request is noise in the terminal; errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # On loopback, answer only loopback names: a page elsewhere whose DNS
    # name is re-pointed at 127.0.0.1 then gets 400 instead of the data.
    trusted = list(LOOPBACK) if host in LOOPBACK else None
    app = create_dashboard(db_url, trusted_hosts=trusted)
    return make_server(host, port, app, threaded=True)


def _progress(store: Store, cid: str) -> dict[str, Any]:
    """A campaign's progress as the pages and the JSON endpoints show it."""
    summary = campaign_summary(store, cid)
    c = store.get_campaign(cid)
    config = dict(c.config_json or {})
    iterations = store.iterations_for(cid)
    stamps = [t for it in iterations for t in (it.started_at, it.finished_at) if t]
    counts: dict[str, int] = {}
    for h in store.list_hypotheses(cid):
        counts[h.status] = counts.get(h.status, 0) + 1
    best = summary.get("best") or {}
    return {
        "campaign_id": cid,
        "name": c.name,
        "backend": c.backend_id,
        "status": c.status,
        "live": c.status in _LIVE,
        "outcome": summary.get("outcome"),
        "stop_reason": summary.get("stop_reason"),
        "iterations": summary["iterations"],
        "iterations_started": len(iterations),
        "max_iterations": config.get("max_iterations"),
        "measurements": summary["measurements"],
        "max_measurements": config.get("max_measurements"),
        "best_expression": best.get("expression"),
        "best_status": best.get("status"),
        "best_holds_to": best.get("holds_to"),
        "hypotheses": ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        or "none",
        "updated_at": max(stamps).strftime("%Y-%m-%d %H:%M:%S UTC") if stamps else None,
    }


def _query(args: Any) -> dict[str, str]:
    """The hypothesis-log query: filters and sort order, unknown values dropped."""
    sort = args.get("sort", "iteration")
    return {
        "status": args.get("status", "") if args.get("status") in _STATUSES else "",
        "source": str(args.get("source", ""))[:100],
        "q": str(args.get("q", ""))[:200],
        "sort": sort if sort in dict(_COLUMNS) else "iteration",
        "order": "desc" if args.get("order") == "desc" else "asc",
    }


def _log_rows(
    view: CampaignView, query: dict[str, str]
) -> tuple[list[dict[str, Any]], int]:
    """The hypothesis log filtered and sorted by `query`, and the unfiltered count.

    The filters are a `HypothesisQuery`, as on the command line; the order
    is the table's own: any column, ties in log order (reversed descending).
    """
    source = query["source"]
    wanted = HypothesisQuery(
        campaign=view.campaign.id,
        status=query["status"] or None,
        # One source as given, never split at commas; blank means any.
        source=(source,) if source.strip() else None,
        text=query["q"] or None,
    )
    rows = [
        _log_row(view, seq, h)
        for seq, h in enumerate(view.hypotheses)
        if wanted.admits(h)
    ]
    key = query["sort"]

    def missing(value: Any) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    # Missing values (an unfitted law's score) last in either order.
    present = [r for r in rows if not missing(r[key])]
    present.sort(key=lambda r: (r[key], r["seq"]), reverse=query["order"] == "desc")
    return present + [r for r in rows if missing(r[key])], len(view.hypotheses)


def _log_row(view: CampaignView, seq: int, h: HypothesisRecord) -> dict[str, Any]:
    """One line of the log: the hypothesis and its latest successful fit's scores."""
    fit = view.fits.get(h.id)
    scores = FitScores.read(fit.scores_json) if fit else None
    return {
        "id": h.id,
        "seq": seq,
        "iteration": view.iteration_index.get(h.iteration_id or ""),
        "source": h.source,
        "status": h.status,
        "score": h.score,
        "chi2": scores.chi2 if scores else None,
        "complexity": scores.complexity if scores else None,
        "expression": h.expression,
        "statement": h.statement,
    }


def _figure(store: Store, cid: str, name: str) -> bytes:
    """One of the campaign figures by name."""
    view = load_view(store, cid)
    if name in ("data", "residuals"):
        laws = best_laws(view)
        return (_plots.data_figure if name == "data" else _plots.residual_figure)(
            view, laws
        )
    return {
        "pareto": _plots.pareto_figure,
        "timeline": _plots.timeline_figure,
        "budget": _plots.budget_figure,
    }[name](view)


def _fresh(fresh: dict[str, Any]) -> str:
    """A fit's fresh-data test in words."""
    verdict = "passed" if fresh.get("passed") else "failed"
    return (
        f"{fresh.get('n', '?')} new points: reduced chi-square "
        f"{format_number(fresh.get('chi2'), 3)} vs bound {format_number(fresh.get('bound'), 3)}, "
        f"{verdict} (streak {fresh.get('streak', '?')})"
    )
