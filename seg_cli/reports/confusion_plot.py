"""confusion_matrix.png: the multi-class confusion matrix, each ground-truth row normalised to sum to 1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seg_cli.reports.canvas import SMALL_FONT, new_figure, save

MAX_ANNOTATED = 30  # above this many classes the cells carry no numbers (they would not be readable)
MAX_TICKS = 60  # above this many classes every k-th class is named on the axes


def confusion_data(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> dict[str, Any]:
    """The figure's data: the raw counts (rows ground truth, columns prediction; ignored pixels were never
    counted), their row-normalised fractions (a row without ground truth stays 0) and the class names."""
    counts = [[int(v) for v in row] for row in matrix]
    if len(counts) != len(class_names) or any(len(row) != len(counts) for row in counts):
        raise ValueError(f"a {len(counts)}-row confusion matrix does not fit {len(class_names)} class names")
    fractions = [[v / sum(row) if sum(row) else 0.0 for v in row] for row in counts]
    return {"matrix": counts, "normalised": fractions, "class_names": list(class_names)}


def tick_step(classes: int) -> int:
    """Name every k-th class on the axes, so at most MAX_TICKS names are shown."""
    return max(1, math.ceil(classes / MAX_TICKS))


def draw_confusion(data: dict[str, Any], path: Path) -> Path:
    """Draw `confusion_data` as a heat map with the fraction in each cell (up to MAX_ANNOTATED classes)."""
    import numpy as np

    values, names = np.asarray(data["normalised"], dtype=float), data["class_names"]
    n = len(names)
    side = min(max(5.0, 0.35 * n + 2.0), 24.0)
    figure = new_figure(side + 1.0, side)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8, label="fraction of the ground-truth row")
    step = tick_step(n)
    font = SMALL_FONT if n > MAX_ANNOTATED else 8
    ticks = list(range(0, n, step))
    axes.set_xticks(ticks, [names[i] for i in ticks], rotation=90, fontsize=font)
    axes.set_yticks(ticks, [names[i] for i in ticks], fontsize=font)
    axes.set_xlabel("prediction")
    axes.set_ylabel("ground truth")
    axes.set_title("confusion matrix (rows sum to 1; ignored pixels left out)")
    if n <= MAX_ANNOTATED:
        for (row, col), value in np.ndenumerate(values):
            axes.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8 if n <= 12 else SMALL_FONT,
                      color="white" if value > 0.5 else "black")
    return save(figure, path)
