"""Matplotlib plumbing the figures share: drawing to PNG bytes under a lock, plain text, empty axes, typeset equations.

Matplotlib is imported on first use, with its object-oriented API only (no
`pyplot`, no global backend), and drawing is serialised by a lock because
matplotlib's text layout is not thread-safe (the dashboard serves requests
on threads). Recorded strings go through `plain` first, so a `$` in a law
or a label is drawn as text, not parsed as mathtext.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "empty",
    "equation_image",
    "iteration_colorbar",
    "plain",
    "plain_ticks",
    "png_size",
    "render",
]

_LOCK = threading.Lock()
_DPI = 100


def render(
    draw: Callable[[Figure], None], size: tuple[float, float] = (10.0, 4.0)
) -> bytes:
    """Draw a new figure with `draw` and return it as PNG bytes."""
    import matplotlib as mpl  # noqa: PLC0415 - heavy: loaded when a figure is drawn
    from matplotlib.figure import Figure  # noqa: PLC0415

    with _LOCK, mpl.rc_context({"font.size": 9}):
        fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
        draw(fig)
        buffer = io.BytesIO()
        # No software or date metadata: the same view gives the same bytes.
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def iteration_colorbar(fig: Figure, mappable: Any, axes: list[Axes]) -> None:
    """A colour bar of iteration indices, with integer ticks only."""
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - heavy, like all matplotlib

    bar = fig.colorbar(mappable, ax=axes, label="iteration")
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def plain_ticks(ax: Axes) -> None:
    """Y tick labels that carry their own exponent (`2e-22`).

    Matplotlib's shared offset text (`1e-22` above the axis) pushes a long
    title out of the figure, so each label says its magnitude instead.
    """
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415 - heavy, like all matplotlib

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))


def plain(text: str, width: int = 0) -> str:
    """Recorded text for a figure: `$` escaped (no mathtext), wrapped at `width` if given."""
    escaped = text.replace("$", r"\$")
    return "\n".join(textwrap.wrap(escaped, width)) if width else escaped


def empty(ax: Axes, message: str) -> None:
    """Write `message` in the middle of an axes with no data."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def equation_image(latex: str, *, fontsize: int = 20) -> bytes | None:
    """A law typeset from LaTeX with matplotlib's mathtext, or `None` if mathtext cannot.

    Args:
        latex: LaTeX math (no surrounding `$`), e.g. from `sympy.latex`.
        fontsize: Font size in points.

    Returns:
        PNG bytes cropped to the formula, or `None` for LaTeX that mathtext
        does not support (or that is too long to be worth typesetting).
    """
    if len(latex) > 600 or "$" in latex:
        return None

    def draw(fig: Figure) -> None:
        fig.text(0.0, 0.0, f"${latex}$", fontsize=fontsize, parse_math=True)

    def typeset() -> bytes:
        import matplotlib as mpl  # noqa: PLC0415 - heavy: loaded when a figure is drawn
        from matplotlib.figure import Figure  # noqa: PLC0415

        with _LOCK, mpl.rc_context({"mathtext.fontset": "cm"}):
            fig = Figure(figsize=(0.1, 0.1), dpi=2 * _DPI)  # shown at half size: sharp
            draw(fig)
            buffer = io.BytesIO()
            fig.savefig(
                buffer,
                format="png",
                bbox_inches="tight",
                pad_inches=0.06,
                metadata={"Software": None},
                transparent=True,
            )
        return buffer.getvalue()

    try:
        return typeset()
    except ValueError:  # mathtext's parse error: show the LaTeX source instead
        return None


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels of PNG bytes (read from the IHDR chunk)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
