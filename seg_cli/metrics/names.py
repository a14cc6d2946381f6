"""Metric names per task (no torch import: config validation uses these before torch loads)."""

# Metrics a run may select best.pt by, per task; the first is the default (`train.best_metric: auto`).
BEST_METRICS = {
    "multiclass": ("miou", "pixel_acc", "mean_acc", "mdice", "mf1", "mprecision", "mrecall", "fwiou"),
    "binary": ("max_f", "mae", "mean_f", "dice", "iou_fg"),
}
LOWER_IS_BETTER = {"mae"}


def resolve_best_metric(task: str, setting: str) -> str:
    """`auto` -> the task's headline metric (mIoU, or max F for binary tasks)."""
    return BEST_METRICS[task][0] if setting == "auto" else setting
