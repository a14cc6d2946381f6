"""pr_curve.png and f_curve.png of binary tasks: precision against recall over the 256 thresholds k/255, and
F-beta (beta^2 = 0.3) over those thresholds with its maximum marked, as salient-object papers draw them. The
curve is BinaryMetrics' own (metrics.json's `curve`), so the marked threshold is `best_threshold`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seg_cli.reports.canvas import new_figure, save


def curve_data(metrics: dict[str, Any]) -> dict[str, Any]:
    """The curve of binary metrics with its maximum F: threshold, precision, recall and f lists, and
    best_threshold / max_f (the first maximum: the lowest threshold on ties, as BinaryMetrics picks it)."""
    curve = metrics["curve"]
    f = curve["f"]
    best = max(range(len(f)), key=lambda i: (f[i], -i))
    return {"threshold": list(curve["threshold"]), "precision": list(curve["precision"]),
            "recall": list(curve["recall"]), "f": list(f), "best_threshold": curve["threshold"][best],
            "max_f": f[best], "best_index": best}


def draw_pr_curve(data: dict[str, Any], path: Path) -> Path:
    """Precision against recall, the max-F point marked."""
    figure = new_figure(5.0, 4.5)
    axes = figure.add_subplot()
    axes.plot(data["recall"], data["precision"], color="tab:blue", label="over thresholds k/255")
    best = data["best_index"]
    axes.plot([data["recall"][best]], [data["precision"][best]], "o", color="tab:red",
              label=f"max F at threshold {data['best_threshold']:.3f}")
    axes.set_xlim(0.0, 1.02)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_title("precision-recall (mean over images)")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return save(figure, path)


def draw_f_curve(data: dict[str, Any], path: Path) -> Path:
    """F-beta over thresholds, the threshold of max F marked."""
    figure = new_figure(5.0, 4.5)
    axes = figure.add_subplot()
    axes.plot(data["threshold"], data["f"], color="tab:blue", label="F (beta^2 = 0.3)")
    axes.plot(data["threshold"], data["precision"], color="tab:green", alpha=0.5, lw=1, label="precision")
    axes.plot(data["threshold"], data["recall"], color="tab:orange", alpha=0.5, lw=1, label="recall")
    axes.axvline(data["best_threshold"], color="tab:red", ls="--", lw=1)
    axes.plot([data["best_threshold"]], [data["max_f"]], "o", color="tab:red",
              label=f"max F {data['max_f']:.3f} at {data['best_threshold']:.3f}")
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("threshold")
    axes.set_ylabel("score")
    axes.set_title("F-measure over thresholds")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return save(figure, path)
