"""Class weights for the loss: median-frequency balancing (Eigen & Fergus, ICCV 2015) or a given list.

freq(c) = pixels of class c / all labelled pixels of the images in which c appears
weight(c) = median over the present classes of freq / freq(c)

so the median class weighs 1, rarer classes more and frequent ones less. Pixels equal to `ignore_index`
count nowhere. A class that appears in no mask read gets weight 0, with a warning: its frequency is
undefined, and a class that is never a target has a weight that multiplies nothing. (If `max_samples` missed
a class that the other masks do hold, that 0 would drop it from the loss: hence the warning.)

Binary datasets have one model output but two labels: pass `num_classes=dataset.label_count` (2).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence

import torch

from seg_cli.data.base import SegmentationDataset
from seg_cli.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def median_frequency_weights(
    dataset: SegmentationDataset, num_classes: int, ignore_index: int = 255, max_samples: int | None = None
) -> list[float]:
    """Median-frequency weights of `num_classes` classes, from the raw masks (no transforms) of `dataset`.

    With `max_samples`, only that many masks are read, spread evenly over the dataset (datasets are often
    sorted by scene or class, so the first N would be a biased sample).
    """
    class_pixels = torch.zeros(num_classes, dtype=torch.float64)
    image_pixels = torch.zeros(num_classes, dtype=torch.float64)  # labelled pixels of images holding c
    for index in sample_indices(len(dataset), max_samples):
        mask = _read_mask(dataset, index)
        if mask is None:
            continue
        counts = count_classes(mask, num_classes, ignore_index, dataset.sample_name(index))
        class_pixels += counts
        image_pixels += (counts > 0) * counts.sum()
    present = image_pixels > 0
    if not present.any():
        raise DataError("class_weights=auto: the masks hold no labelled pixel, so no class frequency exists")
    freq = class_pixels[present] / image_pixels[present]
    median = statistics.median(freq.tolist())  # the mean of the middle two for an even count
    weights = torch.zeros(num_classes, dtype=torch.float64)
    weights[present] = median / freq
    if not present.all():
        absent = [str(c) for c in range(num_classes) if not present[c]]
        log.warning("class_weights=auto: class(es) %s appear in no mask read and get weight 0%s", ", ".join(absent),
                    "; raise max_samples or give the weights as a list" if max_samples else "")
    return weights.tolist()


def class_weight_tensor(
    setting: str | Sequence[float] | None, dataset: SegmentationDataset, num_classes: int, ignore_index: int
) -> torch.Tensor | None:
    """`loss.class_weights`: null (unweighted), "auto" (median-frequency) or one weight per class."""
    if setting is None:
        return None
    if isinstance(setting, str):
        if setting != "auto":
            raise ConfigError(f"loss.class_weights={setting!r} is not allowed; give null, auto or a list of "
                              f"{num_classes} numbers")
        weights = median_frequency_weights(dataset, num_classes, ignore_index)
        log.info("class_weights=auto (median frequency): %s", ", ".join(f"{w:.3f}" for w in weights))
        return torch.tensor(weights, dtype=torch.float32)
    weights = list(setting)
    if len(weights) != num_classes:
        raise ConfigError(f"loss.class_weights lists {len(weights)} weights but the dataset has {num_classes} classes")
    if any(isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0 for w in weights):
        raise ConfigError(f"loss.class_weights={weights} must hold finite numbers >= 0")
    if not any(weights):
        raise ConfigError("loss.class_weights are all 0: no pixel would count in the loss")
    return torch.tensor(weights, dtype=torch.float32)


def count_classes(mask: torch.Tensor, num_classes: int, ignore_index: int, name: str = "mask") -> torch.Tensor:
    """Pixels per class (float64, length num_classes) of one mask, leaving out `ignore_index`."""
    labels = mask[mask != ignore_index].long()
    counts = torch.bincount(labels.flatten(), minlength=num_classes)
    if counts.numel() > num_classes:
        raise DataError(f"{name}: label {int(labels.max())} is outside 0..{num_classes - 1} "
                        f"(and is not ignore_index={ignore_index})")
    return counts.double()


def sample_indices(length: int, max_samples: int | None) -> list[int]:
    """All indices, or `max_samples` of them evenly spread over 0..length-1."""
    if max_samples is None or max_samples >= length:
        return list(range(length))
    if max_samples < 1:
        raise ConfigError(f"max_samples={max_samples} must be at least 1")
    return [i * length // max_samples for i in range(max_samples)]


def _read_mask(dataset: SegmentationDataset, index: int) -> torch.Tensor | None:
    """The checked raw mask (0/255 binary masks already read as 0/1); None when on_error=skip skips it."""
    try:
        return dataset.checked_pair(index)[1]
    except DataError as exc:
        if getattr(dataset, "on_error", "raise") != "skip":
            raise
        log.warning("class_weights=auto skipped: %s", exc)
        return None
