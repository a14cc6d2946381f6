"""The model-config keys that fetch weights: one table for the dispatcher (which downloads published weights
before a run dir exists), the commands (which tell a model's own weights from a checkpoint's) and the loaders
(which switch every download off when the weights come from a file).

A model family declares which keys its builders take (`ModelSpec.download_keys`, seg_cli.models.contract);
DOWNLOAD_KEYS are the conventional ones, assumed for a family that declares nothing.
Free of torch imports, so `seg --help` stays instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PUBLISHED_KEY = "pretrained"  # true: the whole network's published weights (seg_cli.models.published)
# Builder keywords that download weights while the model is built.
DOWNLOAD_KEYS = (PUBLISHED_KEY, "pretrained_backbone")
WEIGHTS_KEY = "weights"  # a weights file to load (nothing downloaded)


def without_downloads(model_cfg: dict[str, Any], keys: Sequence[str] = DOWNLOAD_KEYS) -> dict[str, Any]:
    """The model config to build an architecture whose weights are loaded next: nothing fetched at build time
    (so an offline machine evaluates a checkpoint trained from pretrained weights). `keys`: the download keys
    the model's family declares."""
    return {**model_cfg, WEIGHTS_KEY: None, **{key: False for key in keys if key in model_cfg}}


def weights_in_config(model_cfg: Mapping[str, Any]) -> bool:
    """Whether a model config names its own weights (published ones or a file) instead of a seg checkpoint's."""
    return model_cfg.get(PUBLISHED_KEY) is True or bool(model_cfg.get(WEIGHTS_KEY))
