"""The tasks a dataset declares (`dataset.task`): one module per task, looked up once by name.

A task owns what differs between multi-class and binary segmentation: output channels and label count, the
default loss, the scorer and its best metric, per-image rows and the "worst" key, the decode rule (logits ->
labels / probability / mask) and predict's default outputs. Code elsewhere asks the task, never its name.

Checkpoints store the name; `get_task` turns it into the task. The names are seg_cli.choices.TASKS (the
modules of this folder, listed without importing them, read by the config checks before torch loads); the
task of name N is the `TASK` of seg_cli.tasks.N, so a new task is one module here. Task modules import torch and the metrics and losses
only inside their methods, so that config validation may ask a task its metrics cheaply.
"""

from __future__ import annotations

import importlib

from seg_cli.choices import DEFAULT_TASK, TASKS
from seg_cli.errors import ConfigError
from seg_cli.tasks.base import Task

__all__ = ["DEFAULT_TASK", "TASKS", "Task", "get_task"]


def get_task(name: str) -> Task:
    """The task called `name` (a dataset.task value); a name not in TASKS is a ConfigError naming them."""
    if name not in TASKS:
        raise ConfigError(f"dataset.task={name!r} is not allowed; choose from: {', '.join(TASKS)}")
    return importlib.import_module(f"{__name__}.{name}").TASK
