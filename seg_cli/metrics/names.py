"""Metric names (no torch import: config validation uses these before torch loads)."""

from seg_cli.tasks import get_task

# errors: binary MAE, and matting's SAD, MSE, MAD, Grad and Conn over the whole image and over the trimap band
LOWER_IS_BETTER = {"mae", *(f"{name}{region}" for name in ("sad", "mse", "mad", "grad", "conn")
                            for region in ("", "_trimap"))}


def resolve_best_metric(task: str, setting: str) -> str:
    """`auto` -> the task's headline metric (mIoU; max F for binary tasks; SAD for matting): the first of its best_metrics."""
    return get_task(task).best_metrics[0] if setting == "auto" else setting
