"""`format=onnx`: one .onnx file (weights inside) with dynamic batch, height and width, run by onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.export import exporters as ex
from seg_cli.export.formats.base import ExportFormat, Written

SIZE_BOUND = "the graph is right at this size only: pyramid pooling, a square patch grid or multi-scale attention"
SPECIALISED = "the exporter fixed the model's height and width"


class OnnxFormat(ExportFormat):
    """torch.onnx.export of the main logits; seg's metadata in metadata_props["seg"].

    A size-bound model keeps only the batch dynamic, and so does a model the exporter specialised to the sample's
    size (torch.export does where a model computes Python numbers from H and W: MobileViT's patches, DPT's grid).
    Either way the file records `fixed_size` and onnxruntime refuses other sizes instead of computing wrong logits.
    """

    name = "onnx"
    suffix = ".onnx"
    hint = "onnx_exporter=legacy or format=torchscript"

    def __init__(self, opset: int | None = None, onnx_exporter: str = "auto") -> None:
        self.opset, self.exporter = opset, ex.choose_onnx_exporter(onnx_exporter)
        # the export and its onnxruntime check; torch.export's ONNX path also needs onnxscript
        self.packages = ("onnx", "onnxruntime") + (("onnxscript",) if self.exporter == "dynamo" else ())

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OnnxFormat:
        return cls(settings.get("opset"), settings.get("onnx_exporter", "auto"))

    def install_hint(self, missing: list[str]) -> str:
        return "pip install 'seg-cli[export]'"

    def describe(self) -> str:
        return f"torch.onnx.export(dynamo={self.exporter == 'dynamo'})"

    def write(self, model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any],
              size_bound: bool) -> Written:
        from seg_cli.export.onnx_runtime import OnnxSegmenter

        ex.export_onnx(ex.LogitsOnly(model).eval(), sample, path, self.opset, self.exporter, fixed=size_bound)
        size = (int(sample.shape[-2]), int(sample.shape[-1]))
        fixed = size_bound or fixed_height_width(path)
        opset = ex.add_onnx_metadata(path, {**metadata, "fixed_size": list(size)} if fixed else metadata)
        run = OnnxSegmenter(path, providers=["CPUExecutionProvider"])
        why = SIZE_BOUND if size_bound else SPECIALISED
        return Written(run, f"ONNX opset {opset}", size if fixed else None, why if fixed else "")


def fixed_height_width(path: Path) -> bool:
    """Whether the file's image input has a fixed (numeric) height or width."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return any(dim.HasField("dim_value") for dim in list(dims)[2:])


FORMAT = OnnxFormat
