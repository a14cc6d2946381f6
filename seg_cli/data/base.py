"""What every dataset shares: label checking and the paired transform call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from seg_cli.data.io import check_labels

PairTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class SegmentationDataset(Dataset):
    """Base class: subclasses implement `__len__`, `load_pair` and `sample_name`."""

    def __init__(
        self,
        split: str,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "multiclass",
    ) -> None:
        self.split = split
        self.num_classes = num_classes
        self.task = task
        # Binary models have one output channel (num_classes: 1) but masks hold two labels, 0 and 1.
        self.label_count = 2 if task == "binary" else num_classes
        self.class_names = list(class_names) if class_names else [f"class_{i}" for i in range(self.label_count)]
        self.ignore_index = ignore_index
        self.transforms = transforms

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Image as uint8 (3, H, W) and mask as uint8 (H, W), before transforms."""
        raise NotImplementedError

    def sample_name(self, index: int) -> str:
        """A human-readable name of sample `index` (a file path where there is one)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.load_pair(index)
        check_labels(mask, self.label_count, self.ignore_index, self.sample_name(index))
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask
