"""Checks that run before any work starts: each failure names the key and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seg_cli.choices import (
    AMP_DTYPES,
    DEVICE_PATTERN,
    DEVICES,
    EVAL_METRICS,
    EVAL_RESOLUTIONS,
    INFER_MODES,
    ON_ERROR,
    SOD_NORMALIZE,
    SWITCHES,
    TASKS,
)
from seg_cli.commands.common import to_plain
from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir
from seg_cli.tasks import DEFAULT_TASK, get_task
from seg_cli.values import as_list, scale_range, size_pair

MIN_CROP = 16  # below this the 8x/16x/32x down-sampling models have nothing left to classify


def validate_train_config(cfg: DictConfig, given: Collection[str] = ()) -> None:
    """Types are checked by the schema; this checks ranges and choices. `given`: the keys set on the
    command line."""
    t = cfg.train
    validate_schedule(t, given)
    for key in ("epochs", "batch_size", "eval_every", "log_every", "accumulate_steps"):
        require_positive(f"train.{key}", t[key])
    require_workers("train.workers", t.workers)
    require_positive("train.checkpoint_every", t.checkpoint_every, allow_zero=True)
    require_positive("train.tb_images", t.tb_images, allow_zero=True)
    require_positive("optimizer.lr", cfg.optimizer.get("lr"))
    if t.clip_grad_norm is not None:
        require_positive("train.clip_grad_norm", t.clip_grad_norm)
    require_choice("train.amp_dtype", t.amp_dtype, AMP_DTYPES)
    task = cfg.dataset.get("task", DEFAULT_TASK)
    require_choice("dataset.task", task, TASKS)
    require_choice("train.best_metric", t.best_metric, ("auto", *get_task(task).best_metrics))
    validate_loss(cfg.loss, task)
    require_choice("train.progress", str(t.progress).lower(), SWITCHES)
    require_choice("train.sync_bn", str(t.sync_bn).lower(), SWITCHES)
    require_choice("data.on_error", cfg.data.on_error, ON_ERROR)
    validate_eval_section(cfg.eval)
    require_positive("eval.cache_mib", cfg.eval.cache_mib, allow_zero=True)
    require_positive("data.cache_mib", cfg.data.cache_mib, allow_zero=True)
    require_device("train.device", t.device)
    validate_dataset_config(cfg.dataset)
    validate_augment(cfg)


def validate_augment(cfg: DictConfig) -> None:
    """Every `augment.steps` entry (name, p, ranges) is checked by building the pipeline, which reads no data;
    no `augment` key (a checkpoint from before the group) means the dataset's own preset."""
    from seg_cli.data.transform_config import build_train_transform

    if cfg.get("augment") is not None:
        build_train_transform(to_plain(cfg.dataset), to_plain(cfg.augment))


def validate_schedule(t: DictConfig, given: Collection[str]) -> None:
    """The run's length, evaluations, early stopping, frozen and averaged weights."""
    if t.max_steps is not None:
        require_positive("train.max_steps", t.max_steps)
        if "train.epochs" in given:
            raise ConfigError(f"train.max_steps={t.max_steps} and train.epochs={t.epochs} both set the length of "
                              "the run; give one of them")
    require_positive("train.eval_every_steps", t.eval_every_steps, allow_zero=True)
    require_positive("train.early_stopping.patience", t.early_stopping.patience, allow_zero=True)
    require_positive("train.early_stopping.min_delta", t.early_stopping.min_delta, allow_zero=True)
    prefixes = as_list("train.freeze", to_plain(t.freeze), str)
    if any(not p for p in prefixes):
        raise ConfigError("train.freeze holds an empty name; give module-name prefixes such as [backbone]")
    if t.freeze_epochs is not None:
        require_positive("train.freeze_epochs", t.freeze_epochs)
        if not prefixes:
            raise ConfigError(f"train.freeze_epochs={t.freeze_epochs} without train.freeze; name what to freeze, "
                              "e.g. train.freeze=[backbone]")
    require_positive("train.backbone_lr_mult", t.backbone_lr_mult)
    if t.ema.decay is not None and not 0 <= t.ema.decay < 1:
        raise ConfigError(f"train.ema.decay={t.ema.decay} must lie in [0, 1), e.g. 0.999 (null or 0 = off)")


def validate_eval_section(e: DictConfig) -> None:
    """The `eval:` keys `seg train` and `seg eval` share."""
    require_choice("eval.resolution", e.resolution, EVAL_RESOLUTIONS)
    require_positive("eval.batch_size", e.batch_size)
    require_positive("eval.pad_multiple", e.pad_multiple)
    if e.sod_normalize is not None:  # seg eval: null takes the checkpoint's own
        require_choice("eval.sod_normalize", e.sod_normalize, SOD_NORMALIZE)
    table_metrics(e)
    require_positive("eval.worst", e.worst, allow_zero=True)


def table_metrics(e: DictConfig) -> list[str]:
    """`eval.metrics`: the columns of the multi-class metrics table (one name or a list of them)."""
    names = as_list("eval.metrics", to_plain(e.metrics), str)
    for name in names:
        require_choice("eval.metrics", name, EVAL_METRICS)
    return names


def require_workers(key: str, value: Any) -> None:
    """DataLoader workers: "auto" or a whole number >= 0."""
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}={value!r} is not allowed; use auto or a whole number >= 0")


def validate_loss(loss: DictConfig, task: str) -> None:
    """A binary loss on a multi-class dataset (or the reverse) fails now, not at the first step, naming the
    `loss=` options that fit the task (the task decides which do)."""
    from seg_cli.tasks import get_task
    from seg_cli.utils import import_target

    chosen, rules = import_target(loss._target_), get_task(task)
    if not rules.fits_loss(chosen):
        # a model's own loss (loss=mask2former) is no choice for the models of per-pixel logits
        fitting = [name for name, target in loss_options().items() if rules.fits_loss(import_target(target))
                   and not getattr(import_target(target), "model_specific", False)]
        raise ConfigError(f"loss={loss_option_name(loss._target_)} is for {chosen.task} tasks but dataset.task={task}; "
                          f"choose a loss for {task} tasks: {', '.join(f'loss={name}' for name in fitting)}")


def loss_options() -> dict[str, str]:
    """{option name: _target_} of the `loss` config group, as users type them after `loss=`."""
    folder = Path(config_dir()) / "loss"
    return {path.stem: OmegaConf.load(path)["_target_"] for path in sorted(folder.glob("*.yaml"))}


def loss_option_name(target: str) -> str:
    """The `loss=` option this run chose (Hydra's record of the choice), else the options with its target."""
    if HydraConfig.initialized():
        chosen = HydraConfig.get().runtime.choices.get("loss")
        if chosen and loss_options().get(chosen) == target:
            return chosen
    names = [name for name, option_target in loss_options().items() if option_target == target]
    return "|".join(names) if names else target.rsplit(".", 1)[-1]


def validate_dataset_config(d: DictConfig) -> None:
    require_positive("dataset.num_classes", d.num_classes)
    require_positive("dataset.base_size", d.base_size)
    from seg_cli.data.paired import check_task  # the one rule of task and class count

    task = d.get("task", DEFAULT_TASK)
    check_task(task, d.num_classes)
    labels = get_task(task).label_count(d.num_classes)
    if 0 <= d.ignore_index < labels:
        raise ConfigError(f"dataset.ignore_index={d.ignore_index} lies inside the class range [0, {labels})")
    names = d.get("class_names")
    if names is not None and len(names) != labels:
        raise ConfigError(f"dataset.class_names has {len(names)} names but the dataset has {labels} labels")
    given = to_plain(d.crop_size)
    crop = size_pair("dataset.crop_size", given)
    if min(crop) < MIN_CROP:
        raise ConfigError(f"dataset.crop_size={given} is too small; use at least {MIN_CROP}")
    largest = scale_range("dataset.scale_range", to_plain(d.get("scale_range", [0.5, 2.0])))[1] * d.base_size
    if max(crop) > 4 * largest:
        raise ConfigError(f"dataset.crop_size={given} is far larger than the resized images "
                          f"(at most {largest:.0f} px): crops would be mostly padding")


def require_choice(key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose from: {', '.join(map(str, allowed))}")


def require_device(key: str, value: Any) -> None:
    """auto | cpu | cuda | cuda:N, checked by spelling here (whether the machine has it: when it is chosen)."""
    if not re.fullmatch(DEVICE_PATTERN, str(value)):
        raise ConfigError(f"{key}={value!r} is not allowed; choose from: {', '.join(DEVICES)}")


def require_positive(key: str, value: float | int | None, allow_zero: bool = False) -> None:
    if value is None or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key}={value} must be {'>= 0' if allow_zero else '> 0'}")


def inference_settings(cfg: DictConfig) -> dict[str, Any] | None:
    """The `infer` section as predict_logits keywords; None for a plain whole-image pass."""
    infer = OmegaConf.to_container(cfg.infer, resolve=True)
    from seg_cli.engine.inference import check_settings  # torch: only once a command runs

    require_choice("infer.mode", infer["mode"], INFER_MODES)
    infer["crop"], infer["stride"] = (size_pair(f"infer.{key}", infer[key]) for key in ("crop", "stride"))
    infer["scales"] = as_list("infer.scales", infer["scales"], float)
    check_settings(infer["mode"], infer["crop"], infer["stride"], infer["scales"], prefix="infer.")
    if infer.get("stitch_device") is not None:
        from seg_cli.engine.distributed import check_cuda_device, parse_device

        device = parse_device(infer["stitch_device"], "infer.stitch_device")
        if device.type == "cuda":
            check_cuda_device(device, infer["stitch_device"], "infer.stitch_device")
    if infer["mode"] == "whole" and not infer["flip"] and list(infer["scales"]) == [1.0]:
        return None
    return infer
