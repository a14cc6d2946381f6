"""PASCAL VOC 2012 with the SBD annotations (10,582 train images), from either of the two layouts in use.

Train, pre-converted (as MMSegmentation uses it): ids from `ImageSets/Segmentation/train_aug.txt`, masks
from `SegmentationClassAug/<id>.png` (SBD's `.mat` files as label PNGs).
Train, straight from SBD's own release (`benchmark_RELEASE/dataset/{cls/*.mat, train.txt, val.txt}`, as
torchvision's SBDataset reads it): SBD train + val + VOC train, less VOC val; masks from `cls/<id>.mat`,
VOC's own where SBD has none; images from VOC's JPEGImages (SBD's are VOC 2011 images).
Val: the 1,449 VOC 2012 val images with `SegmentationClass` masks, the usual benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.data.io import image_size
from seg_cli.data.voc import find_voc_dir
from seg_cli.errors import DataError
from seg_cli.tasks import DEFAULT_TASK

LAYOUT = (
    "VOCdevkit/VOC2012/{JPEGImages/*.jpg, SegmentationClass/*.png, SegmentationClassAug/*.png, "
    "ImageSets/Segmentation/{train_aug,val}.txt}, or instead of SegmentationClassAug SBD's "
    "benchmark_RELEASE/dataset/{cls/*.mat, train.txt, val.txt} beside VOCdevkit or at dataset.sbd_root"
)


class VOCAugSegmentation(SegmentationDataset):
    """VOC 2012 + SBD: label PNGs with classes 0..20 and 255 (object borders) as the ignore label."""

    def __init__(
        self,
        root: str,
        split: str,
        train_split: str = "train_aug",
        val_split: str = "val",
        sbd_root: str | None = None,
        num_classes: int = 21,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = DEFAULT_TASK,
        **shared: Any,
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, **shared)
        voc_dir = find_voc_dir(root, "2012")
        converted = voc_dir is not None and (voc_dir / "SegmentationClassAug").is_dir()
        sbd = None if converted else find_sbd_dir(sbd_root or root)
        if voc_dir is None or not (converted or sbd):
            raise DataError(
                f"no VOC 2012 + SBD (SegmentationClassAug) under dataset.root={root}: expected {LAYOUT} "
                "(root may also be VOCdevkit or VOC2012)"
            )
        self.image_dir = voc_dir / "JPEGImages"
        if split == "train" and sbd is not None:
            self.ids, self.mask_paths = sbd_train_set(voc_dir, sbd, val_split)
            return
        list_name = {"train": train_split, "val": val_split}.get(split, split)
        self.ids = read_ids(voc_dir / "ImageSets" / "Segmentation" / f"{list_name}.txt")
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

    def sample_files(self, index: int) -> dict[str, str]:
        """The files of sample `index` by role, as per_image.csv names them: its image and its mask."""
        return {"image": str(self.image_path(index)), "mask": self.sample_name(index)}

    def image_path(self, index: int) -> Path:
        return self.image_dir / f"{self.ids[index]}.jpg"

    def image_size(self, index: int) -> tuple[int, int] | None:
        return image_size(self.image_path(index))

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.read_image_file(self.image_path(index))
        path = self.mask_paths[index]
        mask = self.labels.apply(load_sbd_mask(path)) if path.suffix == ".mat" else self.read_mask_file(path)
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


def find_sbd_dir(root: str | Path) -> Path | None:
    """SBD's `benchmark_RELEASE/dataset` folder (holding cls/ and train.txt) at or under `root`."""
    base = Path(root)
    for candidate in (base / "benchmark_RELEASE" / "dataset", base / "dataset", base):
        if (candidate / "cls").is_dir() and (candidate / "train.txt").is_file():
            return candidate
    return None


def sbd_train_set(voc_dir: Path, sbd: Path, val_split: str) -> tuple[list[str], list[Path]]:
    """(ids, mask paths) of the train_aug set from SBD's release: SBD train + val + VOC train, less VOC val."""
    sets = voc_dir / "ImageSets" / "Segmentation"
    held_out = set(read_ids(sets / f"{val_split}.txt"))
    voc_train = read_ids(sets / "train.txt") if (sets / "train.txt").is_file() else []
    sbd_ids = read_ids(sbd / "train.txt") + (read_ids(sbd / "val.txt") if (sbd / "val.txt").is_file() else [])
    ids = sorted(set(sbd_ids + voc_train) - held_out)
    masks = [sbd / "cls" / f"{i}.mat" if (sbd / "cls" / f"{i}.mat").is_file() else
             voc_dir / "SegmentationClass" / f"{i}.png" for i in ids]
    missing = [i for i, path in zip(ids, masks, strict=True) if not path.is_file()]
    if missing:
        raise DataError(f"{len(missing)} train id(s) have neither {sbd / 'cls'}/<id>.mat nor a VOC mask, "
                        f"e.g. {missing[:3]}")
    return ids, masks


def load_sbd_mask(path: Path) -> torch.Tensor:
    """The class mask of an SBD `cls/<id>.mat` file (GTcls.Segmentation: 0..20, 255 none here)."""
    from scipy.io import loadmat  # only SBD's own release needs scipy

    try:
        segmentation = loadmat(str(path))["GTcls"][0]["Segmentation"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise DataError(f"cannot read mask {path}: {type(exc).__name__}: {exc}") from None
    return torch.from_numpy(segmentation.astype("uint8"))
