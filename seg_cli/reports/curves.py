"""curves.png of a training run: train loss and learning rate over optimizer steps, and every validation
metric over evaluations (one point each) with the best checkpoint's evaluation marked. Drawn from the run's
history.json (seg_cli.engine.history)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from seg_cli.reports.canvas import new_figure, save

POSITION = ("step", "epoch")  # the keys of a history entry that say where it is, not what was measured
COLUMNS = 4


def curves_data(history: dict[str, Any]) -> dict[str, Any]:
    """The series of a history: train step / loss / lr, eval step and one list per metric (None where an
    evaluation lacks it), and the best evaluation ({"metric", "step", "value"} or None)."""
    train, evals = history.get("train", []), history.get("eval", [])
    names: list[str] = []
    for entry in evals:
        names += [key for key in entry if key not in POSITION and key not in names]
    return {
        "train": {key: [entry.get(key) for entry in train] for key in ("step", "loss", "lr")},
        "eval": {"step": [entry["step"] for entry in evals],
                 "metrics": {name: [entry.get(name) for entry in evals] for name in names}},
        "best": history.get("best"),
    }


def draw_curves(data: dict[str, Any], path: Path) -> Path:
    """One panel for the loss, one for the lr, one per validation metric; the best step as a dashed line."""
    metrics = data["eval"]["metrics"]
    panels = 2 + len(metrics)
    rows = math.ceil(panels / COLUMNS)
    figure = new_figure(4.0 * COLUMNS, 3.0 * rows, layout=None)  # redrawn at every evaluation: fixed spacing
    figure.subplots_adjust(left=0.05, right=0.98, bottom=0.08 / rows, top=1 - 0.08 / rows, wspace=0.3,
                           hspace=0.45)
    axes = figure.subplots(rows, COLUMNS, squeeze=False).flatten()
    train = data["train"]
    _line(axes[0], train["step"], train["loss"], "train loss")
    _line(axes[1], train["step"], train["lr"], "learning rate")
    best = data["best"] or {}
    for ax, (name, values) in zip(axes[2:], metrics.items()):
        _line(ax, data["eval"]["step"], values, f"val {name}", marker="o")
        if best.get("step") is not None:
            marked = name == best.get("metric") and isinstance(best.get("value"), (int, float))
            ax.axvline(best["step"], color="tab:red", ls="--", lw=1,
                       label=f"best.pt ({name} {best['value']:.4f})" if marked else "best.pt")
            ax.legend(fontsize=7)
    for ax in axes[panels:]:
        ax.set_visible(False)
    return save(figure, path)


def _line(axes: Any, x: list, y: list, title: str, marker: str | None = None) -> None:
    points = [(a, b) for a, b in zip(x, y) if isinstance(b, (int, float)) and math.isfinite(b)]
    if points:
        axes.plot(*zip(*points), marker=marker, ms=3, color="tab:blue")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("optimizer step", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
