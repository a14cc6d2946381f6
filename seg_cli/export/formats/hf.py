"""`format=hf`: a Hugging Face transformers folder of a model=hf checkpoint, loaded with `from_pretrained`.

The folder holds config.json (id2label / label2id from the run's class names), model.safetensors, the image
processor of the model type (preprocessor_config.json: the run's mean, std and export size, no label reduction)
and seg.json (seg's metadata). `AutoModelForSemanticSegmentation.from_pretrained(folder)` and
`AutoImageProcessor.from_pretrained(folder)` load it; `huggingface-cli upload` or `push_to_hub` publish it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.export.formats.base import ExportFormat, Written, torch_runner
from seg_cli.models.contract import unwrap_model
from seg_cli.models.hf import builders
from seg_cli.models.hf_hub import HubModel


class HfFormat(ExportFormat):
    """save_pretrained of the transformers model inside seg's HfAdapter, checked by loading it back."""

    name = "hf"
    suffix = ""  # a folder
    fits_what = "exports model=hf checkpoints"
    family = HubModel  # HfAdapter, Mask2FormerAdapter
    packages = ("transformers", "safetensors")

    def describe(self) -> str:
        return "transformers save_pretrained"

    def usage(self, channels: int, classes: int, fixed_size: tuple[int, int] | None) -> str:
        return ("AutoModelForSemanticSegmentation (Mask2Former: AutoModelForUniversalSegmentation) and "
                "AutoImageProcessor.from_pretrained load it; "
                f"{classes} labels in config.json")

    def write(self, model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any],
              size_bound: bool) -> Written:
        import transformers

        inner = unwrap_model(model).model
        inner.config.id2label = dict(enumerate(label_names(metadata["class_names"], inner.config.num_labels)))
        inner.config.label2id = {name: index for index, name in inner.config.id2label.items()}
        with _no_progress_bars(transformers):
            inner.save_pretrained(str(path))  # safetensors, transformers' default
            image_processor(inner.config.model_type, metadata, tuple(sample.shape[-2:])).save_pretrained(str(path))
            (path / "seg.json").write_text(json.dumps(metadata, indent=1))
            auto, adapter = builders(transformers, inner.config)  # Mask2Former loads with its own auto class
            loaded = auto.from_pretrained(str(path)).eval()
        return Written(torch_runner(adapter(loaded)), "Hugging Face transformers folder")


@contextlib.contextmanager
def _no_progress_bars(transformers: Any) -> Iterator[None]:
    """transformers' progress bars (writing shards, loading weights) off: the export prints its own lines."""
    hf_logging = transformers.utils.logging
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def label_names(class_names: list[str], num_labels: int) -> list[str]:
    """The names of the model's output channels: the class names, or the last ones where the task has fewer
    channels than classes (a binary model's one channel is its foreground, the last class)."""
    return list(class_names[len(class_names) - num_labels:])


def image_processor(model_type: str, metadata: dict[str, Any], size: tuple[int, int]) -> Any:
    """The image processor of `model_type` (transformers' own choice) preparing images as seg's eval does:
    resized to `size`, RGB / 255 normalised with the run's mean and std, no crop, no channel flip. A model type
    whose processor cannot normalise (MobileViT's) gets SegFormer's, transformers' plain resize-and-normalise one
    (UperNet's too)."""
    from transformers.models.auto.image_processing_auto import get_image_processor_class_from_name

    cls = get_image_processor_class_from_name(_processor_name(model_type))
    if getattr(cls, "do_normalize", None) is None:
        cls = get_image_processor_class_from_name(_processor_name("segformer"))
    return cls(do_resize=True, size={"height": size[0], "width": size[1]}, do_rescale=True, rescale_factor=1 / 255,
               do_normalize=True, image_mean=list(metadata["mean"]), image_std=list(metadata["std"]),
               do_center_crop=False, do_flip_channel_order=False, do_reduce_labels=False)


def _processor_name(model_type: str) -> str:
    """The class name of the model type's image processor, the torchvision one where there is one."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    names = IMAGE_PROCESSOR_MAPPING_NAMES[model_type]
    return names.get("torchvision") or names["pil"]


FORMAT = HfFormat
