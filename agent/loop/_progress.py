"""What a running campaign shows and logs: a live view, event lines, a log file per campaign.

The graph calls `ProgressView.before` and `ProgressView.after` around each
node. They only note the node and the time, except after `run_experiments`
and `decide`, which read a few rows (the measurement count; the decision's
leader and rivals): a handful of queries per iteration, against seconds of
work. Drawing happens elsewhere: `rich.live.Live` redraws from its own
thread four times a second, and line output writes one line per event.

Three outputs, all optional: a live panel on a terminal (`live`), plain
timestamped lines on stderr when the output is a pipe or a file (`lines`),
and the campaign's log file, which gets every event and every node with its
duration, plus warnings logged by any library while the campaign runs.
Nothing goes to stdout, which stays for `--json`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from lawloop.agent._ids import node_id
from lawloop.agent.loop._config import CampaignConfig
from lawloop.agent.record import DecideEvidence
from lawloop.agent.views._usage import usage

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from lawloop.agent.loop._nodes import Loop

__all__ = ["ProgressMode", "ProgressView", "campaign_log_path", "resolve_mode"]

ProgressMode = Literal["auto", "live", "lines", "none"]
"""`live`: a rich panel on stderr; `lines`: one line per event on stderr;
`none`: only the log file; `auto`: `live` when stdout and stderr are
terminals, else `lines`."""

_RIVALS = 3


def resolve_mode(mode: ProgressMode) -> Literal["live", "lines", "none"]:
    """`auto` made concrete: a live view only when both stdout and stderr are terminals."""
    if mode != "auto":
        return mode
    return "live" if sys.stdout.isatty() and sys.stderr.isatty() else "lines"


def campaign_log_path(db_url: str, campaign_id: str) -> Path | None:
    """Where a campaign's log file goes: `logs/<id>.log` beside a SQLite file, else in the working directory.

    A private in-memory database gets none (nothing else can find its campaign).
    """
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
            return None
        base = Path(url.database).resolve().parent
    else:
        base = Path.cwd()
    return base / "logs" / f"{campaign_id}.log"


def _law(expression: str, parameters: Mapping[str, Any]) -> str:
    """The law with its fitted constants listed after it (no sympy: this must stay cheap)."""
    values = ", ".join(
        f"{k}={v:.6g}" if isinstance(v, int | float) else f"{k}={v}"
        for k, v in parameters.items()
    )
    return f"{expression}  [{values}]" if values else expression


def _score(scores: Mapping[str, Any]) -> str:
    """A law's scores in a few characters: BIC and reduced chi-square."""
    parts = []
    for key, label in (("bic", "BIC"), ("chi2", "chi2/dof")):
        value = scores.get(key)
        if isinstance(value, int | float):
            parts.append(f"{label} {value:.4g}")
    return ", ".join(parts)


class ProgressView:
    """The live view, event lines and log file of one run of a campaign; a context manager.

    Example:
        >>> with ProgressView(campaign_id, config, mode="lines", log_path=path) as view:  # doctest: +SKIP
        ...     view.event("started")
        ...     start_the_graph(hook=view)
    """

    def __init__(
        self,
        campaign_id: str,
        config: CampaignConfig,
        *,
        name: str = "",
        mode: ProgressMode = "none",
        log_path: Path | None = None,
    ) -> None:
        """Prepare the view; the log file opens and the live panel starts on entering.

        Args:
            campaign_id: The campaign.
            config: Its configuration (the budget limits).
            name: Its name, for the panel.
            mode: See `ProgressMode`.
            log_path: The log file (appended to), or `None` for none.
        """
        self.campaign_id = campaign_id
        self.config = config
        self.name = name
        self.mode = resolve_mode(mode)
        self.log_path = log_path
        self.iteration = 0
        self.node = ""
        self.notice = ""
        self.best: dict[str, Any] | None = None
        self.rivals: list[dict[str, Any]] = []
        self.used: dict[str, float] = {"iterations": 0, "measurements": 0}
        self._elapsed = 0.0  # campaign work time of finished iterations (graph state)
        self._iter_started: float | None = None
        self._node_started = time.monotonic()
        self._primed = False
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._handler: logging.Handler | None = None
        self._console: Console | None = None
        self._live: Live | None = None

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> ProgressView:
        """Open the log file (and copy logged warnings into it); start the live panel."""
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.log_path.open("a", encoding="utf-8", buffering=1)
            handler = logging.StreamHandler(self._file)
            handler.setLevel(logging.WARNING)
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            logging.getLogger().addHandler(handler)
            self._handler = handler
        if self.mode != "none":
            from rich.console import Console  # noqa: PLC0415 - only when something is shown

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        if self.mode == "live":
            from rich.live import Live  # noqa: PLC0415

            # stdout is left alone: it carries `--json` after the run.
            self._live = Live(
                console=self._console,
                get_renderable=self._render,
                refresh_per_second=4,
                redirect_stdout=False,
                redirect_stderr=True,
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the panel (its last frame stays on screen) and close the log file."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- events ------------------------------------------------------------------

    def event(self, line: str, *, shown: bool = True) -> None:
        """Log one event: to the log file and, unless `shown` is false, on the terminal.

        Safe from any thread and from a signal handler (the file is line
        buffered, rich's console has its own lock).
        """
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        text = f"{stamp} {self.campaign_id[:8]} {line}"
        with self._lock:
            if self._file is not None:
                self._file.write(text + "\n")
        if not shown:
            return
        if self.mode == "lines" and self._console is not None:
            self._console.print(text, markup=False, highlight=False)
        elif self.mode == "live":
            self.notice = line

    # -- the per-node hook -------------------------------------------------------

    def before(self, node: str, state: Mapping[str, Any], loop: Loop) -> None:
        """A node starts: note it (and, the first time, read where a resumed campaign stands)."""
        self.iteration = int(state.get("iteration", 0))
        self.node = node
        self._node_started = time.monotonic()
        if node == "design":
            self._elapsed = float(state.get("elapsed_s", 0.0))
            self._iter_started = None
        elif self._iter_started is None and state.get("iter_started"):
            self._elapsed = float(state.get("elapsed_s", 0.0))
            self._iter_started = float(state["iter_started"])
        if not self._primed:
            self._primed = True
            self.used["iterations"] = self.iteration
            self._read_measurements(loop)
            if self.iteration > 0:
                self._read_decision(loop, self.iteration - 1)

    def after(
        self,
        node: str,
        state: Mapping[str, Any],
        update: Mapping[str, Any],
        loop: Loop,
    ) -> None:
        """A node ended: log it; after `run_experiments` and `decide`, read what changed."""
        took = time.monotonic() - self._node_started
        k = int(state.get("iteration", 0))
        self.event(f"iteration {k} {node} done in {took:.2f} s", shown=False)
        if node == "design" and update.get("iter_started"):
            self._iter_started = float(update["iter_started"])
        elif node == "run_experiments":
            self._read_measurements(loop)
        elif node == "decide":
            self._elapsed = float(update.get("elapsed_s", self._elapsed))
            self._iter_started = None
            self.used["iterations"] = int(update.get("iteration", k + 1))
            kind = self._read_decision(loop, k)
            stop = update.get("stop_reason") or ""
            self.event(self._iteration_line(k, kind, stop))

    def _read_measurements(self, loop: Loop) -> None:
        self.used["measurements"] = loop.measured()

    def _read_decision(self, loop: Loop, k: int) -> str:
        """Best law, rivals and budget use from iteration `k`'s decision; returns its kind."""
        did = node_id(loop.campaign_id, k, "decide")
        decision = next(
            (d for d in loop.store.decisions_for(loop.campaign_id) if d.id == did),
            None,
        )
        if decision is None:
            return ""
        evidence = DecideEvidence.read(decision.evidence_json)
        self.used["measurements"] = evidence.measurements
        laws = []
        for i, entry in enumerate(evidence.top[:_RIVALS]):
            hid = entry.hypothesis
            h = loop.store.get_hypothesis(hid)
            parameters: dict[str, Any] = {}
            if i == 0 and evidence.leader_fit:
                fit = next(
                    (
                        f
                        for f in loop.store.fits_for(hid)
                        if f.id == evidence.leader_fit
                    ),
                    None,
                )
                parameters = dict(fit.parameters_json) if fit else {}
            s = entry.scores
            laws.append(
                {
                    "hypothesis_id": hid,
                    "expression": h.expression,
                    "parameters": parameters,
                    "scores": {"bic": s.bic, "chi2": s.chi2, "r2": s.r2},
                    "status": h.status,
                }
            )
        leader = evidence.leader
        self.best = laws[0] if laws and laws[0]["hypothesis_id"] == leader else None
        self.rivals = laws[1:] if self.best else laws
        if loop.llm is not None or self.config.planner == "llm":
            spent = usage(loop.store, loop.campaign_id)
            self.used["llm_calls"], self.used["llm_tokens"] = (
                spent.llm_calls,
                spent.llm_tokens,
            )
        return decision.kind

    # -- what is shown -----------------------------------------------------------

    def wall_s(self) -> float:
        """Campaign work time so far, as the time budget counts it."""
        running = (
            max(0.0, time.time() - self._iter_started) if self._iter_started else 0.0
        )
        return self._elapsed + running

    def budget(self) -> dict[str, dict[str, float | None]]:
        """Each budget: what is used and its limit (`None`: no limit)."""
        cfg = self.config
        out: dict[str, dict[str, float | None]] = {
            "iterations": {
                "used": self.used["iterations"],
                "limit": cfg.max_iterations,
            },
            "measurements": {
                "used": self.used["measurements"],
                "limit": cfg.max_measurements,
            },
            "wall_s": {"used": round(self.wall_s(), 3), "limit": cfg.time_limit},
        }
        if cfg.planner == "llm":
            out["llm_calls"] = {
                "used": self.used.get("llm_calls", 0),
                "limit": cfg.llm_max_calls,
            }
            out["llm_tokens"] = {
                "used": self.used.get("llm_tokens", 0),
                "limit": cfg.llm_max_tokens,
            }
        return out

    def snapshot(self) -> dict[str, Any]:
        """The progress as JSON-ready data (stored on the campaign row with each heartbeat)."""
        return {
            "iteration": self.iteration,
            "node": self.node,
            "best": self.best,
            "rivals": list(self.rivals),
            "budget": self.budget(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _budget_text(self) -> str:
        parts = []
        for key, label in (
            ("iterations", "iterations"),
            ("measurements", "measurements"),
            ("wall_s", "time"),
            ("llm_calls", "LLM calls"),
            ("llm_tokens", "LLM tokens"),
        ):
            item = self.budget().get(key)
            if item is None:
                continue
            used, limit = item["used"] or 0, item["limit"]
            unit = " s" if key == "wall_s" else ""
            shown = f"{used:.1f}" if key == "wall_s" else f"{int(used)}"
            cap = f"/{limit:g}{unit}" if limit is not None else f"{unit} (no limit)"
            parts.append(f"{label} {shown}{cap}")
        return ", ".join(parts)

    def _iteration_line(self, k: int, kind: str, stop: str) -> str:
        best = (
            f"best {_law(self.best['expression'], self.best['parameters'])} "
            f"({_score(self.best['scores'])})"
            if self.best
            else "no adequate law yet"
        )
        rivals = f"; {len(self.rivals)} rival(s)" if self.rivals else ""
        end = f"; stopping: {stop}" if stop else ""
        return f"iteration {k} {kind}: {best}{rivals}; {self._budget_text()}{end}"

    def _render(self) -> RenderableType:
        """The live panel, built in rich's refresh thread from the values noted above."""
        from rich.panel import Panel  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        node_s = time.monotonic() - self._node_started
        grid.add_row(
            "iteration",
            Text(
                f"{self.iteration} of {self.config.max_iterations}, "
                f"{self.node or 'starting'} ({node_s:.0f} s)"
            ),
        )
        if self.best:
            grid.add_row(
                "best law",
                Text(
                    _law(self.best["expression"], self.best["parameters"]),
                    style="green",
                ),
            )
            grid.add_row("score", Text(_score(self.best["scores"])))
        else:
            grid.add_row("best law", Text("none adequate yet", style="dim"))
        for rival in self.rivals:
            grid.add_row(
                "rival",
                Text(
                    f"{rival['expression']}  ({_score(rival['scores'])})", style="dim"
                ),
            )
        grid.add_row("budget", Text(self._budget_text()))
        if self.log_path is not None:
            grid.add_row("log", Text(str(self.log_path), style="dim"))
        if self.notice:
            grid.add_row("", Text(self.notice, style="yellow"))
        title = f"lawloop campaign {self.campaign_id[:8]}" + (
            f" ({self.name})" if self.name else ""
        )
        return Panel(grid, title=Text(title), title_align="left")
