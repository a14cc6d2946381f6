"""Several runs' curves on shared axes: train loss and learning rate over steps, each validation metric over
steps, from each run's history.json. The data (`overlay_series`) is apart from the drawing so tests check it."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from seg_cli.reports.canvas import new_figure
from seg_cli.reports.run_folder import scalars

Line = dict[str, Any]  # {"label", "x": [...], "y": [...], "best": (x, y) | None}
PANEL_COLUMNS = 3
NOT_METRICS = ("step", "epoch")
METRIC_PANELS = 6  # validation metrics drawn (each run's best metric first): a sweep compares a few, not all 14


def overlay_series(histories: list[dict[str, Any]], labels: list[str]) -> dict[str, list[Line]]:
    """Panel title -> one line per run that has it: `train loss`, up to METRIC_PANELS validation metrics (each
    run's best metric first, its best evaluation marked), then `learning rate`."""
    panels: dict[str, list[Line]] = {"train loss": []}
    for history, label in zip(histories, labels):
        _add(panels, "train loss", label, history["train"], "loss")
    bests = [history["best"].get("metric") for history in histories]
    others = [key for h in histories for record in h["eval"] for key in scalars(record) if key not in NOT_METRICS]
    for metric in dict.fromkeys(m for m in bests + others if isinstance(m, str)):
        for history, label in zip(histories, labels):
            line = _add(panels, metric, label, history["eval"], metric)
            best = history["best"]
            if line is not None and metric == best.get("metric") and _finite(best.get("value")):
                line["best"] = (best.get("step"), best["value"])
    metric_titles = [title for title, lines in panels.items() if lines and title != "train loss"]
    kept = ["train loss", *metric_titles[:METRIC_PANELS], "learning rate"]
    for history, label in zip(histories, labels):
        _add(panels, "learning rate", label, history["train"], "lr")
    return {title: panels[title] for title in kept if panels.get(title)}


def _add(panels: dict[str, list[Line]], title: str, label: str, records: list[dict[str, Any]],
         key: str) -> Line | None:
    """Append the run's (step, value) points of `key` to the panel; None when the run has none."""
    points = [(r["step"], r[key]) for r in records if _finite(r.get("step")) and _finite(r.get(key))]
    if not points:
        return None
    line: Line = {"label": label, "x": [p[0] for p in points], "y": [p[1] for p in points], "best": None}
    panels.setdefault(title, []).append(line)
    return line


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def draw_overlay(panels: dict[str, list[Line]]) -> str:
    """The panels as one PNG, returned as a data URI (a bare Figure of seg_cli.reports.canvas: no pyplot)."""
    from matplotlib import rcParams

    rows = math.ceil(len(panels) / PANEL_COLUMNS)
    columns = min(len(panels), PANEL_COLUMNS)
    figure = new_figure(4.2 * columns, 3.2 * rows, layout=None)
    axes = figure.subplots(rows, columns, squeeze=False)
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    labels = list(dict.fromkeys(line["label"] for lines in panels.values() for line in lines))
    for ax, (title, lines) in zip(axes.flat, panels.items()):
        for line in lines:
            colour = colours[labels.index(line["label"]) % len(colours)]
            ax.plot(line["x"], line["y"], marker="." if len(line["x"]) < 30 else None, color=colour,
                    label=line["label"])
            if line["best"]:
                ax.plot(*line["best"], marker="*", markersize=12, color=colour)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    legend = {}  # label -> handle, over every panel: a run may lack the first one (no train loss)
    for ax in axes.flat:
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    names, handles = list(legend), list(legend.values())
    figure.legend(handles, names, loc="lower center", ncol=min(len(names), 4), fontsize="small")
    figure.tight_layout(rect=(0, 0.06 + 0.02 * math.ceil(len(names) / 4), 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
