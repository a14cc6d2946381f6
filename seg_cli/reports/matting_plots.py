"""sad_hist.png of matting tasks: how the per-image SAD spreads, its mean (metrics.json's `sad`) marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seg_cli.reports.canvas import new_figure, save


def sad_data(rows: Sequence[dict[str, Any]], metrics: dict[str, Any]) -> dict[str, Any]:
    """Per-image SAD (thousands, per_image.csv's `sad`) of the images that have one, and the split's mean."""
    values = [row["sad"] for row in rows if row.get("sad") is not None]
    return {"sad": values, "mean": metrics.get("sad")}


def draw_sad_hist(data: dict[str, Any], path: Path) -> Path:
    """A histogram of the per-image SAD with the mean as a vertical line."""
    values = data["sad"]
    figure = new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    axes.hist(values, bins=max(5, min(50, len(values) // 2 or 1)), color="tab:blue", alpha=0.8)
    if data["mean"] is not None:
        axes.axvline(data["mean"], color="tab:red", ls="--", label=f"mean {data['mean']:.3f}")
        axes.legend(fontsize=8)
    axes.set_xlabel("SAD per image (thousands)")
    axes.set_ylabel("images")
    axes.yaxis.get_major_locator().set_params(integer=True)  # image counts
    axes.set_title(f"SAD distribution over {len(values)} image(s)")
    return save(figure, path)
