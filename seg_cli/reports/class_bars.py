"""per_class.png: IoU and accuracy per class as sorted horizontal bars beside each class's share of the
labelled pixels, so rare classes and failing ones stand out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seg_cli.reports.canvas import SMALL_FONT, new_figure, save


def per_class_data(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figure's rows from multi-class metrics: class names sorted by IoU, lowest first (then the classes
    without an IoU: absent from ground truth and prediction, drawn as "n/a"), with IoU, accuracy (None where
    undefined) and the share of the labelled pixels."""
    iou, acc, pixels = metrics["per_class_iou"], metrics["per_class_acc"], metrics["per_class_pixels"]
    total = sum(pixels.values())
    names = sorted(iou, key=lambda name: (iou[name] is None, iou[name] if iou[name] is not None else 0.0))
    return {"class_names": names, "iou": [iou[name] for name in names], "acc": [acc[name] for name in names],
            "pixel_share": [pixels[name] / total if total else 0.0 for name in names]}


def draw_per_class(data: dict[str, Any], path: Path) -> Path:
    """Draw `per_class_data`: IoU and accuracy bars on the left, pixel share on the right, the lowest IoU on top."""
    names = data["class_names"]
    n = len(names)
    figure = new_figure(10.0, min(max(2.5, 0.28 * n + 1.5), 60.0))
    scores, shares = figure.subplots(1, 2, sharey=True, width_ratios=[3, 1])
    rows = list(range(n))
    height = 0.4
    iou = [0.0 if v is None else v for v in data["iou"]]
    acc = [0.0 if v is None else v for v in data["acc"]]
    scores.barh([r - height / 2 for r in rows], iou, height=height, color="tab:blue", label="IoU")
    scores.barh([r + height / 2 for r in rows], acc, height=height, color="tab:orange", label="accuracy")
    font = SMALL_FONT if n > 40 else 8
    for row, value in zip(rows, data["iou"]):
        scores.text(0.005 if value is None else value + 0.005, row - height / 2,
                    "n/a" if value is None else f"{value:.2f}", va="center", fontsize=font)
    scores.set_yticks(rows, names, fontsize=font)
    scores.set_xlim(0.0, 1.1)
    scores.set_xlabel("IoU / accuracy")
    scores.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, fontsize=8, frameon=False)
    figure.suptitle("per class, sorted by IoU (lowest first)", fontsize=10)
    share = [100 * v for v in data["pixel_share"]]
    shares.barh(rows, share, color="tab:gray")
    for row, value in zip(rows, share):
        shares.text(value, row, f" {value:.1f}%", va="center", fontsize=font)
    shares.set_xlim(0.0, max(share + [1.0]) * 1.35)
    shares.set_xlabel("% of labelled pixels")
    scores.set_ylim(n - 0.5, -0.5)  # the lowest IoU first, at the top (shared by both panels)
    return save(figure, path)
