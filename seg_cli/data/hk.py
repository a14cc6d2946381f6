"""The HK portrait matting set (Shen et al., 2016): `training/` and `testing/`, each image with its matte."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from seg_cli.data.base import PairTransform
from seg_cli.data.folder import PairedFiles, load_thresholded_mask, pair_by_stem
from seg_cli.errors import DataError

LAYOUT = "<root>/training/{NNNNN.png, NNNNN_matte.png} and <root>/testing/{NNNNN.png, NNNNN_matte.png}"
SPLIT_DIRS = {"train": "training", "val": "testing", "test": "testing"}


class HKPortraits(PairedFiles):
    """Portraits with alpha mattes (0..255): person where the matte exceeds `threshold`.

    The train split is `training/`; val (and test) is `testing/`.
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
            raise DataError(f"HK has the splits train (training/) and val (testing/), not {split!r}")
        split_dir = Path(root) / SPLIT_DIRS[split]
        if not split_dir.is_dir():
            raise DataError(f"no {SPLIT_DIRS[split]}/ under dataset.root={root}: expected {LAYOUT}")
        pairs = pair_by_stem(split_dir, split_dir, mask_suffix="_matte",
                             image_extensions=(".png", ".jpg", ".jpeg"), mask_extensions=(".png",))
        self.pairs = list(pairs.values())
        self.threshold = threshold

    def read_mask(self, path: Path) -> torch.Tensor:
        return load_thresholded_mask(path, self.threshold)
