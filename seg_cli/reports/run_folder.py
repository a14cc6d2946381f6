"""Reading a run folder (what `seg train` / `seg eval` leave behind) for the report pages.

Every file is optional: an old run, a plot that failed or a run still going has only some of them, and the
pages show what is there.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from seg_cli.choices import TASKS

HYDRA_DIR = ".hydra"
SKIPPED_DIRS = {"checkpoints", "tb", "worst", HYDRA_DIR}  # inside a run: never a run below them


def is_run_dir(path: Path) -> bool:
    """A folder a seg command ran in: Hydra's composed config or the run's metrics are there."""
    return (path / HYDRA_DIR / "config.yaml").is_file() or (path / "metrics.json").is_file()


def find_runs(path: Path) -> list[Path]:
    """`path` when it is a run folder, else every run folder below it (a multirun folder's jobs), sorted."""
    if is_run_dir(path):
        return [path]
    runs: list[Path] = []
    for folder, subdirs, _ in os.walk(path):
        here = Path(folder)
        if here != path and is_run_dir(here):
            runs.append(here)
            subdirs.clear()  # a run holds no other run
        else:
            subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS]
    return sorted(runs, key=lambda run: [int(p) if p.isdigit() else p for p in run.relative_to(path).parts])


def read_json(path: Path) -> Any:
    """A JSON file's data, or None when it is missing or unreadable (a run killed while writing it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_yaml(path: Path) -> Any:
    """A YAML file's data (Hydra's .hydra/*.yaml), or None when it is missing or unreadable."""
    import yaml  # PyYAML comes with omegaconf; only the pages need it

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def overrides(run_dir: Path) -> list[str]:
    """The command-line overrides the run was started with (.hydra/overrides.yaml)."""
    data = read_yaml(run_dir / HYDRA_DIR / "overrides.yaml")
    return [str(item) for item in data] if isinstance(data, list) else []


def command_name(run_dir: Path) -> str | None:
    """The seg command that ran there (`train`, `eval`, ...): Hydra's primary config name."""
    hydra = read_yaml(run_dir / HYDRA_DIR / "hydra.yaml")
    try:
        return str(hydra["hydra"]["job"]["config_name"])
    except (TypeError, KeyError):
        return None


def metrics(run_dir: Path) -> dict[str, Any]:
    data = read_json(run_dir / "metrics.json")
    return data if isinstance(data, dict) else {}


def scalars(values: dict[str, Any]) -> dict[str, float]:
    """The numbers among a metrics dict's values (per-class dicts, paths and flags left out)."""
    return {key: value for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def task_name(metrics_data: dict[str, Any], config: Any) -> str | None:
    """The run's task: the config's `dataset.task`, else the task whose headline metric metrics.json holds
    (an eval run's config names no dataset: it came from the checkpoint)."""
    declared = (config or {}).get("dataset", {}) if isinstance(config, dict) else {}
    if isinstance(declared, dict) and declared.get("task") in TASKS:
        return declared["task"]
    from seg_cli.tasks import get_task  # task modules are torch-free until a method runs

    for name in TASKS:
        if get_task(name).best_metrics[0] in metrics_data:
            return name
    return None


def metric_order(metrics_data: dict[str, Any], task: str | None) -> list[str]:
    """The scalar metric names, the headline first: the run's best metric (train), else the task's."""
    from seg_cli.tasks import get_task

    names = list(scalars(metrics_data))
    first = [metrics_data["best_metric"]] if isinstance(metrics_data.get("best_metric"), str) else []
    first += list(get_task(task).best_metrics) if task else []
    ordered = [name for name in dict.fromkeys(first) if name in names]
    return ordered + [name for name in names if name not in ordered]


def per_image_rows(run_dir: Path) -> list[dict[str, str]]:
    """per_image.csv's rows (seg eval), or [] without one."""
    try:
        with open(run_dir / "per_image.csv", newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def history(run_dir: Path) -> dict[str, Any]:
    """history.json (seg train): {"train": [...], "eval": [...], "best": {...}}; empty lists without one."""
    data = read_json(run_dir / "history.json")
    data = data if isinstance(data, dict) else {}
    return {"train": _records(data.get("train")), "eval": _records(data.get("eval")),
            "best": data.get("best") if isinstance(data.get("best"), dict) else {}}


def _records(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
