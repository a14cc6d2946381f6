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
    require_choice,
    require_positive,
    resolve_checkpoint,
    run_dir,
    to_plain,
)
from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir

log = logging.getLogger("seg.train")
schema.register()

BEST_METRICS = ("miou", "pixel_acc", "mean_acc")


def validate(cfg: DictConfig) -> None:
    """Fail before any work starts, naming the key and the allowed values."""
    t = cfg.train
    for key in ("epochs", "batch_size", "eval_every", "log_every"):
        require_positive(f"train.{key}", t[key])
    require_positive("train.workers", t.workers, allow_zero=True)
    require_positive("optimizer.lr", cfg.optimizer.get("lr"))
    require_choice("train.amp_dtype", t.amp_dtype, ("float16", "bfloat16"))
    require_choice("train.best_metric", t.best_metric, BEST_METRICS)
    require_choice("train.progress", str(t.progress).lower(), ("auto", "true", "false"))
    require_choice("eval.resolution", cfg.eval.resolution, ("original", "resized"))
    if not (t.device in ("auto", "cpu") or str(t.device).startswith("cuda")):
        raise ConfigError(f"train.device={t.device!r} is not allowed; choose from: auto, cpu, cuda, cuda:N")
    d = cfg.dataset
    require_positive("dataset.num_classes", d.num_classes)
    require_positive("dataset.crop_size", d.crop_size)
    require_positive("dataset.base_size", d.base_size)
    if 0 <= d.ignore_index < d.num_classes:
        raise ConfigError(f"dataset.ignore_index={d.ignore_index} lies inside the class range [0, {d.num_classes})")


def show_progress(setting: str) -> bool:
    setting = str(setting).lower()
    return sys.stderr.isatty() if setting == "auto" else setting == "true"


@hydra.main(version_base=None, config_path=config_dir(), config_name="train")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    absolutize_paths(cfg)
    validate(cfg)
    import torch  # late: `seg train --help` must not pay for importing torch

    from seg_cli.data.build import build_dataset, build_eval_loader, build_train_loader
    from seg_cli.engine import distributed
    from seg_cli.engine.checkpoint import load_checkpoint
    from seg_cli.engine.fit import FitOptions, fit, restore_training_state
    from seg_cli.engine.losses import SegmentationLoss
    from seg_cli.engine.optim import build_param_groups
    from seg_cli.engine.runtime import amp_dtype, grad_scaler, seed_everything
    from seg_cli.models.build import build_model

    config = to_plain(cfg)
    t, d = config["train"], config["dataset"]
    distributed.init_distributed()
    rank, world = distributed.rank(), distributed.world_size()
    seed_everything(cfg.seed + rank, t["deterministic"])
    device = distributed.local_device(t["device"])
    out = run_dir()
    log.info("run dir %s | device %s | %d process(es) x batch %d = global batch %d",
             out, device, world, t["batch_size"], world * t["batch_size"])

    train_set = build_dataset(d, "train", train=True)
    val_set = build_dataset(d, "val", train=False, resize_mask=cfg.eval.resolution == "resized")
    pin = device.type == "cuda"
    train_loader = build_train_loader(train_set, t["batch_size"], t["workers"], cfg.seed, rank, world, pin)
    val_loader = build_eval_loader(val_set, cfg.eval.batch_size, t["workers"], rank, world, pin)

    model = build_model(config["model"]).to(device)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if pin else None)
    lr = config["optimizer"]["lr"]
    optimizer = instantiate(cfg.optimizer)(build_param_groups(model, lr, t["aux_lr_mult"]))
    total_steps = t["epochs"] * len(train_loader)
    scheduler = instantiate(cfg.scheduler)(optimizer, total_steps=total_steps, steps_per_epoch=len(train_loader))
    dtype = amp_dtype(device, t["amp"], t["amp_dtype"])
    scaler = grad_scaler(dtype)

    progress = None
    if t["resume"]:
        name = "last.pt"
        path = resolve_checkpoint(None if t["resume"] == "auto" else t["resume"], config["output_root"], name)
        progress = restore_training_state(load_checkpoint(path), model, optimizer, scheduler, scaler)
        log.info("resumed from %s at epoch %d (step %d)", path, progress.epoch, progress.global_step)

    options = FitOptions(
        epochs=t["epochs"], num_classes=d["num_classes"], class_names=train_set.class_names,
        ignore_index=d["ignore_index"], eval_every=t["eval_every"], best_metric=t["best_metric"],
        clip_grad_norm=t["clip_grad_norm"], log_every=t["log_every"], progress=show_progress(t["progress"]),
        amp_dtype=dtype,
    )
    criterion = SegmentationLoss(d["ignore_index"], t["aux_loss_weight"])
    summary = fit(model, criterion, optimizer, scheduler, scaler, train_loader, val_loader, device, out,
                  options, config, progress)
    log.info("done: miou %.4f (best %s %.4f at epoch %s); outputs in %s", summary.get("miou", float("nan")),
             t["best_metric"], summary["best_value"] or float("nan"), summary["best_epoch"], out)
    distributed.cleanup()
    return summary



