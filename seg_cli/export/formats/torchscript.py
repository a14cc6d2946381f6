"""`format=torchscript`: a torch.jit.trace file, loaded with torch.jit.load (no seg needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.export import exporters as ex
from seg_cli.export.formats.base import ExportFormat, Written


class TorchScriptFormat(ExportFormat):
    """The traced main logits; seg's metadata in the extra file `seg.json`. Tracing records adaptive pooling as
    the operation itself, so a size-bound model stays right at any size; the check at a second size shows it."""

    name = "torchscript"
    suffix = ".pt"

    def describe(self) -> str:
        return "torch.jit.trace"

    def write(self, model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any],
              size_bound: bool) -> Written:
        ex.export_torchscript(ex.LogitsOnly(model).eval(), sample, path, metadata)
        return Written(ex.load_torchscript(path), "TorchScript")


FORMAT = TorchScriptFormat
