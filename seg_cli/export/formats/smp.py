"""`format=smp`: a segmentation-models-pytorch folder of a model=smp checkpoint, loaded with SMP's `from_pretrained`.

SMP's own `save_pretrained` writes config.json (the architecture and its arguments), model.safetensors and a model
card; seg adds seg.json (class names, mean, std, sizes). `segmentation_models_pytorch.from_pretrained(folder)`
loads it, with nothing downloaded (the encoder's weights are in the file); `push_to_hub` publishes it.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.export.formats.base import ExportFormat, Written, torch_runner
from seg_cli.models.contract import unwrap_model
from seg_cli.models.smp import SmpAdapter


class SmpFormat(ExportFormat):
    """save_pretrained of the SMP model inside seg's SmpAdapter, checked by loading it back."""

    name = "smp"
    suffix = ""  # a folder
    fits_what = "exports model=smp checkpoints"
    family = SmpAdapter
    packages = ("segmentation_models_pytorch", "safetensors")

    def describe(self) -> str:
        return "segmentation_models_pytorch save_pretrained"

    def usage(self, channels: int, classes: int, fixed_size: tuple[int, int] | None) -> str:
        return (f"segmentation_models_pytorch.from_pretrained loads it; {channels} input channels, {classes} "
                "output channels; H and W a multiple of the model's stride")

    def write(self, model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any],
              size_bound: bool) -> Written:
        import segmentation_models_pytorch

        adapter = unwrap_model(model)
        inner = adapter.model
        config = inner.config  # the builder's arguments, as SMP recorded them
        weights, config["encoder_weights"] = config.get("encoder_weights"), None  # loading must download nothing
        try:
            inner.save_pretrained(str(path))
        finally:
            config["encoder_weights"] = weights
        (path / "seg.json").write_text(json.dumps(metadata, indent=1))
        with contextlib.redirect_stdout(io.StringIO()):  # SMP prints "Loading weights from local directory"
            loaded = segmentation_models_pytorch.from_pretrained(str(path)).eval()
        return Written(torch_runner(SmpAdapter(loaded, adapter.multiple, adapter.min_side)),
                       "segmentation-models-pytorch folder")


FORMAT = SmpFormat
