"""A trained model for `seg eval`, `seg predict` and `seg export`: from a seg checkpoint, or from a model
config with torchvision's published weights (`pretrained: true`) or a weights file (`weights: PATH`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.checkpoint import load_checkpoint
from seg_cli.engine import distributed
from seg_cli.engine.freeze import in_prefixes
from seg_cli.errors import CheckpointError
from seg_cli.models import published
from seg_cli.models.build import build_model, load_model_state
from seg_cli.models.contract import family_spec
from seg_cli.models.weight_keys import without_downloads
from seg_cli.utils import deep_merge


def load_trained_model(path: Path, overrides: dict[str, Any], device_name: str
                       ) -> tuple[nn.Module, dict[str, Any], torch.device]:
    """(model in eval mode on its device, run config, device) from the seg checkpoint at `path`.

    The model and dataset come from the config the checkpoint carries, with `overrides` (e.g.
    {"dataset": {"root": "/new/place"}}) on top.
    """
    device = distributed.local_device(device_name)  # first: a device this machine lacks fails before the load
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not a seg checkpoint (no config); evaluate it with model=NAME "
                              f"model.weights={path}, or train from it with model.weights=PATH in seg train")
    config = deep_merge(state["config"], overrides)
    model = build_model(without_downloads(config["model"], family_spec(config["model"]).download_keys))
    load_model_state(model, state["model"], path)
    return model.to(device).eval(), config, device


def load_configured_model(config: dict[str, Any], device_name: str
                          ) -> tuple[nn.Module, dict[str, Any], Path, torch.device]:
    """(model in eval mode, config, weights file, device) for a model config with `weights: PATH` or
    `pretrained: true` (torchvision's published weights) and no seg checkpoint: the model and its classes
    come from `config`, the tensors from the file (strictly: inference with half-loaded weights is noise).

    With published weights the config gains `published`: the mIoU / pixel accuracy torchvision measured.
    """
    device = distributed.local_device(device_name)  # first: a device this machine lacks fails before a download
    model_cfg = config["model"]
    if model_cfg.get("weights"):
        path = Path(model_cfg["weights"])
        state = state_dict_of(load_checkpoint(path))
        source = f"model.weights={path}"
        fix = "pass the model= and dataset (or dataset.num_classes=N) it was trained with"
    else:
        weights = published.weights_of(model_cfg)
        published.check_label_set(weights, config["dataset"])
        path, state = published.cache_path(weights), published.fetch_state_dict(weights)
        config = {**config, "published": published.published_metrics(weights)}
        source, fix = f"{weights} ({path})", "delete the file to download it again"
    model = build_model(without_downloads(model_cfg, family_spec(model_cfg).download_keys))
    own, aux_heads = model.state_dict(), family_spec(model_cfg).aux_heads
    # An inference model built with aux_loss=false simply has no use for the auxiliary head's tensors.
    state = {k: v for k, v in state.items() if k in own or not in_prefixes(k, aux_heads)}
    try:
        load_model_state(model, state, source)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} Fix: {fix}") from None
    return model.to(device).eval(), config, path, device


def state_dict_of(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The model tensors of a state dict, a seg checkpoint or a torchvision-reference checkpoint ({"model": ...})."""
    tensors = state["model"] if isinstance(state.get("model"), dict) else state
    return {k.removeprefix("module."): v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
