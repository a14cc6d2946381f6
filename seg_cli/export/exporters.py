"""Export a trained model with dynamic batch, height and width, and compare the export with PyTorch.

The exported graph takes `image`, a float32 (N, in_channels, H, W) batch normalised as in training (in_channels
from the checkpoint's dataset.in_channels: 3 for RGB), and returns `logits`, float32 (N, C, H, W). Metadata (class
names, normalisation, eval size, a binary model's max-F threshold, the fixed size of a size-bound model) travels
inside the file: ONNX `metadata_props["seg"]`, TorchScript extra file `seg.json`. The formats themselves are the
modules of seg_cli/export/formats/.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seg_cli.errors import SegError, one_line
from seg_cli.models.contract import model_outputs, spec_of
from seg_cli.tasks import DEFAULT_TASK, get_task

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}
# Loggers of the exporter's own passes: dozens of INFO lines per export that the user cannot act on.
_CHATTY_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx", "torch.export", "torch._dynamo")


class LogitsOnly(nn.Module):
    """The model with one output, the main logits: a contract dict ({"out", "aux", ...}) becomes "out"."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        for head in spec_of(model).aux_heads:
            # The contract: a model skips an aux head set to None, so the export carries no dead branch.
            parent, _, name = head.rpartition(".")
            setattr(model.get_submodule(parent), name, None)
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return model_outputs(self.model(image))["out"]


def choose_onnx_exporter(requested: str) -> str:
    """`dynamo` (torch.export-based, the default since PyTorch 2.9) when this torch has it and onnxscript
    is installed, else `legacy` (the TorchScript-based exporter of older PyTorch)."""
    if requested != "auto":
        return requested
    has_dynamo = "dynamo" in inspect.signature(torch.onnx.export).parameters
    return "dynamo" if has_dynamo and importlib.util.find_spec("onnxscript") else "legacy"


def export_onnx(model: nn.Module, sample: torch.Tensor, path: Path, opset: int | None, exporter: str,
                fixed: bool = False) -> None:
    """Write `model` as ONNX with dynamic batch, height and width (one file, weights inside); `fixed` keeps
    height and width at the sample's (a size-bound model: see seg_cli.models.contract.size_bound)."""
    dynamic = {0: DYNAMIC_AXES[0]} if fixed else DYNAMIC_AXES
    common = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME], "opset_version": opset}
    with warnings.catch_warnings(), torch.no_grad(), _quiet_exporter_logs():
        warnings.simplefilter("ignore")  # exporter chatter (deprecations, constant folding) is not the user's
        if exporter == "dynamo":
            dims = {axis: torch.export.Dim(name) for axis, name in dynamic.items()}
            torch.onnx.export(model, (sample,), str(path), dynamo=True, dynamic_shapes={INPUT_NAME: dims},
                              external_data=False, verbose=False, **common)
        else:
            legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
            axes = {INPUT_NAME: dynamic, OUTPUT_NAME: dynamic}
            torch.onnx.export(model, (sample,), str(path), dynamic_axes=axes, do_constant_folding=True,
                              **legacy, **{**common, "opset_version": opset or 17})


@contextlib.contextmanager
def _quiet_exporter_logs() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def add_onnx_metadata(path: Path, metadata: dict[str, Any]) -> int:
    """Store `metadata` as JSON under metadata_props["seg"]; returns the file's ONNX opset."""
    import onnx

    proto = onnx.load(str(path))
    kept = [p for p in proto.metadata_props if p.key != "seg"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "seg", json.dumps(metadata)
    onnx.save(proto, str(path))
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def export_torchscript(model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any]) -> None:
    """Trace `model` (sizes are recorded as operations, so H and W stay free) and save it with metadata."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated upstream; still supported
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape tests become constants: the check finds it
        traced = torch.jit.trace(model, sample, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={"seg.json": json.dumps(metadata)})


def load_torchscript(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy-in, numpy-out runner of a TorchScript export (on the CPU)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path), map_location="cpu")

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(batch)).numpy()

    return run


def check_shapes(batch: int, height: int, width: int, in_channels: int = 3,
                 fixed: bool = False) -> list[tuple[int, int, int, int]]:
    """The export's own input shape and a second, odd one with another batch size: an export that
    silently fixed a dimension fails on the second. A `fixed` (size-bound) export keeps height and width."""
    if fixed:
        return [(batch, in_channels, height, width), (batch + 1, in_channels, height, width)]
    return [(batch, in_channels, height, width),
            (batch + 1, in_channels, height * 3 // 4 + 1, width * 5 // 4 + 1)]


def max_abs_differences(
    model: nn.Module, run: Callable[[np.ndarray], np.ndarray], shapes: Sequence[tuple[int, ...]], seed: int = 0
) -> list[float]:
    """max |run(x) - model(x)| for a random normalised batch x of each shape."""
    generator = torch.Generator().manual_seed(seed)
    differences = []
    for shape in shapes:
        batch = torch.randn(shape, generator=generator)
        with torch.no_grad():
            expected = model(batch).float().numpy()
        try:
            got = run(batch.numpy())
        except Exception as exc:  # onnxruntime and TorchScript raise their own error types
            raise SegError(f"the exported model fails on an input of shape {list(shape)}: {one_line(exc)}") from None
        if got.shape != expected.shape:
            raise SegError(f"the exported model returns shape {list(got.shape)} for input {list(shape)}; "
                           f"PyTorch returns {list(expected.shape)}")
        differences.append(float(np.abs(got.astype(np.float32) - expected).max()))
    return differences


def input_description(channels: int) -> str:
    """The exported input in words, for the file's metadata."""
    if channels == 3:
        return f"{INPUT_NAME}: float32 (N, 3, H, W), RGB / 255 normalised with mean and std"
    return (f"{INPUT_NAME}: float32 (N, {channels}, H, W), bands on the [0, 1] scale of their bit depth "
            "(8-bit / 255, 16-bit / 65535) normalised with mean and std")


def model_metadata(config: dict[str, Any], best_threshold: float | None = None) -> dict[str, Any]:
    """What a consumer of the exported file needs to prepare images and read the logits.

    Binary models also carry `best_threshold`, the checkpoint's max-F threshold on its validation split (null
    where it stores none): `seg predict backend=onnx threshold=auto` cuts masks there, as from the checkpoint.
    """
    from seg_cli.data.transform_config import image_channels, normalization

    d = config["dataset"]
    task = d.get("task", DEFAULT_TASK)
    labels = get_task(task).label_count(d["num_classes"])
    channels = image_channels(d)
    mean, std = normalization(d)
    metadata = {
        "input": input_description(channels),
        "output": f"{OUTPUT_NAME}: float32 (N, num_classes, H, W)",
        "in_channels": channels, "mean": mean, "std": std,
        "num_classes": d["num_classes"], "task": task, "ignore_index": d.get("ignore_index", 255),
        "class_names": d.get("class_names") or [f"class_{i}" for i in range(labels)],
        "base_size": d.get("base_size"), "resize": d.get("resize", "shorter"), "palette": d.get("palette"),
        "model": config["model"].get("_target_"),
    }
    if get_task(task).thresholded:
        metadata["best_threshold"] = best_threshold
    return metadata
