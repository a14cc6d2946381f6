"""Logits for one image: one whole-image forward or a sliding window, with flip / multi-scale TTA.

Every view (each window, each scale, the flipped image) contributes *logits*, and they are averaged as
logits, not as softmax probabilities (MMSegmentation averages softmax scores across TTA views). Logits are
what every caller already takes (argmax for multi-class, sigmoid for one-channel binary models), so one rule
serves both tasks and the result can go straight to a scorer; the mean of log-softmax outputs is the
normalised geometric mean of the views' probabilities, and its argmax rarely differs from the arithmetic one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.choices import INFER_MODES
from seg_cli.errors import ConfigError
from seg_cli.models.contract import model_outputs
from seg_cli.values import size_pair

Size = tuple[int, int]


@torch.inference_mode()
def predict_logits(
    model: nn.Module,
    image: torch.Tensor,
    *,
    num_classes: int,
    mode: str = "whole",
    crop: int | Sequence[int] = (512, 512),
    stride: int | Sequence[int] = (341, 341),
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
    amp_dtype: torch.dtype | None = None,
    stitch_device: torch.device | str | None = None,
) -> torch.Tensor:
    """Float logits (N, num_classes, H, W) of normalised images (N, 3, H, W) already on the model's device
    (N = 1 for mode="slide", whose windows are the batch; video frames go N at a time otherwise).

    The caller puts the model in eval mode. `crop` and `stride` are (height, width) and used by
    mode="slide" only. Each of `scales` resizes the image before predicting and the logits back after;
    `flip` adds the horizontally flipped view of every scale. The result lies on `stitch_device`
    (default: the image's device): "cpu" keeps a huge image's logits in host memory.
    """
    crop, stride = size_pair("crop", crop), size_pair("stride", stride)
    check_settings(mode, crop, stride, scales)
    if image.dim() != 4 or (mode == "slide" and image.shape[0] != 1):
        raise ValueError("predict_logits takes images (N, 3, H, W), one at a time in slide mode, got "
                         f"{tuple(image.shape)}")
    out_device = torch.device(stitch_device) if stitch_device is not None else image.device
    size = (image.shape[-2], image.shape[-1])

    def predict_view(scale: float, flipped: bool) -> torch.Tensor:
        view = _resize(image, scaled_size(size, scale), antialias=True)
        view = view.flip(-1) if flipped else view
        if mode == "slide":
            logits = slide_logits(model, view, num_classes, crop, stride, amp_dtype, out_device)
        else:
            logits = forward_logits(model, view, num_classes, amp_dtype).to(out_device)
        return _resize(logits.flip(-1) if flipped else logits, size)

    views = [(scale, flipped) for scale in scales for flipped in ((False, True) if flip else (False,))]
    if len(views) == 1:
        return predict_view(*views[0])
    # Summed in a buffer of our own: a view's logits may be the model's own tensor, not to be changed.
    total = torch.zeros((image.shape[0], num_classes, *size), device=out_device)
    for view in views:
        total += predict_view(*view)
    return total.div_(len(views))


def forward_logits(model: nn.Module, x: torch.Tensor, num_classes: int, amp_dtype: torch.dtype | None) -> torch.Tensor:
    """One forward pass: float logits at x's size (bilinearly upsampled when the model outputs less)."""
    with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits = model_outputs(model(x))["out"]
    if logits.shape[1] != num_classes:
        raise ConfigError(f"the model outputs {logits.shape[1]} channels but num_classes={num_classes}")
    return _resize(logits.float(), (x.shape[-2], x.shape[-1]))


def slide_logits(
    model: nn.Module, image: torch.Tensor, num_classes: int, crop: Size, stride: Size,
    amp_dtype: torch.dtype | None, out_device: torch.device,
) -> torch.Tensor:
    """Average the logits of crop-sized windows, `stride` apart, that together cover the image.

    An image smaller than the crop is padded with 0 (the mean colour after normalisation) at the bottom
    and right, and the padding is cropped away again.
    """
    height, width = image.shape[-2:]
    padded = F.pad(image, (0, max(crop[1] - width, 0), 0, max(crop[0] - height, 0)))
    padded_size = padded.shape[-2:]
    # Sums and counts live on out_device, so a huge image can be stitched in host memory.
    logits = torch.zeros((1, num_classes, *padded_size), device=out_device)
    count = torch.zeros((1, 1, *padded_size), device=out_device)
    for top in window_starts(padded_size[0], crop[0], stride[0]):
        for left in window_starts(padded_size[1], crop[1], stride[1]):
            rows, cols = slice(top, top + crop[0]), slice(left, left + crop[1])
            window = padded[..., rows, cols]
            logits[..., rows, cols] += forward_logits(model, window, num_classes, amp_dtype).to(out_device)
            count[..., rows, cols] += 1
    return logits.div_(count)[..., :height, :width]


def window_starts(length: int, crop: int, stride: int) -> list[int]:
    """Window offsets along one side of `length` >= `crop`: every `stride`, the last one flush with the end."""
    steps = -(-(length - crop) // stride)  # ceil: the windows after the first one
    return [min(i * stride, length - crop) for i in range(steps + 1)]


def scaled_size(size: Size, scale: float) -> Size:
    """(height, width) times `scale`, rounded half up, at least 1 pixel."""
    return (max(1, int(size[0] * scale + 0.5)), max(1, int(size[1] * scale + 0.5)))


def _resize(x: torch.Tensor, size: Size, antialias: bool = False) -> torch.Tensor:
    """Bilinear resize, skipped when the size already matches.

    Images are downscaled with antialiasing, as the eval transform's torchvision Resize does.
    """
    if (x.shape[-2], x.shape[-1]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)


def check_settings(mode: str, crop: Size, stride: Size, scales: Sequence[float], prefix: str = "") -> None:
    """The rules the inference settings obey; `prefix` ("infer.") makes the messages name the config keys."""
    if mode not in INFER_MODES:
        raise ConfigError(f"{prefix}mode={mode!r} is not allowed; choose from: {', '.join(INFER_MODES)}")
    if mode == "slide" and any(s > c for s, c in zip(stride, crop)):
        # A stride longer than the crop would leave strips of the image that no window sees.
        raise ConfigError(f"{prefix}stride={list(stride)} must not exceed {prefix}crop={list(crop)} in either "
                          f"direction; set {prefix}stride to at most {prefix}crop (e.g. two thirds of it)")
    if not scales or any(not s > 0 for s in scales):
        raise ConfigError(f"{prefix}scales={list(scales)} must be a non-empty list of positive factors")
