"""Build a model from its config and load local weights shape-filtered."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.errors import CheckpointError
from seg_cli.utils import call_with_config, split_target

log = logging.getLogger(__name__)


def build_model(cfg: dict[str, Any]) -> nn.Module:
    """Call the builder named by `_target_`; `weights`, when set, is loaded afterwards."""
    builder, kwargs = split_target(cfg)
    weights = kwargs.pop("weights", None)
    model = call_with_config(builder, "model", **kwargs)
    if weights:
        load_weights(model, weights)
    return model


def load_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Load a state dict or seg checkpoint, skipping keys whose shape differs (e.g. another class count).

    Returns the skipped keys, which are also logged.
    """
    from seg_cli.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    state = state.get("model", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in state if k not in fitting)
    if not fitting:
        raise CheckpointError(f"model.weights={path}: no tensor matches this model (wrong architecture?)")
    model.load_state_dict(fitting, strict=False)
    missing = len(own) - len(fitting)
    log.info("loaded %d tensors from %s; %d skipped, %d left at initialisation", len(fitting), path, len(skipped), missing)
    if skipped:
        log.info("skipped (shape or name differs): %s", ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""))
    return skipped


def load_model_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Strict load with a one-line explanation when the checkpoint belongs to another model."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
                  for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        example = (mismatched or missing or unexpected)[0]
        raise CheckpointError(
            f"{source} does not fit this model ({len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(mismatched)} mismatched tensors, e.g. {example}); was it trained with another model or class count?"
        )
    model.load_state_dict(state)
