"""torchvision's published segmentation weights, for `seg eval` / `seg predict` without a checkpoint.

The file comes through torchvision's own download and torch.hub's cache (`$TORCH_HOME/hub/checkpoints/`),
so a second run works offline. What the weights need and claim comes from their metadata: class names,
input size and normalisation (`weights.transforms()`), and the mIoU / pixel accuracy torchvision measured.
"""

from __future__ import annotations

import math
import pickle
import socket
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torchvision.models import WeightsEnum

from seg_cli.errors import CheckpointError, ConfigError, one_line, shorten
from seg_cli.models.torchvision_models import PRETRAINED_CLASSES, PUBLISHED, published_weights

TORCHVISION_MODULE = "seg_cli.models.torchvision_models"
METRICS_KEY = "COCO-val2017-VOC-labels"  # the split torchvision measured its segmentation weights on
# torch.hub opens the URL without a timeout: a network that drops packets would otherwise hang forever.
DOWNLOAD_TIMEOUT_S = 60.0


def _builder_weights(model_cfg: dict[str, Any]) -> tuple[str, WeightsEnum | None]:
    """(builder name, its published weights or None) of the builder a model config's `_target_` names."""
    module, _, name = str(model_cfg.get("_target_", "")).rpartition(".")
    return name, published_weights(name) if module == TORCHVISION_MODULE else None


def weights_of(model_cfg: dict[str, Any]) -> WeightsEnum:
    """The published weights of the builder a model config names; ConfigError for a model without any."""
    name, weights = _builder_weights(model_cfg)
    if weights is None:
        chosen = f"model={name}" if name else "no model= choice"
        raise ConfigError(f"model.pretrained=true with {chosen}: published weights exist for {', '.join(PUBLISHED)}; "
                          "add model=NAME with one of them, or give ckpt=PATH / model.weights=PATH")
    return weights


def cache_path(weights: WeightsEnum) -> Path:
    """Where torch.hub keeps (and looks for) the weights file: $TORCH_HOME/hub/checkpoints/<URL's file name>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def is_cached(weights: WeightsEnum) -> bool:
    return cache_path(weights).is_file()


def fetch_state_dict(weights: WeightsEnum, progress: bool | None = None) -> dict[str, torch.Tensor]:
    """The weights' state dict through torchvision's download and torch.hub's cache (no network when cached).

    Raises CheckpointError (one line) when the file can neither be read from the cache nor downloaded.
    """
    path = cache_path(weights)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        return weights.get_state_dict(progress=sys.stderr.isatty() if progress is None else progress,
                                      check_hash=True, weights_only=True)
    except OSError as exc:  # URLError, HTTPError, timeouts, a full disk
        if path.is_file():
            raise CheckpointError(f"cannot read {path} ({one_line(exc)}); delete it to download it again") from None
        reason = one_line(getattr(exc, "reason", None) or exc)
        raise CheckpointError(f"cannot download {weights.url} ({reason}); offline? put that file at {path} "
                              "(TORCH_HOME chooses the folder) and run again") from None
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        # A download whose hash does not match, or a damaged (or non-plain-data) file in the cache.
        raise CheckpointError(f"{path} is not a readable copy of {weights.url} ({shorten(one_line(exc))}); "
                              "delete it and run again") from None
    finally:
        socket.setdefaulttimeout(previous)


def label_set(weights: WeightsEnum) -> dict[str, Any]:
    """A dataset config of the weights' own label set (what `seg predict` uses without a dataset): their class
    names, VOC's colours (palette null), and the input size and normalisation of `weights.transforms()`."""
    transform = weights.transforms()
    names = list(weights.meta["categories"])
    return {
        "task": "multiclass", "num_classes": len(names), "class_names": names, "ignore_index": 255,
        "base_size": int(transform.resize_size[0]), "in_channels": 3, "palette": None,
        "mean": [float(v) for v in transform.mean], "std": [float(v) for v in transform.std],
    }


def default_label_set(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """The label set `seg predict` assumes without a dataset: that of the model's published weights, else the
    COCO-with-VOC-labels set all of torchvision's segmentation weights share."""
    own = _builder_weights(model_cfg)[1]
    return label_set(own or published_weights("fcn_resnet50"))


def check_label_set(weights: WeightsEnum, dataset: dict[str, Any]) -> None:
    """The published weights predict PRETRAINED_CLASSES classes from RGB; refuse a dataset that differs."""
    if dataset.get("num_classes") != PRETRAINED_CLASSES or dataset.get("in_channels", 3) != 3:
        raise ConfigError(
            f"model.pretrained=true loads {weights}, {PRETRAINED_CLASSES} VOC classes from RGB images, but the "
            f"dataset has num_classes={dataset.get('num_classes')}, in_channels={dataset.get('in_channels', 3)}: "
            "use a VOC-labelled dataset (dataset=voc), or train on yours (seg train model.pretrained=true starts "
            "from these weights)")


def published_metrics(weights: WeightsEnum) -> dict[str, Any] | None:
    """What torchvision measured for the weights, as fractions like seg's own metrics (None if it says nothing)."""
    measured = weights.meta.get("_metrics", {}).get(METRICS_KEY)
    if not measured:
        return None
    return {"miou": round(measured["miou"] / 100, 6), "pixel_acc": round(measured["pixel_acc"] / 100, 6),
            "source": f"torchvision {weights}, {METRICS_KEY}", "url": weights.url,
            "base_size": int(weights.transforms().resize_size[0])}


def format_published(metrics: dict[str, Any]) -> str:
    """Measured mIoU and pixel accuracy beside the published ones (empty when the weights publish none)."""
    published = metrics.get("published")
    if not published:
        return ""

    def pct(value: float | None) -> str:
        return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"

    lines = [f"{'':<10}  {'measured':>9}  {'published':>9}"]
    for key, label in (("pixel_acc", "pixel acc"), ("miou", "mIoU")):
        lines.append(f"{label:<10}  {pct(metrics.get(key)):>9}  {pct(published[key]):>9}")
    lines.append(f"published: {published['source']}, measured at the resized resolution, shorter side "
                 f"{published['base_size']} (eval.resolution=resized, dataset.base_size={published['base_size']})")
    return "\n".join(lines)


def ensure_cached(name: str) -> None:
    """Download the published weights of the builder `name` into torch.hub's cache unless they are there
    (no-op for a name without published weights: the command then says what is wrong)."""
    weights = published_weights(name)
    if weights is not None and not is_cached(weights):
        fetch_state_dict(weights)
