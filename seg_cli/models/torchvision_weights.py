"""torchvision's published segmentation weights: the first provider of seg_cli.models.published.

The file comes through torchvision's own download and torch.hub's cache (`$TORCH_HOME/hub/checkpoints/`),
so a second run works offline. What the weights need and claim comes from their metadata: class names,
input size and normalisation (`weights.transforms()`), and the mIoU / pixel accuracy torchvision measured.
"""

from __future__ import annotations

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
from seg_cli.models import torchvision_models
from seg_cli.models.torchvision_models import PRETRAINED_CLASSES, PUBLISHED, published_weights

METRICS_KEY = "COCO-val2017-VOC-labels"  # the split torchvision measured its segmentation weights on
# torch.hub opens the URL without a timeout: a network that drops packets would otherwise hang forever.
DOWNLOAD_TIMEOUT_S = 60.0


class TorchvisionWeights:
    """The COCO-with-VOC-labels weights of seg_cli.models.torchvision_models' builders."""

    module = torchvision_models.__name__

    def weights(self, model_cfg: dict[str, Any]) -> WeightsEnum | None:
        module, _, name = str(model_cfg.get("_target_", "")).rpartition(".")
        return published_weights(name) if module == self.module else None

    def builders(self) -> list[str]:
        return list(PUBLISHED)

    def owns(self, weights: Any) -> bool:
        return isinstance(weights, WeightsEnum)

    def default_weights(self) -> WeightsEnum:
        """The COCO-with-VOC-labels set all of torchvision's segmentation weights share."""
        return published_weights("fcn_resnet50")

    def cache_path(self, weights: WeightsEnum) -> Path:
        """torch.hub's place for the file: $TORCH_HOME/hub/checkpoints/<URL's file name>."""
        return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name

    def is_cached(self, weights: WeightsEnum) -> bool:
        return self.cache_path(weights).is_file()

    def download(self, weights: WeightsEnum) -> None:
        self.fetch_state_dict(weights)  # one file: torchvision's download reads it as well

    def fetch_state_dict(self, weights: WeightsEnum, progress: bool | None = None) -> dict[str, torch.Tensor]:
        """The state dict through torchvision's download and torch.hub's cache (no network when cached)."""
        path = self.cache_path(weights)
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

    def label_set(self, weights: WeightsEnum) -> dict[str, Any]:
        """Their class names, VOC's colours (palette null), and the input size and normalisation of
        `weights.transforms()`."""
        transform = weights.transforms()
        names = list(weights.meta["categories"])
        return {
            "task": "multiclass", "num_classes": len(names), "class_names": names, "ignore_index": 255,
            "base_size": int(transform.resize_size[0]), "in_channels": 3, "palette": None,
            "mean": [float(v) for v in transform.mean], "std": [float(v) for v in transform.std],
        }

    def check_label_set(self, weights: WeightsEnum, dataset: dict[str, Any]) -> None:
        """The weights predict PRETRAINED_CLASSES classes from RGB; refuse a dataset that differs."""
        if dataset.get("num_classes") != PRETRAINED_CLASSES or dataset.get("in_channels", 3) != 3:
            raise ConfigError(
                f"model.pretrained=true loads {weights}, {PRETRAINED_CLASSES} VOC classes from RGB images, but the "
                f"dataset has num_classes={dataset.get('num_classes')}, in_channels={dataset.get('in_channels', 3)}: "
                "use a VOC-labelled dataset (dataset=voc), or train on yours (seg train model.pretrained=true starts "
                "from these weights)")

    def metrics(self, weights: WeightsEnum) -> dict[str, Any] | None:
        """What torchvision measured, as fractions like seg's own metrics (None if it says nothing)."""
        measured = weights.meta.get("_metrics", {}).get(METRICS_KEY)
        if not measured:
            return None
        return {"miou": round(measured["miou"] / 100, 6), "pixel_acc": round(measured["pixel_acc"] / 100, 6),
                "source": f"torchvision {weights}, {METRICS_KEY}", "url": weights.url,
                "base_size": int(weights.transforms().resize_size[0])}
