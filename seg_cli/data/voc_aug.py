"""PASCAL VOC 2012 with the SBD annotations (10,582 train images), laid out as MMSegmentation uses it.

Train: ids from `ImageSets/Segmentation/train_aug.txt`, masks from `SegmentationClassAug/<id>.png`
(the SBD `.mat` files converted to label PNGs, e.g. by MMSegmentation's `tools/dataset_converters/voc_aug.py`).
Val: the 1,449 VOC 2012 val images with `SegmentationClass` masks, the usual benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.data.io import image_size, load_image
from seg_cli.data.voc import find_voc_dir
from seg_cli.errors import DataError

LAYOUT = (
    "VOCdevkit/VOC2012/{JPEGImages/*.jpg, SegmentationClass/*.png, SegmentationClassAug/*.png, "
    "ImageSets/Segmentation/{train_aug,val}.txt}"
)


class VOCAugSegmentation(SegmentationDataset):
    """VOC 2012 + SBD: label PNGs with classes 0..20 and 255 (object borders) as the ignore label."""

    def __init__(
        self,
        root: str,
        split: str,
        train_split: str = "train_aug",
        val_split: str = "val",
        num_classes: int = 21,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "multiclass",
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task)
        voc_dir = find_voc_dir(root, "2012")
        if voc_dir is None or not (voc_dir / "SegmentationClassAug").is_dir():
            raise DataError(
                f"no VOC 2012 + SBD (SegmentationClassAug) under dataset.root={root}: expected {LAYOUT} "
                "(root may also be VOCdevkit or VOC2012)"
            )
        list_name = {"train": train_split, "val": val_split}.get(split, split)
        self.ids = read_ids(voc_dir / "ImageSets" / "Segmentation" / f"{list_name}.txt")
        self.image_dir = voc_dir / "JPEGImages"
        # Train masks come from SegmentationClassAug; VOC's own masks fill in ids that SBD lacks.
        mask_dirs = [voc_dir / "SegmentationClass"]
        if split == "train":
            mask_dirs.insert(0, voc_dir / "SegmentationClassAug")
        self.mask_paths = [find_mask(i, mask_dirs) for i in self.ids]
        missing = [i for i, path in zip(self.ids, self.mask_paths, strict=True) if path is None]
        if missing:
            raise DataError(
                f"{len(missing)} id(s) of {list_name}.txt have no mask in "
                f"{' or '.join(d.name for d in mask_dirs)}, e.g. {missing[:3]}"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def sample_name(self, index: int) -> str:
        return str(self.mask_paths[index])

    def image_path(self, index: int) -> Path:
        return self.image_dir / f"{self.ids[index]}.jpg"

    def image_size(self, index: int) -> tuple[int, int] | None:
        return image_size(self.image_path(index))

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = load_image(self.image_path(index))
        mask = self.read_mask_file(self.mask_paths[index])
        if image.shape[-2:] != mask.shape:
            raise DataError(
                f"image {self.ids[index]}.jpg is {tuple(image.shape[-2:])} but its mask is {tuple(mask.shape)}"
            )
        return image, mask


def read_ids(list_file: Path) -> list[str]:
    """Ids, one a line; also reads the `/JPEGImages/<id>.jpg /SegmentationClassAug/<id>.png` pair format."""
    if not list_file.is_file():
        raise DataError(f"split list not found: {list_file}")
    ids = [Path(line.split()[0]).stem for line in list_file.read_text().splitlines() if line.strip()]
    if not ids:
        raise DataError(f"split list {list_file} is empty")
    return ids


def find_mask(image_id: str, mask_dirs: list[Path]) -> Path | None:
    return next((d / f"{image_id}.png" for d in mask_dirs if (d / f"{image_id}.png").is_file()), None)
