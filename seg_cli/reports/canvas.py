"""matplotlib, imported only when a figure is drawn, without pyplot: no global state, no display, no backend
to choose (a bare Figure saves through the Agg canvas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DPI = 100
SMALL_FONT = 6  # tick labels of crowded axes (many classes)


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Any:
    """A `width` x `height` inch matplotlib Figure, not registered with pyplot; `layout` None leaves the
    spacing to the caller (a constrained layout costs ~0.3 s on a grid of panels)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def save(figure: Any, path: Path) -> Path:
    """Write `figure` as a PNG at `path` (its folder created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
