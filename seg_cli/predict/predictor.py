"""The model `seg predict` runs: a torch model (a seg checkpoint or published weights, loaded by the command) or
an ONNX export, from one image to its decoded result at the photo's size."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seg_cli.errors import ConfigError
from seg_cli.metrics.threshold import as_threshold, file_threshold, resolve_threshold
from seg_cli.tasks import DEFAULT_TASK, Task, get_task

if TYPE_CHECKING:
    from seg_cli.predict.decoded import Decoded

log = logging.getLogger("seg.predict")


@dataclass
class Predictor:
    """A model with the dataset config it was trained on (sizes, normalisation, task, classes, palette).

    `source` names the weights in logs; `infer` holds predict_logits' settings (mode, crop, flip, scales...).
    """

    model: Any
    dataset: dict[str, Any]
    source: str
    device: Any = "cpu"
    backend: str = "torch"
    infer: dict[str, Any] = field(default_factory=dict)
    transform: Any = field(default=None, init=False)  # set by prepare
    channels: int = field(default=3, init=False)

    @property
    def task(self) -> Task:
        """The dataset's task (its decode rule, default outputs and whether masks are thresholded)."""
        return get_task(self.dataset.get("task", DEFAULT_TASK))

    def threshold(self, given: float | None) -> float:
        """The threshold of binary masks (see mask_threshold); 0.5, unused, where the task cuts none."""
        return mask_threshold(given, self.backend, self.model, self.source) if self.task.thresholded else 0.5

    def prepare(self) -> None:
        """Build the eval transform (resize, normalise) and read the image channels, the checkpoint's (or the
        export's) dataset.in_channels: a bad dataset config fails here, before any image is read."""
        from seg_cli.data.transform_config import build_eval_transform, image_channels

        self.transform = build_eval_transform(self.dataset)
        self.channels = image_channels(self.dataset)

    def predict(self, image: Any, threshold: float = 0.5) -> Decoded:
        """The decoded result of a (C, H, W) image as seg_cli.data.io reads it, at its size."""
        return self.predict_batch([image], threshold)[0]

    def predict_batch(self, images: list[Any], threshold: float = 0.5) -> list[Decoded]:
        """The decoded results of same-size images (a video's frames), through the model in one batch; each is
        what `predict` gives for it alone (up to float rounding). Slide inference, whose windows are its batch,
        takes them one at a time."""
        import torch
        from PIL import Image

        from seg_cli.data.bands import rgb_view
        from seg_cli.engine.inference import predict_logits
        from seg_cli.predict.decoded import decode

        if len(images) > 1 and self.infer.get("mode") == "slide":
            return [self.predict(image, threshold) for image in images]
        if self.transform is None:
            self.prepare()
        # what overlays and cut-outs show: grey replicated, N bands' first 3
        photos = [Image.fromarray(rgb_view(image)) for image in images]
        batch = torch.stack([self.transform(image)[0] for image in images]).to(self.device)
        logits = predict_logits(self.model, batch, num_classes=self.dataset["num_classes"], **self.infer)
        logits = torch.nn.functional.interpolate(logits.float(), size=(photos[0].height, photos[0].width),
                                                 mode="bilinear", align_corners=False)
        palette = self.dataset.get("palette")
        return [decode(logits[i : i + 1], self.task, photo, palette, threshold) for i, photo in enumerate(photos)]


def onnx_predictor(model_file: str | None, infer: dict[str, Any] | None = None) -> Predictor:
    """The predictor of an export of `seg export format=onnx`, its dataset config from the file's metadata."""
    if not model_file:
        raise ConfigError("backend=onnx needs model_file=PATH (an export of `seg export format=onnx`)")
    from seg_cli.export.onnx_runtime import OnnxModel

    model = OnnxModel(model_file)
    meta = model.metadata
    dataset = {"base_size": meta.get("base_size"), "resize": meta.get("resize", "shorter"),
               "task": meta.get("task", DEFAULT_TASK), "num_classes": meta.get("num_classes"),
               "in_channels": meta.get("in_channels", 3), "mean": meta.get("mean"), "std": meta.get("std"),
               "palette": meta.get("palette")}
    if not dataset["base_size"] or not dataset["num_classes"]:
        raise ConfigError(f"{model_file} carries no seg metadata; export it with `seg export`")
    return Predictor(model, dataset, model_file, "cpu", "onnx", dict(infer or {}))


def mask_threshold(given: float | None, backend: str, model: Any, source: str) -> float:
    """`threshold=` of binary masks: the given one, else (auto) the stored one, else 0.5; logged."""
    threshold, origin = resolve_threshold(given, stored_threshold(backend, model, source) if given is None else None)
    log.info("binary masks: foreground where prob >= %.4f (%s)", threshold, origin)
    return threshold


def stored_threshold(backend: str, model: Any, source: str) -> float | None:
    """The max-F threshold the checkpoint's validation found (see checkpoint_threshold); an ONNX export's
    where its metadata carries a `best_threshold`."""
    if backend == "onnx":
        return as_threshold(model.metadata.get("best_threshold"))
    return file_threshold(source)
