"""A trained model back from a seg checkpoint, for `seg eval`, `seg predict` and `seg export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.checkpoint import load_checkpoint
from seg_cli.engine import distributed
from seg_cli.errors import CheckpointError
from seg_cli.models.build import build_model, load_model_state
from seg_cli.utils import deep_merge


def load_trained_model(path: Path, overrides: dict[str, Any], device_name: str
                       ) -> tuple[nn.Module, dict[str, Any], torch.device]:
    """(model in eval mode on its device, run config, device) from the seg checkpoint at `path`.

    The model and dataset come from the config the checkpoint carries, with `overrides` (e.g.
    {"dataset": {"root": "/new/place"}}) on top.
    """
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not a seg checkpoint (no config); use model.weights=PATH in seg train")
    config = deep_merge(state["config"], overrides)
    model = build_model({**config["model"], "weights": None})
    load_model_state(model, state["model"], path)
    device = distributed.local_device(device_name)
    return model.to(device).eval(), config, device
