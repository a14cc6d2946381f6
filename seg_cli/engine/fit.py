"""The epoch loop around train_one_epoch / evaluate: checkpoints, TensorBoard, metrics.json."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seg_cli.engine import distributed
from seg_cli.engine.checkpoint import rng_state, save_checkpoint, set_rng_state
from seg_cli.engine.loop import evaluate, train_one_epoch
from seg_cli.metrics.confusion import format_table

log = logging.getLogger(__name__)

LOWER_IS_BETTER = {"mae", "loss"}


@dataclass
class FitOptions:
    """What the epoch loop needs to know, as plain values."""

    epochs: int
    num_classes: int
    class_names: list[str]
    ignore_index: int = 255
    eval_every: int = 1
    best_metric: str = "miou"
    clip_grad_norm: float | None = None
    log_every: int = 20
    progress: bool = False
    amp_dtype: torch.dtype | None = None


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run continues from here."""

    epoch: int = 0  # completed epochs
    global_step: int = 0
    best_value: float | None = None
    best_epoch: int | None = None
    last_metrics: dict[str, Any] = field(default_factory=dict)


def is_better(metric: str, value: float, best: float | None) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best


def write_json(data: dict[str, Any], path: Path) -> None:
    """JSON with NaN written as null (strict JSON readers reject NaN)."""
    path.write_text(json.dumps(_finite_or_none(data), indent=2, allow_nan=False) + "\n")


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def training_state(model: nn.Module, optimizer, scheduler, scaler, progress: Progress,
                   config: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to resume or to rebuild the model, as plain data."""
    return {
        "model": getattr(model, "module", model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "progress": vars(progress).copy(),
        "rng": rng_state(),
        "config": config,
    }


def restore_training_state(state: dict[str, Any], model: nn.Module, optimizer, scheduler, scaler) -> Progress:
    """Load what `training_state` saved; returns the run's progress."""
    getattr(model, "module", model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


def fit(
    model: nn.Module, criterion: nn.Module, optimizer: torch.optim.Optimizer, scheduler, scaler,
    train_loader: DataLoader, val_loader: DataLoader, device: torch.device, run_dir: Path,
    options: FitOptions, config: dict[str, Any], progress: Progress | None = None,
) -> dict[str, Any]:
    """Train for options.epochs, evaluating and checkpointing; returns the final metrics."""
    progress = progress or Progress()
    main = distributed.is_main_process()
    writer = _summary_writer(run_dir) if main else None
    ckpt_dir = run_dir / "checkpoints"

    def log_step(step: int, loss: float, lr: float) -> None:
        if writer is not None:
            writer.add_scalar("train/loss", loss, step)
            writer.add_scalar("train/lr", lr, step)

    for epoch in range(progress.epoch, options.epochs):
        train_loader.sampler.set_epoch(epoch)
        mean_loss, progress.global_step = train_one_epoch(
            model, criterion, optimizer, train_loader, scheduler, device, epoch,
            scaler=scaler, amp_dtype=options.amp_dtype, clip_grad_norm=options.clip_grad_norm,
            progress=options.progress and main, log_every=options.log_every, on_log=log_step,
            start_step=progress.global_step,
        )
        progress.epoch = epoch + 1
        log.info("epoch %d/%d  train loss %.4f  lr %.3e", epoch + 1, options.epochs, mean_loss,
                 optimizer.param_groups[0]["lr"])
        if progress.epoch % options.eval_every == 0 or progress.epoch == options.epochs:
            metrics = _evaluate_epoch(model, val_loader, device, options, writer, progress.epoch)
            progress.last_metrics = metrics
            value = metrics.get(options.best_metric)
            if is_better(options.best_metric, value, progress.best_value):
                progress.best_value, progress.best_epoch = value, progress.epoch
                if main:
                    save_checkpoint(training_state(model, optimizer, scheduler, scaler, progress, config),
                                    ckpt_dir / "best.pt")
        if main:
            save_checkpoint(training_state(model, optimizer, scheduler, scaler, progress, config),
                            ckpt_dir / "last.pt")
    summary = {**progress.last_metrics, "epoch": progress.epoch, "best_metric": options.best_metric,
               "best_value": progress.best_value, "best_epoch": progress.best_epoch}
    if main:
        write_json(summary, run_dir / "metrics.json")
        if writer is not None:
            writer.close()
    return summary


def _evaluate_epoch(model, val_loader, device, options: FitOptions, writer, epoch: int) -> dict[str, Any]:
    confmat = evaluate(model, val_loader, device, options.num_classes, options.ignore_index,
                       amp_dtype=options.amp_dtype, progress=options.progress and distributed.is_main_process())
    metrics = confmat.compute(options.class_names)
    log.info("epoch %d validation\n%s", epoch, format_table(metrics))
    if writer is not None:
        for key in ("miou", "pixel_acc", "mean_acc"):
            writer.add_scalar(f"val/{key}", metrics[key], epoch)
        for name, iou in metrics["per_class_iou"].items():
            if iou is not None:
                writer.add_scalar(f"val_iou/{name}", iou, epoch)
    return metrics


def _summary_writer(run_dir: Path):
    from torch.utils.tensorboard import SummaryWriter  # imported late: tensorboard is slow to import

    return SummaryWriter(log_dir=str(run_dir / "tb"))
