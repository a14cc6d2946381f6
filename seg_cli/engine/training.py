"""Assemble one training run from its resolved config: the single place `seg train`, the benchmarks and
the tests get their model, data, loss, optimizer and schedule from.

The config is the plain dict of configs/train.yaml (no DictConfig: the library never sees Hydra).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seg_cli.data.base import SegmentationDataset
from seg_cli.data.build import (
    build_dataset,
    build_eval_loader,
    build_train_loader,
    resolve_workers,
)
from seg_cli.data.cache import make_cache
from seg_cli.data.replay import ReplayLoader
from seg_cli.data.transform_config import image_channels
from seg_cli.engine import distributed
from seg_cli.engine.batchnorm import (
    has_batchnorm,
    single_value_batchnorms,
    single_value_error,
    use_sync_batchnorm,
)
from seg_cli.engine.ema import ModelEma
from seg_cli.engine.fit import FitOptions, Training
from seg_cli.engine.freeze import Freezer, backbone_prefixes
from seg_cli.engine.optim import build_param_groups
from seg_cli.engine.placement import place_model, wrap_model
from seg_cli.engine.runtime import amp_dtype, grad_scaler, seed_everything
from seg_cli.engine.state import Progress, restore_training_state
from seg_cli.errors import ConfigError, DataError
from seg_cli.metrics.confusion import DEFAULT_TABLE
from seg_cli.metrics.names import resolve_best_metric
from seg_cli.models.build import build_model
from seg_cli.models.contract import rebuild_keys, unwrap_model
from seg_cli.tasks import DEFAULT_TASK
from seg_cli.utils import accepted_keywords, call_with_config, split_target
from seg_cli.values import as_list, size_pair

log = logging.getLogger("seg.train")


def build_training(config: dict[str, Any], resume_state: dict[str, Any] | None = None,
                   hparams: dict[str, Any] | None = None, show_progress: bool = False) -> Training:
    """Everything `seg train` runs, built from `config`; a resumed run gets its checkpoint's state back."""
    t = config["train"]
    distributed.init_distributed()
    world = distributed.world_size()
    seed_everything(config["seed"], t["deterministic"])
    device = distributed.local_device(t["device"], key="train.device")
    log.info("device %s | %d process(es) x batch %d x %d accumulation = global batch %d", device, world,
             t["batch_size"], t["accumulate_steps"], world * t["batch_size"] * t["accumulate_steps"])
    train_set, val_set = build_datasets(config)
    model = build_model(config["model"])
    config["model"].update(rebuild_keys(model))  # into the checkpoints this run writes
    check_training_setup(config, model, (train_set, val_set), world, device.type)
    model = place_model(model, t, device, world)
    freezer = Freezer(model, as_list("train.freeze", t["freeze"], str), t["freeze_epochs"])
    train_loader, val_loader = build_loaders(config, train_set, val_set, device)
    steps_per_epoch = len(train_loader) // t["accumulate_steps"]
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    dtype = amp_dtype(device, t["amp"], t["amp_dtype"])
    scaler = grad_scaler(dtype)
    ema = ModelEma(model, t["ema"]["decay"]) if t["ema"]["decay"] else None
    progress = Progress()
    if resume_state is not None:
        progress = restore_training_state(resume_state, model, optimizer, scheduler, scaler, ema)
    freezer.apply(progress.epoch)  # before DDP, which only syncs the parameters that take gradients
    model = wrap_model(model, device, t["compile"])
    options = fit_options(config, train_set.class_names, dtype, hparams or {}, show_progress, steps_per_epoch)
    return Training(model, build_criterion(config["loss"], train_set, model), optimizer, scheduler, scaler,
                    train_loader, val_loader, device, options, progress, freezer, ema)


def build_datasets(config: dict[str, Any]) -> tuple[SegmentationDataset, SegmentationDataset]:
    """The train split (with the decoded-sample cache) and the val split (labels resized with
    `eval.resolution=resized`), both following `data.on_error`."""
    d = config["dataset"]
    # No `augment` key (a checkpoint from before the group): the dataset's SegmentationPresetTrain = augment=default
    train_set = build_dataset(d, "train", train=True, augment=config.get("augment"))
    val_set = build_dataset(d, "val", train=False, resize_mask=config["eval"]["resolution"] == "resized")
    train_set.on_error = val_set.on_error = config["data"]["on_error"]
    train_set.cache = make_cache(config["data"]["cache_mib"])
    return train_set, val_set


def build_loaders(config: dict[str, Any], train_set: SegmentationDataset, val_set: SegmentationDataset,
                  device: torch.device) -> tuple[DataLoader, ReplayLoader]:
    """This rank's shuffled train loader and its val shard, both with `train.workers` workers."""
    t, e = config["train"], config["eval"]
    rank, world, pin = distributed.rank(), distributed.world_size(), device.type == "cuda"
    workers = resolve_workers(t["workers"], device)
    train_loader = build_train_loader(train_set, t["batch_size"], workers, config["seed"], rank, world, pin)
    val_loader = build_eval_loader(val_set, e["batch_size"], workers, rank, world, pin, e["pad_multiple"])
    return train_loader, ReplayLoader(val_loader, e["cache_mib"])


def build_criterion(loss_cfg: dict[str, Any], train_set: SegmentationDataset,
                    model: nn.Module | None = None) -> nn.Module:
    """The loss module; `class_weights: auto` is computed here from the training masks (and logged). A builder
    that takes `model` (loss=auto) gets the built model, whose declared loss (ModelSpec.loss) it may pick; a
    model with its own loss refuses any other."""
    from seg_cli.data.class_weights import class_weight_tensor
    from seg_cli.losses.cross_entropy import check_model_loss

    builder, kwargs = split_target(loss_cfg)
    if "class_weights" in kwargs:
        kwargs["class_weights"] = class_weight_tensor(kwargs["class_weights"], train_set, train_set.label_count,
                                                      train_set.ignore_index)
    if model is not None and "model" in (accepted_keywords(builder) or ()):
        kwargs["model"] = unwrap_model(model)
    criterion = call_with_config(builder, "loss", **kwargs)
    if model is not None:
        check_model_loss(criterion, model)
    return criterion


def build_optimizer(model: nn.Module, config: dict[str, Any]) -> torch.optim.Optimizer:
    """The `optimizer` config (a partial: `_target_` and its keywords) called with seg's parameter groups."""
    t = config["train"]
    backbone = backbone_prefixes(model)
    if t["backbone_lr_mult"] != 1 and not backbone:
        raise ConfigError(f"train.backbone_lr_mult={t['backbone_lr_mult']}: {type(model).__name__} has no backbone "
                          "module; leave it at 1.0")
    groups = build_param_groups(model, config["optimizer"]["lr"], t["aux_lr_mult"], t["norm_bias_weight_decay"],
                                t["backbone_lr_mult"], backbone)
    builder, kwargs = split_target(config["optimizer"])
    return call_with_config(builder, "optimizer", params=groups, **kwargs)


def build_scheduler(optimizer: torch.optim.Optimizer, config: dict[str, Any], steps_per_epoch: int):
    """The `scheduler` config (a partial) over the run's optimizer steps: `train.max_steps`, or
    `train.epochs` x `steps_per_epoch`."""
    builder, kwargs = split_target(config["scheduler"])
    return call_with_config(builder, "scheduler", optimizer=optimizer, total_steps=total_steps(config, steps_per_epoch),
                            steps_per_epoch=steps_per_epoch, **kwargs)


def total_steps(config: dict[str, Any], steps_per_epoch: int) -> int:
    """The run's optimizer steps: `train.max_steps`, or whole epochs."""
    t = config["train"]
    return t["max_steps"] if t.get("max_steps") else t["epochs"] * steps_per_epoch


def fit_options(config: dict[str, Any], class_names: list[str], dtype: torch.dtype | None,
                hparams: dict[str, Any], show_progress: bool, steps_per_epoch: int) -> FitOptions:
    """What the run loop needs to know, from `train.*`, `eval.*` and `dataset.*`."""
    t, d = config["train"], config["dataset"]
    task = d.get("task", DEFAULT_TASK)
    max_steps = t.get("max_steps")
    epochs = math.ceil(max_steps / max(steps_per_epoch, 1)) if max_steps else t["epochs"]
    return FitOptions(
        epochs=epochs, num_classes=d["num_classes"], class_names=class_names,
        ignore_index=d["ignore_index"], task=task, max_steps=max_steps, eval_every=t["eval_every"],
        eval_every_steps=t["eval_every_steps"], patience=t["early_stopping"]["patience"],
        min_delta=t["early_stopping"]["min_delta"],
        best_metric=resolve_best_metric(task, t["best_metric"]),
        clip_grad_norm=t["clip_grad_norm"], accumulate_steps=t["accumulate_steps"],
        skip_nonfinite=t["skip_nonfinite"], checkpoint_every=t["checkpoint_every"], log_every=t["log_every"],
        progress=show_progress, amp_dtype=dtype, tb_images=t["tb_images"],
        sod_normalize=config["eval"]["sod_normalize"], hparams=hparams,
        eval_metrics=tuple(as_list("eval.metrics", config["eval"].get("metrics", DEFAULT_TABLE), str)),
        worst=config["eval"].get("worst", 0), plots=config["eval"].get("plots", True),
    )


def check_training_setup(config: dict[str, Any], model: nn.Module, datasets: Sequence[SegmentationDataset],
                         world_size: int, device_type: str) -> None:
    """Checks that need the built model and datasets (cheap: no full pass over the data)."""
    check_batchnorm_batch(config, model, world_size, device_type)
    for dataset in datasets:
        if len(dataset) == 0:
            raise DataError(f"the {dataset.split} split is empty")
        missing = dataset.missing_files()
        if missing:
            message = (f"{len(missing)} file(s) listed in the {dataset.split} split do not exist, "
                       f"e.g. {', '.join(missing[:3])}; run `seg data check` for a full report")
            if dataset.on_error != "skip":
                raise DataError(message)
            log.warning("%s (data.on_error=skip: their samples are skipped)", message)
        dataset.check_first_sample()  # fails fast on unreadable files, following data.on_error


def check_batchnorm_batch(config: dict[str, Any], model: nn.Module, world_size: int, device_type: str) -> None:
    """BatchNorm statistics of one image: refused where a layer cannot run, a warning elsewhere."""
    t = config["train"]
    per_process = t["batch_size"]
    synced = use_sync_batchnorm(t["sync_bn"], device_type, world_size)
    if not has_batchnorm(model) or (per_process * world_size if synced else per_process) >= 2:
        return
    layers = single_value_batchnorms(model, size_pair("dataset.crop_size", config["dataset"]["crop_size"]),
                                     image_channels(config["dataset"]))
    if layers:
        raise single_value_error(layers, per_process)
    log.warning("train.batch_size=%d with BatchNorm: the batch statistics of one image are noisy; a larger "
                "batch, or SyncBatchNorm across processes (train.sync_bn=true on several GPUs), trains "
                "steadier (accumulation does not help BatchNorm)", per_process)
