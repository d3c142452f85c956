"""Figures of a campaign as PNG bytes, for the report and the dashboard.

Each function takes a `CampaignView` (and the laws to draw) and returns the
bytes of a PNG image; none touches the store or the screen. How they are
drawn (matplotlib loaded on first use, a lock, `$` kept out of mathtext)
is `agent.views._drawing`'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lawloop.agent.views._campaign import (
    CampaignView,
    Law,
    budget,
    informative_input,
    pareto_front,
    pareto_points,
    predict_law,
    sr_fronts,
    timeline,
)
from lawloop.agent.views._drawing import (
    empty,
    equation_image,
    iteration_colorbar,
    plain,
    plain_ticks,
    png_size,
    render,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = [
    "STATUS_COLORS",
    "budget_figure",
    "data_figure",
    "equation_image",
    "law_figure",
    "pareto_figure",
    "png_size",
    "residual_figure",
    "timeline_figure",
]

STATUS_COLORS = {
    "accepted": "#2ca02c",
    "rejected": "#d62728",
    "superseded": "#ff7f0e",
    "open": "#1f77b4",
}
"""Colour of each hypothesis status, shared with the HTML pages."""

_LAW_MARKERS = ("o", "s", "^")


def _label(view: CampaignView, name: str) -> str:
    """An axis label: the name and its unit."""
    unit = view.units.get(name, "")
    return plain(f"{name} [{unit}]" if unit else name)


def _log_floor(values: Sequence[float]) -> float | None:
    """A positive floor for plotting `values` on a log axis, or `None` if none is positive."""
    positive = [v for v in values if v > 0]
    return min(positive) * 0.5 if positive else None


def data_figure(view: CampaignView, laws: Sequence[Law]) -> bytes:
    """Measured data against the best laws.

    Left, for one input: the target against it, with each law's curve; for
    several: the data collapse, measured over each law's value against the
    most informative input (1 where the law holds). Right: measured
    against predicted, with the identity line.

    Args:
        view: The campaign.
        laws: The laws to draw (up to three), best first.

    Returns:
        PNG bytes.
    """
    x_name = informative_input(view)
    data = view.data

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        if x_name is None or not len(data):
            empty(left, "no measurements yet")
            empty(right, "no measurements yet")
            return
        x = data.inputs[x_name]
        collapse = len(view.variables) > 1 and bool(laws)
        if collapse:
            # Several inputs: a raw scatter against one of them is a cloud.
            # Measured over each law's value collapses onto 1 where the law
            # holds, and shows how it fails where it does not.
            _collapse(left, view, laws, x_name)
        else:
            # Measured points small and on top, the law's curve behind them.
            left.scatter(x, data.y, s=6, color="black", label="measured", zorder=3)
        for i, law in enumerate(laws[:3]):
            color = f"C{i}"
            if len(view.variables) == 1:
                grid = np.linspace(float(np.min(x)), float(np.max(x)), 200)
                curve = predict_law(view, law, {x_name: grid})
                if curve is not None:
                    left.plot(
                        grid, curve, color=color, label=plain(law.label), zorder=2
                    )
            values = predict_law(view, law, data.inputs)
            if values is not None:
                right.scatter(
                    values,
                    data.y,
                    s=28,
                    marker=_LAW_MARKERS[i],
                    facecolors="none",
                    edgecolors=color,
                    label=plain(law.label),
                )
        left.set_xlabel(_label(view, x_name))
        if not collapse:
            left.set_ylabel(_label(view, view.target))
            left.set_title(
                f"{view.target} against {x_name} (the most informative input)"
            )
        left.legend(loc="best", fontsize=7)
        low, high = float(np.min(data.y)), float(np.max(data.y))
        right.plot(
            [low, high], [low, high], color="0.3", lw=0.8, label="measured = predicted"
        )
        right.set_xlabel(f"predicted {_label(view, view.target)}")
        right.set_ylabel(f"measured {_label(view, view.target)}")
        right.set_title("measured against predicted")
        right.legend(loc="best", fontsize=7)

    return render(draw)


def _collapse(ax: Axes, view: CampaignView, laws: Sequence[Law], x_name: str) -> None:
    """Measured over each law's value against `x_name`: the data collapse onto 1."""
    data = view.data
    x = data.inputs[x_name]
    for i, law in enumerate(laws[:3]):
        values = predict_law(view, law, data.inputs)
        if values is None:
            continue
        with np.errstate(all="ignore"):
            ratio = data.y / values
        ok = np.isfinite(ratio)
        ax.scatter(
            x[ok],
            ratio[ok],
            s=10 if i == 0 else 24,
            marker="o" if i == 0 else _LAW_MARKERS[i],
            facecolors=f"C{i}" if i == 0 else "none",
            edgecolors=f"C{i}",
            label=plain(law.label),
            zorder=3 - i,
        )
    ax.axhline(1.0, color="0.3", lw=0.8, label="law holds")
    ax.set_ylabel(f"measured {view.target} / law")
    ax.set_title(f"data collapse: measured over law, against {x_name}")


def residual_figure(view: CampaignView, laws: Sequence[Law]) -> bytes:
    """Residuals (measured minus predicted) of each law against the most informative input.

    One panel per law, points coloured by the iteration that measured them,
    so a law that fails on fresh data shows it.

    Args:
        view: The campaign.
        laws: The laws (up to three), best first.

    Returns:
        PNG bytes.
    """
    x_name = informative_input(view)
    shown = list(laws[:3])

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, max(1, len(shown)), squeeze=False)[0]
        if x_name is None or not len(view.data) or not shown:
            empty(axes[0], "no fitted law yet")
            return
        x = view.data.inputs[x_name]
        points = None
        for ax, law in zip(axes, shown, strict=True):
            values = predict_law(view, law, view.data.inputs)
            if values is None:
                empty(ax, "cannot evaluate this law")
                continue
            residual = view.data.y - values
            points = ax.scatter(
                x,
                residual,
                s=10,
                c=view.data.iteration,
                cmap="viridis",
                vmin=0,
                vmax=max(1, int(np.max(view.data.iteration))),
            )
            ax.axhline(0.0, color="0.3", lw=0.8)
            finite = residual[np.isfinite(residual)]
            rms = float(np.sqrt(np.mean(finite**2))) if finite.size else math.nan
            ax.set_title(
                f"{plain(law.text[:120], 48)}\nRMS residual {rms:.3g}", fontsize=7
            )
            ax.set_xlabel(_label(view, x_name))
            ax.set_ylabel(f"residual {_label(view, view.target)}")
            plain_ticks(ax)
        if points is not None:
            iteration_colorbar(fig, points, list(axes))

    return render(draw, (10.0, 3.6))


def pareto_figure(view: CampaignView) -> bytes:
    """The complexity-error front.

    Left: every fitted law (RMSE of its latest fit against its complexity),
    coloured by status, with the non-dominated front. Right, when the
    campaign ran symbolic regression: each search's recorded front (MSE on
    the data it searched, against the engine's complexity).

    Args:
        view: The campaign.

    Returns:
        PNG bytes.
    """
    points = pareto_points(view)
    fronts = sr_fronts(view)

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, 2 if fronts else 1, squeeze=False)[0]
        ax = axes[0]
        if not points:
            empty(ax, "no fitted law yet")
        else:
            floor = _log_floor([e for _, e, _, _ in points])
            for status, color in STATUS_COLORS.items():
                mine = [(c, e) for c, e, s, _ in points if s == status]
                if mine:
                    ax.scatter(
                        [c for c, _ in mine],
                        [max(e, floor or 0.0) for _, e in mine],
                        s=22,
                        color=color,
                        label=f"{status} ({len(mine)})",
                        alpha=0.8,
                    )
            front = pareto_front(points)
            ax.step(
                [c for c, _ in front],
                [max(e, floor or 0.0) for _, e in front],
                where="post",
                color="0.2",
                lw=1,
                label="front",
            )
            if floor is not None:
                ax.set_yscale("log")
            ax.set_xlabel("complexity")
            ax.set_ylabel(f"RMSE [{view.units.get(view.target, '')}]")
            ax.set_title("fitted laws: complexity against error")
            ax.legend(loc="best", fontsize=7)
        if fronts:
            ax = axes[1]
            floor = _log_floor([e for _, members in fronts for _, e in members])
            for i, (k, members) in enumerate(fronts):
                ax.plot(
                    [c for c, _ in members],
                    [max(e, floor or 0.0) for _, e in members],
                    marker="o",
                    ms=4,
                    color=f"C{i % 10}",
                    label=f"search, iteration {k}",
                )
            if floor is not None:
                ax.set_yscale("log")
            ax.set_xlabel("complexity (engine's measure)")
            ax.set_ylabel("MSE on the searched data")
            ax.set_title("symbolic-regression fronts")
            ax.legend(loc="best", fontsize=7)

    return render(draw)


def timeline_figure(view: CampaignView) -> bytes:
    """The hypothesis timeline: proposals by source and verdicts, per iteration.

    Args:
        view: The campaign.

    Returns:
        PNG bytes.
    """
    rows = timeline(view)
    sources = sorted({s for r in rows for s in r.proposed})

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        if not rows:
            empty(left, "no iteration yet")
            empty(right, "no iteration yet")
            return
        ks = np.array([r.iteration for r in rows])
        bottom = np.zeros(len(rows))
        for i, source in enumerate(sources):
            counts = np.array([r.proposed.get(source, 0) for r in rows])
            left.bar(ks, counts, bottom=bottom, color=f"C{i % 10}", label=plain(source))
            bottom += counts
        left.set_title("hypotheses proposed, by source")
        left.set_xlabel("iteration")
        left.set_ylabel("new hypotheses")
        left.set_xticks(ks)
        if sources:
            left.legend(loc="best", fontsize=7)
        width = 0.27
        for j, status in enumerate(("accepted", "rejected", "superseded")):
            counts = np.array([getattr(r, status) for r in rows])
            right.bar(
                ks + (j - 1) * width,
                counts,
                width=width,
                color=STATUS_COLORS[status],
                label=status,
            )
        right.set_title("verdicts")
        right.set_xlabel("iteration")
        right.set_ylabel("hypotheses")
        right.set_xticks(ks)
        right.legend(loc="best", fontsize=7)

    return render(draw, (10.0, 3.4))


def budget_figure(view: CampaignView) -> bytes:
    """Budget use: the share of each limited budget spent.

    Args:
        view: The campaign.

    Returns:
        PNG bytes.
    """
    items = [b for b in budget(view) if b.fraction is not None]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        if not items:
            empty(ax, "no budget limits recorded")
            return
        names = [b.name for b in items]
        shares = [min(b.fraction or 0.0, 1.5) for b in items]
        colors = ["#d62728" if (b.fraction or 0) >= 1 else "#1f77b4" for b in items]
        y = np.arange(len(items))
        ax.barh(y, shares, color=colors)
        for i, b in enumerate(items):
            unit = f" {b.unit}" if b.unit else ""
            ax.text(
                shares[i] + 0.01,
                i,
                f"{_number(b.used)} / {_number(b.limit)}{unit}",
                va="center",
                fontsize=8,
            )
        ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(0, max(1.35, max(shares) + 0.35))
        ax.set_xlabel("share of the limit used")
        ax.set_title("budget use")

    return render(draw, (8.0, 0.6 + 0.45 * max(1, len(items))))


def law_figure(view: CampaignView, law: Law) -> bytes:
    """One law against the data: values and residuals against the most informative input.

    Args:
        view: The campaign.
        law: The law.

    Returns:
        PNG bytes.
    """
    x_name = informative_input(view)
    values = predict_law(view, law, view.data.inputs) if len(view.data) else None

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        if x_name is None or not len(view.data):
            empty(left, "no measurements yet")
            empty(right, "no measurements yet")
            return
        x = view.data.inputs[x_name]
        left.scatter(x, view.data.y, s=12, color="0.55", label="measured")
        left.set_xlabel(_label(view, x_name))
        left.set_ylabel(_label(view, view.target))
        left.set_title(f"{view.target} against {x_name}")
        if values is None:
            empty(right, "not fitted, or cannot be evaluated")
            left.legend(loc="best", fontsize=7)
            return
        left.scatter(
            x,
            values,
            s=10,
            marker="o",
            facecolors="none",
            edgecolors="C0",
            label=plain(law.label),
        )
        left.legend(loc="best", fontsize=7)
        points = right.scatter(
            x, view.data.y - values, s=10, c=view.data.iteration, cmap="viridis"
        )
        iteration_colorbar(fig, points, [right])
        right.axhline(0.0, color="0.3", lw=0.8)
        right.set_xlabel(_label(view, x_name))
        right.set_ylabel(f"residual {_label(view, view.target)}")
        right.set_title("residuals")
        plain_ticks(right)

    return render(draw, (10.0, 3.6))


def _number(value: Any) -> str:
    """A budget number: integers as such, others with 3 significant digits."""
    if value is None:
        return "-"
    value = float(value)
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"
