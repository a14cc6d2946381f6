"""The matting loss: alpha L1, L1 on the transition band, RobustVideoMatting's Laplacian-pyramid L1, and
optionally a Sobel-gradient L1 and MODNet's image-weighted composition L1 (terms in matting_terms).

The model gives one-channel logits (alpha = sigmoid); the target is float (B, C >= 2, H, W): channel 0 the
ground-truth alpha in [0, 1], channel 1 a per-pixel weight in [0, 1] (0 where padding or rotation left no
image), channel 2 (a trimap, if present) unused. Every term is a weighted mean over valid pixels, 0 (not NaN)
for a batch with none, computed in float32 whatever the autocast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.data.transforms import default_normalization
from seg_cli.errors import ConfigError
from seg_cli.losses.matting_terms import alpha_l1, composition_l1, laplacian_l1, sobel_l1, transition_band
from seg_cli.models.contract import deep_supervision, model_outputs

Terms = dict[str, torch.Tensor]


@dataclass
class MattingBatch:
    """A batch's float32 (B, 1, H, W) alpha and weight, its (B, C, H, W) image on the [0, 1] scale (or None),
    and the weight of its transition band, found once for all the model's outputs."""

    gt: torch.Tensor
    weight: torch.Tensor
    image: torch.Tensor | None
    transition_kernel: int

    @cached_property
    def band_weight(self) -> torch.Tensor:
        return self.weight * transition_band(self.gt, self.weight, self.transition_kernel)


class MattingLoss(nn.Module):
    """Weighted sum of the matting terms on 'out'; deep-supervision outputs (U2Net's side1..side6) and an
    'aux' head add the same loss, weighted.

    Args:
        l1_weight: alpha L1 over valid pixels.
        transition_weight: alpha L1 over the transition band only (where the dilated and eroded ground truth
            differ), which the L1 term, dominated by flat foreground and background, underweights.
        transition_kernel: window of that dilation / erosion, odd, in pixels: the band is kernel - 1 pixels
            wide across a hard edge.
        laplacian_weight: RobustVideoMatting's Laplacian-pyramid L1 (fine detail at every scale).
        laplacian_levels: levels of that pyramid.
        gradient_weight: Sobel-gradient L1.
        composition_weight: MODNet's composition L1, |alpha_pred x I - alpha x I| with the image I on the
            [0, 1] scale; when > 0 the loss takes the batch's images (`takes_images`).
        mean: per-channel mean the images were normalised with (None: the dataset default, ImageNet's for RGB).
        std: per-channel std likewise.
        aux_weight: weight of the loss on an 'aux' head, when the model has one.
        side_weights: weights of the deep-supervision outputs in the model's order (None: 1 each).
    """

    task = "matting"

    def __init__(
        self,
        l1_weight: float = 1.0,
        transition_weight: float = 2.0,
        transition_kernel: int = 15,
        laplacian_weight: float = 1.0,
        laplacian_levels: int = 5,
        gradient_weight: float = 0.0,
        composition_weight: float = 0.0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        aux_weight: float = 0.5,
        side_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.weights = {"l1": l1_weight, "transition": transition_weight, "laplacian": laplacian_weight,
                        "gradient": gradient_weight, "composition": composition_weight}
        _check_weights(self.weights)
        self.transition_kernel = _odd_kernel(transition_kernel)
        self.laplacian_levels = _positive_int("laplacian_levels", laplacian_levels)
        self.mean, self.std = _per_channel("mean", mean), _per_channel("std", std)
        self.aux_weight = aux_weight
        self.side_weights = list(side_weights) if side_weights is not None else None

    @property
    def takes_images(self) -> bool:
        """Whether the training loop must pass `images=` (only the composition term reads them)."""
        return self.weights["composition"] > 0

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor,
                images: torch.Tensor | None = None) -> torch.Tensor:
        outputs = model_outputs(outputs)
        with torch.autocast(target.device.type, enabled=False):
            batch = self._batch(target, images if self.takes_images else None, self.takes_images)
            loss = self._weighted(outputs["out"], batch)
            for index, (name, logits) in enumerate(deep_supervision(outputs)):
                side_weight = 1.0 if self.side_weights is None else self._side_weight(index, name)
                if side_weight:
                    loss = loss + side_weight * self._weighted(logits, batch)
            if "aux" in outputs and self.aux_weight:
                loss = loss + self.aux_weight * self._weighted(outputs["aux"], batch)
        return loss

    def terms(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor,
              images: torch.Tensor | None = None) -> Terms:
        """Every term on 'out', unweighted, detached (for debugging and logging); composition only with images."""
        with torch.no_grad(), torch.autocast(target.device.type, enabled=False):
            return self._terms(model_outputs(outputs)["out"], self._batch(target, images, False), list(self.weights))

    def _weighted(self, logits: torch.Tensor, batch: MattingBatch) -> torch.Tensor:
        names = [name for name, value in self.weights.items() if value]
        terms = self._terms(logits, batch, names)
        return sum((self.weights[name] * value for name, value in terms.items()), batch.gt.new_zeros(()))

    def _terms(self, logits: torch.Tensor, batch: MattingBatch, names: Sequence[str]) -> Terms:
        pred, gt, weight = _alpha(logits, batch.gt), batch.gt, batch.weight
        alpha_terms = {
            "l1": lambda: alpha_l1(pred, gt, weight),
            "transition": lambda: alpha_l1(pred, gt, batch.band_weight),
            "laplacian": lambda: laplacian_l1(pred, gt, weight, self.laplacian_levels),
            "gradient": lambda: sobel_l1(pred, gt, weight),
        }
        terms = {name: term() for name, term in alpha_terms.items() if name in names}
        if "composition" in names and batch.image is not None:
            terms["composition"] = composition_l1(pred, gt, weight, batch.image)
        return terms

    def _batch(self, target: torch.Tensor, images: torch.Tensor | None, need_images: bool) -> MattingBatch:
        if target.dim() != 4 or target.shape[1] < 2:
            raise ValueError(f"a matting target is (B, C >= 2, H, W): alpha, weight[, trimap]; got {tuple(target.shape)}")
        if images is None and need_images:
            raise ValueError("loss.composition_weight > 0 needs the batch's images: call the loss with images=")
        target = target.float()
        image = None if images is None else self._unnormalise(images.float())
        return MattingBatch(target[:, :1], target[:, 1:2], image, self.transition_kernel)

    def _unnormalise(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised images back on the [0, 1] scale, by the dataset's rule where mean or std is None."""
        channels = images.shape[1]
        default_mean, default_std = default_normalization(channels)
        mean, std = self.mean or default_mean, self.std or default_std
        if len(mean) != channels or len(std) != channels:
            raise ConfigError(f"loss.mean / loss.std have {len(mean)} / {len(std)} values but the images have "
                              f"{channels} channels (they follow dataset.mean / dataset.std)")
        shape = (1, -1, 1, 1)
        return images * images.new_tensor(std).view(shape) + images.new_tensor(mean).view(shape)

    def _side_weight(self, index: int, name: str) -> float:
        if index >= len(self.side_weights):
            raise ConfigError(f"the model returns {name} but side_weights lists only {len(self.side_weights)}")
        return self.side_weights[index]


def _alpha(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """sigmoid of one-channel logits as float32 (B, 1, H, W), resized to the target's size when they differ."""
    if logits.shape[1] != 1:
        raise ConfigError(f"the matting loss needs a one-channel model output (alpha logits), got "
                          f"{logits.shape[1]} channels; set dataset.num_classes=1 (model.num_classes follows it)")
    logits = logits.float()
    if logits.shape[-2:] != gt.shape[-2:]:
        logits = F.interpolate(logits, size=gt.shape[-2:], mode="bilinear", align_corners=False)
    return torch.sigmoid(logits)


def _check_weights(weights: dict[str, float]) -> None:
    for name, value in weights.items():
        if value < 0:
            raise ConfigError(f"loss.{name}_weight={value} must be >= 0")


def _odd_kernel(kernel: int) -> int:
    kernel = _positive_int("transition_kernel", kernel)
    if kernel % 2 == 0:
        raise ConfigError(f"loss.transition_kernel={kernel} must be odd (a window centred on its pixel)")
    return kernel


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"loss.{name}={value!r} must be a whole number >= 1")
    return value


def _per_channel(name: str, values: Sequence[float] | None) -> list[float] | None:
    """`values` as a list of floats (None stays None: the dataset default, resolved from the images' channels)."""
    if values is None:
        return None
    values = [float(v) for v in values]
    if name == "std" and not all(v > 0 for v in values):
        raise ConfigError(f"loss.std={values} must be > 0 in every channel")
    return values
