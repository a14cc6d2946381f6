"""Hugging Face checkpoints as published weights (a provider of seg_cli.models.published): `model=hf
model.name=HUB_ID` (or a named config such as `model=segformer_b0`) with `model.pretrained=true` evaluates
and predicts with no seg checkpoint and no dataset.

What a checkpoint needs and claims comes from its own files, read from the hub's cache (`HF_HOME`): the class
names from `config.json`'s id2label, the resize and normalisation from its image processor, the colours of a
dataset of seg whose class list it shares (ADE20K, Cityscapes), and the figures its authors published (HUB_FIGURES).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seg_cli.errors import ConfigError
from seg_cli.models import hf_hub

BUILDER = "seg_cli.models.hf.hf"
SEGFORMER = "SegFormer (Xie et al., NeurIPS 2021), Table 1 and 2, single-scale"
MASK2FORMER = "Mask2Former model zoo (facebookresearch/Mask2Former MODEL_ZOO.md), ADE20K semantic, single-scale"
UPERNET = "MMSegmentation configs/convnext (UPerNet, 512x512, 160k iterations), single-scale"
# hub id -> (mIoU in %, source, shorter side the authors tested at): what `seg eval` prints beside its own.
HUB_FIGURES: dict[str, tuple[float, str, int]] = {
    "nvidia/segformer-b0-finetuned-ade-512-512": (37.4, f"{SEGFORMER}, ADE20K val", 512),
    "nvidia/segformer-b1-finetuned-ade-512-512": (42.2, f"{SEGFORMER}, ADE20K val", 512),
    "nvidia/segformer-b2-finetuned-ade-512-512": (46.5, f"{SEGFORMER}, ADE20K val", 512),
    "nvidia/segformer-b3-finetuned-ade-512-512": (49.4, f"{SEGFORMER}, ADE20K val", 512),
    "nvidia/segformer-b4-finetuned-ade-512-512": (50.3, f"{SEGFORMER}, ADE20K val", 512),
    "nvidia/segformer-b5-finetuned-ade-640-640": (51.0, f"{SEGFORMER}, ADE20K val", 640),
    "nvidia/segformer-b0-finetuned-cityscapes-1024-1024": (76.2, f"{SEGFORMER}, Cityscapes val", 1024),
    "openmmlab/upernet-convnext-tiny": (46.11, f"{UPERNET}, ADE20K val", 512),
    "openmmlab/upernet-convnext-small": (48.56, f"{UPERNET}, ADE20K val", 512),
    "openmmlab/upernet-convnext-base": (48.71, f"{UPERNET}, ADE20K val", 512),
    "facebook/mask2former-swin-tiny-ade-semantic": (47.7, MASK2FORMER, 512),
    "facebook/mask2former-swin-small-ade-semantic": (51.3, MASK2FORMER, 512),
}


# What a checkpoint needs of its repository (not the TensorFlow, Flax or ONNX copies some repositories hold too).
DOWNLOADED = ["*.json", "*.safetensors", "pytorch_model*.bin", "*.txt"]


@dataclass(frozen=True)
class HubCheckpoint:
    """A hub id or save_pretrained folder holding a semantic-segmentation model's weights."""

    name: str

    def __str__(self) -> str:
        return self.name


class HubWeights:
    """The checkpoints model=hf's `model.name` names (not a bare model type, which has no weights)."""

    def weights(self, model_cfg: dict[str, Any]) -> HubCheckpoint | None:
        name = str(model_cfg.get("name") or "")
        if model_cfg.get("_target_") != BUILDER or not ("/" in name or hf_hub.is_folder(name)):
            return None  # another family, or a model type (`segformer`): random weights only
        return HubCheckpoint(name)

    def builders(self) -> list[str]:
        return ["hf (model.name=HUB_ID or FOLDER)"]

    def owns(self, weights: Any) -> bool:
        return isinstance(weights, HubCheckpoint)

    def default_weights(self) -> HubCheckpoint:
        raise NotImplementedError("the hub has no default checkpoint")

    def cache_path(self, weights: HubCheckpoint) -> Path:
        """The folder, or the hub cache's folder of the id (models--ORG--NAME)."""
        if hf_hub.is_folder(weights.name):
            return Path(weights.name).expanduser()
        return Path(hf_hub.cache_dir()) / ("models--" + weights.name.replace("/", "--"))

    def is_cached(self, weights: HubCheckpoint) -> bool:
        if hf_hub.is_folder(weights.name):
            return True  # nothing to download: the builder says what a folder lacks
        from huggingface_hub import try_to_load_from_cache

        try:
            return any(isinstance(try_to_load_from_cache(weights.name, file), str)
                       for file in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"))
        except ValueError:  # not a valid hub id: the builder says so in one line
            return False

    def download(self, weights: HubCheckpoint) -> None:
        """The checkpoint's config, processor and weight files into the hub cache, without building the model."""
        if hf_hub.is_folder(weights.name):
            return
        if not hf_hub.reachable():
            raise hf_hub.not_cached(weights.name)
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(weights.name, allow_patterns=DOWNLOADED)
        except (OSError, ValueError) as exc:  # no such repo, no access, a network failure
            raise ConfigError(f"model.name={weights.name}: {hf_hub.first_line(exc)}") from None

    def fetch_state_dict(self, weights: HubCheckpoint, progress: bool | None = None) -> dict[str, torch.Tensor]:
        """The checkpoint's tensors under seg's names (the model=hf adapter's), fetched when not cached."""
        from seg_cli.models.hf import hf

        classes = len(self.label_set(weights)["class_names"])
        return hf(classes, name=weights.name, pretrained=True).state_dict()

    def __init__(self) -> None:
        self._label_sets: dict[str, dict[str, Any]] = {}  # read once a process: predict and eval ask several times

    def label_set(self, weights: HubCheckpoint) -> dict[str, Any]:
        """Class names from id2label; size, resize and normalisation from the image processor; colours of a
        dataset of seg with the same classes (ADE20K, Cityscapes; else seg's own palette)."""
        if weights.name not in self._label_sets:
            self._label_sets[weights.name] = self._read_label_set(weights)
        return copy.deepcopy(self._label_sets[weights.name])

    def _read_label_set(self, weights: HubCheckpoint) -> dict[str, Any]:
        import transformers

        config = hf_hub.load_config(transformers, weights.name)
        names = [str(config.id2label[i]).strip() for i in range(config.num_labels)]
        return {"task": "multiclass", "num_classes": len(names), "class_names": names, "ignore_index": 255,
                "in_channels": 3, "palette": known_palette(names),
                **processor_settings(hf_hub.load_processor(transformers, weights.name))}

    def check_label_set(self, weights: HubCheckpoint, dataset: dict[str, Any]) -> None:
        names = self.label_set(weights)["class_names"]
        if dataset.get("num_classes") != len(names) or dataset.get("in_channels", 3) != 3:
            raise ConfigError(
                f"model.pretrained=true loads {weights}, {len(names)} classes ({', '.join(names[:4])}, ...) from RGB "
                f"images, but the dataset has num_classes={dataset.get('num_classes')}, "
                f"in_channels={dataset.get('in_channels', 3)}: evaluate on the data it was trained for, or train on "
                "yours (seg train model.pretrained=true starts from these weights)")

    def metrics(self, weights: HubCheckpoint) -> dict[str, Any] | None:
        figures = HUB_FIGURES.get(weights.name)
        if figures is None:
            return None
        miou, source, side = figures
        return {"miou": round(miou / 100, 6), "pixel_acc": None, "source": source,
                "url": f"https://huggingface.co/{weights.name}", "base_size": side,
                "protocol": f"the authors tested at shorter side {side}, scored at the labels' own resolution "
                            f"(eval.resolution=original, dataset.base_size={side})"}


def processor_settings(processor: Any | None) -> dict[str, Any]:
    """Dataset keys from an image processor: base_size and resize mode from its `size`, mean and std."""
    if processor is None:
        return {"base_size": 512, "mean": None, "std": None}
    size = dict(getattr(processor, "size", None) or {})
    if "height" in size and size["height"] == size.get("width"):
        resize = {"base_size": int(size["height"]), "resize": "square"}
    else:
        side = size.get("shortest_edge") or min(size.get("height", 512), size.get("width", 512))
        resize = {"base_size": int(side), "resize": "shorter"}
    mean, std = getattr(processor, "image_mean", None), getattr(processor, "image_std", None)
    return {**resize, "mean": [float(v) for v in mean] if mean else None,
            "std": [float(v) for v in std] if std else None}


SAME_CLASSES = 0.9  # share of class names that must agree, index for index (hub label files spell a few otherwise)


def known_palette(names: list[str]) -> list[list[int]] | None:
    """The palette of a dataset config of seg with these classes: as many, and nearly all the same names in the same
    order (case and spacing aside)."""
    import yaml

    from seg_cli.paths import config_dir

    wanted = [_plain(name) for name in names]
    for path in sorted((Path(config_dir()) / "dataset").glob("*.yaml")):
        dataset = yaml.safe_load(path.read_text()) or {}
        known = [_plain(n) for n in dataset.get("class_names") or []]
        if dataset.get("palette") and len(known) == len(wanted) and \
                sum(a == b for a, b in zip(known, wanted, strict=True)) >= SAME_CLASSES * len(wanted):
            return dataset["palette"]
    return None


def _plain(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", str(name)).strip().lower()
