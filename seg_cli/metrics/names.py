"""Metric names (no torch import: config validation uses these before torch loads)."""

from seg_cli.tasks import get_task

LOWER_IS_BETTER = {"mae"}


def resolve_best_metric(task: str, setting: str) -> str:
    """`auto` -> the task's headline metric (mIoU, or max F for binary tasks): the first of its best_metrics."""
    return get_task(task).best_metrics[0] if setting == "auto" else setting
