"""A run's resumable state: where it stands (Progress) and what a checkpoint holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from seg_cli.checkpoint import rng_state, save_checkpoint, set_rng_state
from seg_cli.errors import CheckpointError, SegError
from seg_cli.models.build import load_model_state
from seg_cli.models.contract import unwrap_model

if TYPE_CHECKING:
    from seg_cli.engine.ema import ModelEma


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run continues from here."""

    epoch: int = 0  # the epoch in progress (== completed epochs when epoch_samples is 0)
    epoch_samples: int = 0  # samples of this epoch already trained on, over all processes
    global_step: int = 0  # optimizer steps
    best_value: float | None = None
    best_epoch: int | None = None
    best_step: int | None = None
    nonfinite_skipped: int = 0
    last_metrics: dict[str, Any] = field(default_factory=dict)
    last_eval_step: int | None = None  # the optimizer step of the latest evaluation
    stale_evals: int = 0  # evaluations since the best metric last improved by train.early_stopping.min_delta
    reference_value: float | None = None  # the value those improvements are measured from
    stop_reason: str | None = None  # set when the run ended before its budget (early stopping)

    def finished(self, epochs: int, max_steps: int | None = None) -> str | None:
        """Why a run standing here has nothing left to train under this budget (None: it has): it stopped
        early, took `max_steps` optimizer steps, or (without a step budget) completed `epochs` epochs."""
        if self.stop_reason:
            return f"it stopped early: {self.stop_reason}"
        if max_steps:
            return (f"it took all train.max_steps={max_steps} optimizer steps" if self.global_step >= max_steps
                    else None)
        return f"it trained all train.epochs={epochs} epochs" if self.epoch >= epochs else None


class NonFiniteWeightsError(SegError):
    """Weights became NaN or infinite: they are never written to a checkpoint."""


def training_state(model: nn.Module, optimizer, scheduler, scaler, progress: Progress, config: dict[str, Any],
                   ema: ModelEma | None = None) -> dict[str, Any]:
    """Everything needed to resume or to rebuild the model, as plain data.

    With EMA the average is "model" (what seg eval / predict / export load) and the trained weights are
    "raw_model" (what a resumed run trains on).
    """
    weights = unwrap_model(model).state_dict()
    state = {
        "model": ema.state_dict() if ema is not None else weights,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "progress": vars(progress).copy(),
        "rng": rng_state(),
        "config": config,
    }
    if ema is not None:
        state["raw_model"] = weights
    return state


def restore_training_state(state: dict[str, Any], model: nn.Module, optimizer, scheduler, scaler,
                           ema: ModelEma | None = None) -> Progress:
    """Load what `training_state` saved; returns the run's progress. A run that turns EMA on when resumed
    starts the average from the resumed weights."""
    load_model_state(unwrap_model(model), state.get("raw_model", state["model"]), "the resumed checkpoint")
    if ema is not None:
        ema.load_state_dict(state["model"] if "raw_model" in state else unwrap_model(model).state_dict())
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the resumed checkpoint's optimizer state does not fit this optimizer ({exc})") from None
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


class Checkpoints:
    """Writes the state of a run (a seg_cli.engine.fit.Training) to checkpoints/<name> (rank 0 only; never
    with non-finite weights)."""

    def __init__(self, training: Any, folder: Path, config: dict[str, Any], enabled: bool) -> None:
        self.training, self.folder, self.config, self.enabled = training, folder, config, enabled

    def path(self, name: str) -> Path:
        return self.folder / name

    def save(self, name: str) -> None:
        if self.enabled:
            t = self.training
            require_finite(t.model)
            save_checkpoint(training_state(t.model, t.optimizer, t.scheduler, t.scaler, t.progress, self.config,
                                           t.ema), self.path(name))


def require_finite(model: nn.Module) -> None:
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise NonFiniteWeightsError("weights became NaN or infinite; no checkpoint was written "
                                    "(lower optimizer.lr or set train.clip_grad_norm)")
