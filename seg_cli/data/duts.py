"""DUTS salient object detection: DUTS-TR (10,553 train images) and DUTS-TE (5,019 test images)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from seg_cli.data.base import PairTransform
from seg_cli.data.folder import PairedFiles, load_thresholded_mask, pair_by_stem
from seg_cli.errors import DataError

LAYOUT = "<root>/DUTS-TR/{DUTS-TR-Image/*.jpg, DUTS-TR-Mask/*.png} and <root>/DUTS-TE/{DUTS-TE-Image, DUTS-TE-Mask}"
SPLIT_DIRS = {"train": "DUTS-TR", "val": "DUTS-TE", "test": "DUTS-TE"}


class DUTSSaliency(PairedFiles):
    """Images with grey-level saliency masks (0..255): foreground where the mask exceeds `threshold`.

    The train split is DUTS-TR; val (and test) is DUTS-TE, the benchmark's test set.
    """

    def __init__(
        self,
        root: str,
        split: str,
        threshold: int = 127,
        num_classes: int = 1,
        class_names: Sequence[str] | None = ("background", "foreground"),
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "binary",
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task)
        if split not in SPLIT_DIRS:
            raise DataError(f"DUTS has the splits train (DUTS-TR) and val (DUTS-TE), not {split!r}")
        name = SPLIT_DIRS[split]
        split_dir = Path(root) / name
        if not split_dir.is_dir():
            raise DataError(f"no {name} under dataset.root={root}: expected {LAYOUT}")
        pairs = pair_by_stem(split_dir / f"{name}-Image", split_dir / f"{name}-Mask",
                             image_extensions=(".jpg", ".jpeg", ".png"), mask_extensions=(".png",))
        self.pairs = list(pairs.values())
        self.threshold = threshold

    def read_mask(self, path: Path) -> torch.Tensor:
        return load_thresholded_mask(path, self.threshold)
