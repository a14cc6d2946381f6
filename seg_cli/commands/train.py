"""`seg train`: compose the config, build everything, hand plain objects to the engine."""

from __future__ import annotations

import logging
import sys
from typing import Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    resume_config,
    run_dir,
    run_overrides,
    search_roots,
    to_plain,
)
from seg_cli.commands.validation import validate_train_config, validate_train_setup
from seg_cli.paths import config_dir

log = logging.getLogger("seg.train")
schema.register()


def show_progress(setting: str) -> bool:
    setting = str(setting).lower()
    return sys.stderr.isatty() if setting == "auto" else setting == "true"


def find_resume_checkpoint(resume: str | None, output_root: str):
    """The last.pt to resume from: a path, the newest under output_root for `auto`, or None."""
    from pathlib import Path

    from seg_cli.engine.checkpoint import find_newest
    from seg_cli.errors import CheckpointError

    if not resume:
        return None
    if resume != "auto":
        if not Path(resume).is_file():
            raise CheckpointError(f"train.resume={resume}: file not found")
        return Path(resume)
    own = run_dir() / "checkpoints" / "last.pt"  # a requeued cluster job comes back to its own run dir
    found = own if own.is_file() else find_newest(search_roots(output_root), "last.pt")
    if found is None:
        log.info("train.resume=auto: no last.pt under %s yet, starting fresh", output_root)
    return found


@hydra.main(version_base=None, config_path=config_dir(), config_name="train")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    absolutize_paths(cfg)
    resume_path = find_resume_checkpoint(cfg.train.resume, cfg.output_root)
    resume_state = None
    if resume_path is not None:
        from seg_cli.engine.checkpoint import load_checkpoint

        resume_state = load_checkpoint(resume_path)
        cfg = resume_config(resume_state, cfg)  # the run's own config, this command's overrides on top
    validate_train_config(cfg)
    return train(cfg, resume_state, resume_path)


def train(cfg: DictConfig, resume_state: dict | None, resume_path) -> dict[str, Any]:
    import torch  # late: `seg train --help` must not pay for importing torch

    from seg_cli.data.build import build_dataset, build_eval_loader, build_train_loader, resolve_workers
    from seg_cli.data.cache import make_cache
    from seg_cli.data.replay import ReplayLoader
    from seg_cli.engine import distributed
    from seg_cli.engine.batchnorm import use_sync_batchnorm
    from seg_cli.engine.fit import FitOptions, TrainingInterrupted, fit, restore_training_state
    from seg_cli.engine.optim import build_param_groups
    from seg_cli.engine.runtime import amp_dtype, grad_scaler, seed_everything
    from seg_cli.metrics.names import resolve_best_metric
    from seg_cli.models.build import build_model

    config = to_plain(cfg)
    t, d = config["train"], config["dataset"]
    distributed.init_distributed()
    rank, world = distributed.rank(), distributed.world_size()
    seed_everything(cfg.seed, t["deterministic"])
    device = distributed.local_device(t["device"])
    out = run_dir()
    log.info("run dir %s | device %s | %d process(es) x batch %d x %d accumulation = global batch %d",
             out, device, world, t["batch_size"], t["accumulate_steps"], world * t["batch_size"] * t["accumulate_steps"])

    train_set = build_dataset(d, "train", train=True)
    val_set = build_dataset(d, "val", train=False, resize_mask=cfg.eval.resolution == "resized")
    train_set.on_error = val_set.on_error = config["data"]["on_error"]
    train_set.cache = make_cache(config["data"]["cache_mib"])
    model = build_model(config["model"])
    validate_train_setup(cfg, model, (train_set, val_set), world, device.type)
    if use_sync_batchnorm(t["sync_bn"], device.type, world):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    if t["channels_last"]:  # weights in NHWC make every convolution, and so its output, NHWC
        model = model.to(memory_format=torch.channels_last)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if t["compile"]:
        model = torch.compile(model)

    pin = device.type == "cuda"
    workers = resolve_workers(t["workers"], device)
    train_loader = build_train_loader(train_set, t["batch_size"], workers, cfg.seed, rank, world, pin)
    val_loader = ReplayLoader(build_eval_loader(val_set, cfg.eval.batch_size, workers, rank, world, pin,
                                                config["eval"]["pad_multiple"]), config["eval"]["cache_mib"])
    groups = build_param_groups(model, config["optimizer"]["lr"], t["aux_lr_mult"], t["norm_bias_weight_decay"])
    optimizer = instantiate(cfg.optimizer)(groups)
    steps_per_epoch = len(train_loader) // t["accumulate_steps"]
    scheduler = instantiate(cfg.scheduler)(optimizer, total_steps=t["epochs"] * steps_per_epoch,
                                           steps_per_epoch=steps_per_epoch)
    dtype = amp_dtype(device, t["amp"], t["amp_dtype"])
    scaler = grad_scaler(dtype)
    progress = None
    if resume_state is not None:
        progress = restore_training_state(resume_state, model, optimizer, scheduler, scaler)
        log.info("resumed from %s at epoch %d (+%d samples), step %d", resume_path, progress.epoch,
                 progress.epoch_samples, progress.global_step)

    task = d.get("task", "multiclass")
    options = FitOptions(
        epochs=t["epochs"], num_classes=d["num_classes"], class_names=train_set.class_names,
        ignore_index=d["ignore_index"], task=task, eval_every=t["eval_every"],
        best_metric=resolve_best_metric(task, t["best_metric"]),
        clip_grad_norm=t["clip_grad_norm"], accumulate_steps=t["accumulate_steps"],
        skip_nonfinite=t["skip_nonfinite"], checkpoint_every=t["checkpoint_every"], log_every=t["log_every"],
        progress=show_progress(t["progress"]), amp_dtype=dtype, tb_images=t["tb_images"],
        sod_normalize=config["eval"]["sod_normalize"],
        hparams=run_overrides(),
    )
    criterion = build_criterion(config["loss"], train_set)
    try:
        summary = fit(model, criterion, optimizer, scheduler, scaler, train_loader, val_loader, device, out,
                      options, config, progress)
    except TrainingInterrupted as stop:
        print(f"seg: {stop}; continue with: seg train train.resume=auto", file=sys.stderr)
        sys.exit(128 + stop.signum)
    finally:
        distributed.cleanup()
    log.info("done: %s %s (best %.4f at epoch %s); outputs in %s", options.best_metric,
             summary.get(options.best_metric), summary["best_value"] if summary["best_value"] is not None else float("nan"), summary["best_epoch"], out)
    return summary


def build_criterion(loss_cfg: dict[str, Any], train_set):
    """The loss module; `class_weights: auto` is computed here from the training masks (and logged)."""
    from seg_cli.data.class_weights import class_weight_tensor
    from seg_cli.utils import call_with_config, split_target

    builder, kwargs = split_target(loss_cfg)
    if "class_weights" in kwargs:
        kwargs["class_weights"] = class_weight_tensor(kwargs["class_weights"], train_set, train_set.label_count,
                                                      train_set.ignore_index)
    return call_with_config(builder, "loss", **kwargs)
