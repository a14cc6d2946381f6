"""PASCAL VOC segmentation: VOCdevkit/VOC<year>/{JPEGImages, SegmentationClass, ImageSets/Segmentation}."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.data.download import VOC_TRAINVAL, download_archives
from seg_cli.data.io import image_size
from seg_cli.errors import DataError
from seg_cli.tasks import DEFAULT_TASK

LAYOUT = "VOCdevkit/VOC{year}/{{JPEGImages/*.jpg, SegmentationClass/*.png, ImageSets/Segmentation/<split>.txt}}"


def find_voc_dir(root: str | Path, year: str) -> Path | None:
    """Accept the folder holding VOCdevkit, VOCdevkit itself, or VOC<year> itself."""
    root = Path(root)
    for candidate in (root / "VOCdevkit" / f"VOC{year}", root / f"VOC{year}", root):
        if (candidate / "JPEGImages").is_dir() and (candidate / "SegmentationClass").is_dir():
            return candidate
    return None


def download_voc(root: str | Path, year: str) -> None:
    """Fetch and unpack VOCtrainval of `year` into `root` (MD5-checked), as `seg data download voc` does."""
    archive = VOC_TRAINVAL.get(str(year))
    if archive is None:
        raise DataError(f"downloading VOC{year} into {root} failed: seg knows the VOCtrainval archives of "
                        f"{', '.join(sorted(VOC_TRAINVAL))}")
    download_archives(f"VOC{year}", [archive], Path(root))


class VOCSegmentation(SegmentationDataset):
    """VOC images with palette-indexed masks; 255 (the object borders) is the ignore label."""

    def __init__(
        self,
        root: str,
        split: str,
        year: str = "2012",
        download: bool = False,
        train_split: str = "train",
        val_split: str = "val",
        num_classes: int = 21,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = DEFAULT_TASK,
        **shared: Any,
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, **shared)
        if find_voc_dir(root, year) is None and download:
            download_voc(root, year)
        voc_dir = find_voc_dir(root, year)
        if voc_dir is None:
            raise DataError(
                f"no VOC{year} dataset under dataset.root={root}: expected {LAYOUT.format(year=year)} "
                f"(root may also be VOCdevkit or VOC{year}); set dataset.download=true to fetch it"
            )
        list_name = {"train": train_split, "val": val_split}.get(split, split)
        list_file = voc_dir / "ImageSets" / "Segmentation" / f"{list_name}.txt"
        if not list_file.is_file():
            raise DataError(f"split list not found: {list_file}")
        self.ids = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
        if not self.ids:
            raise DataError(f"split list {list_file} is empty")
        self.image_dir = voc_dir / "JPEGImages"
        self.mask_dir = voc_dir / "SegmentationClass"

    def __len__(self) -> int:
        return len(self.ids)

    def sample_name(self, index: int) -> str:
        return str(self.mask_dir / f"{self.ids[index]}.png")

    def sample_files(self, index: int) -> dict[str, str]:
        """The files of sample `index` by role, as per_image.csv names them: its image and its mask."""
        return {"image": str(self.image_path(index)), "mask": self.sample_name(index)}

    def image_path(self, index: int) -> Path:
        return self.image_dir / f"{self.ids[index]}.jpg"

    def image_size(self, index: int) -> tuple[int, int] | None:
        return image_size(self.image_path(index))

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.read_image_file(self.image_path(index)), self.read_mask_file(self.mask_dir / f"{self.ids[index]}.png")

    def missing_files(self) -> list[str]:
        paths = [p for i in self.ids for p in (self.image_dir / f"{i}.jpg", self.mask_dir / f"{i}.png")]
        return [str(p) for p in paths if not p.is_file()]
