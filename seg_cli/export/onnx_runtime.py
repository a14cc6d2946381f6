"""Run an ONNX file written by `seg export format=onnx` with onnxruntime (the `export` extra)."""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seg_cli.errors import CheckpointError, SegError, one_line

log = logging.getLogger("seg.predict")


class OnnxSegmenter:
    """Logits for a normalised image batch, from an exported model.

    `OnnxSegmenter(path)(batch)` takes float32 (N, in_channels, H, W) (RGB / 255 for 3 channels, normalised
    with the training mean and std, as `SegmentationPresetEval` produces) and returns float32 logits
    (N, C, H, W). `metadata` holds what `seg export` stored: class names, in_channels, mean, std, base_size, task
    and, for binary models, best_threshold (the checkpoint's max-F threshold, or null). A size-bound export's
    `fixed_size` ([height, width]) is the only size it takes: other sizes are refused in one line.
    """

    def __init__(self, model_file: str | Path, providers: Sequence[str] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SegError("running ONNX models needs onnxruntime: pip install 'seg-cli[export]'") from None
        path = Path(model_file)
        if not path.is_file():
            raise CheckpointError(f"model_file={model_file}: file not found")
        if zipfile.is_zipfile(path):  # TorchScript and torch.save files are zip archives; ONNX files are not
            raise CheckpointError(f"model_file={model_file} is a TorchScript or PyTorch file; backend=onnx runs ONNX "
                                  "files (seg export format=onnx); for a seg checkpoint use ckpt=PATH instead")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: onnxruntime's warnings are not the user's to act on
        try:
            # Default: every provider this onnxruntime build has, best first (CUDA before CPU).
            self.session = ort.InferenceSession(str(path), options, providers=providers or ort.get_available_providers())
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / InvalidProtobuf types
            raise CheckpointError(f"{path} is not a loadable ONNX model: {one_line(exc)}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise CheckpointError(f"{path} has {len(inputs)} inputs; a seg export has one, the image batch")
        self.input_name = inputs[0].name
        self.path = path
        custom = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = json.loads(custom["seg"]) if "seg" in custom else {}
        self.in_channels = int(self.metadata.get("in_channels", 3))  # exports before in_channels were RGB
        fixed = self.metadata.get("fixed_size")
        self.fixed_size: tuple[int, int] | None = (int(fixed[0]), int(fixed[1])) if fixed else None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Logits (N, C, H, W) for a (N, in_channels, H, W) batch; any batch size, any image size unless the
        export is size-bound."""
        if batch.ndim != 4 or batch.shape[1] != self.in_channels:
            raise ValueError(f"expected a (N, {self.in_channels}, H, W) batch, got shape {tuple(batch.shape)}")
        if self.fixed_size and tuple(batch.shape[2:]) != self.fixed_size:
            height, width = self.fixed_size
            raise SegError(f"{self.path.name} takes {height}x{width} images only (fixed at export), got "
                           f"{batch.shape[2]}x{batch.shape[3]}: resize them to {height}x{width} and the logits back")
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class OnnxModel:
    """An exported ONNX file behind the call interface predict_logits uses for a torch model.

    A size-bound export gets each batch resized to its fixed size and returns the logits resized back: `seg
    predict` then gives every photo a mask, as the image processors of such models do (resize to a square).
    """

    def __init__(self, model_file: str) -> None:
        self.session = OnnxSegmenter(model_file)
        self.metadata = self.session.metadata
        if self.session.fixed_size:
            log.info("%s takes %dx%d images only: each is resized to that size, its logits back", model_file,
                     *self.session.fixed_size)

    def __call__(self, batch):
        import torch
        import torch.nn.functional as F

        fixed, size = self.session.fixed_size, tuple(batch.shape[-2:])
        if fixed and size != fixed:
            batch = F.interpolate(batch.float(), size=fixed, mode="bilinear", align_corners=False, antialias=True)
        logits = torch.from_numpy(self.session(batch.cpu().numpy().astype("float32")))
        if fixed and size != fixed:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits

    def eval(self) -> OnnxModel:
        return self
