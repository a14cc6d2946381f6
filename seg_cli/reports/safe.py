"""Drawing never fails a run: a figure (or the report page) that cannot be made is one warning line."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seg_cli.reports.plot import Plot

log = logging.getLogger(__name__)


def draw_safely(plot: Plot, folder: Path) -> Path | None:
    """Draw `plot` into `folder`; None (and one warning) where drawing raised."""
    try:
        path = Path(folder) / plot.filename
        plot.draw(plot.data, path)
        return path
    except Exception as exc:  # a picture is never worth a failed run
        log.warning("could not draw %s: %s: %s", plot.filename, type(exc).__name__, exc)
        return None


def write_plots(plots: Iterable[Plot], folder: Path) -> list[Path]:
    """Draw every plot into `folder`; the files written."""
    return [path for path in (draw_safely(plot, folder) for plot in plots) if path is not None]


def task_plots(task: Any, metrics: dict[str, Any], rows: list[dict[str, Any]] | None,
               class_names: list[str]) -> list[Plot]:
    """`task.plots(...)` (seg_cli.tasks), an error in picking the data being one warning, like one in drawing."""
    try:
        return list(task.plots(metrics, rows, class_names))
    except Exception as exc:
        log.warning("could not draw the %s plots: %s: %s", task.name, type(exc).__name__, exc)
        return []


def write_report_safely(run_dir: Path) -> Path | None:
    """`write_run_report(run_dir)` of seg_cli.reports.page, or one warning line where it raised."""
    try:
        from seg_cli.reports.page import write_run_report

        return write_run_report(Path(run_dir))
    except Exception as exc:
        log.warning("could not write report.html: %s: %s", type(exc).__name__, exc)
        return None
