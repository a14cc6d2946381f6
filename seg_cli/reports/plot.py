"""What a task's `plots` returns (seg_cli.tasks): one file to draw. No imports of seg: tasks name it freely."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple


class Plot(NamedTuple):
    """One file a task draws: its name in the run folder, the function that draws it and that function's data."""

    filename: str
    draw: Callable[[Any, Path], Any]  # draw(data, path)
    data: Any
