"""Any images/ + masks/ folder pair, matched by file name (see seg_cli.data.paired), split by lists."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seg_cli.data.base import PairTransform, holds_0_255, labels_from_0_255
from seg_cli.data.io import IMAGE_SUFFIXES, load_mask
from seg_cli.data.labels import is_colour_image
from seg_cli.data.paired import (
    PairedFiles,
    binary_labels_advice,
    check_threshold,
    load_thresholded_mask,
    pair_by_stem,
)
from seg_cli.choices import PAIR_BY
from seg_cli.errors import ConfigError, DataError
from seg_cli.tasks import get_task

log = logging.getLogger(__name__)

PROBE_MASKS = 32  # masks read at start-up to tell 0/255 binary masks from 0/1 label masks


class FolderSegmentation(PairedFiles):
    """`<root>/<images_dir>/<id>.jpg` with `<root>/<masks_dir>/<id>.png`, split by list files or a val fraction.

    Masks hold class indices (palette or grey PNGs). For two labels, 0/255 masks mean background/foreground
    and are mapped to 0/1; with a `threshold`, masks are grey levels, foreground where above it (anti-aliased
    or soft 0/255 masks); with a `palette`, RGB colour masks are decoded (colour i -> class i). With `task:
    matting`, masks are alpha mattes read soft. `recursive` pairs files in sub-folders too, by their path under
    the folder (`pair_by: path`) or by file name alone (`pair_by: name`, for trees that differ in folder names).
    """

    def __init__(
        self,
        root: str,
        split: str,
        images_dir: str = "images",
        masks_dir: str = "masks",
        image_suffix: str = "",
        mask_suffix: str = "",
        image_extensions: Sequence[str] = (".jpg", ".jpeg", ".png"),
        mask_extensions: Sequence[str] = (".png",),
        recursive: bool = False,
        pair_by: str = "path",
        trimap_kernel: int = 25,
        train_list: str | None = None,
        val_list: str | None = None,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        threshold: int | None = None,
        num_classes: int = 1,
        class_names: Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "binary",
        **shared: Any,
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, palette=palette, **shared)
        check_threshold(threshold)
        if threshold is not None and self.label_count != 2:
            raise ConfigError(f"dataset.threshold={threshold} makes two labels (0/1) but dataset.task={task} "
                              f"dataset.num_classes={num_classes} has {self.label_count}: use dataset.task=binary "
                              "dataset.num_classes=1, or dataset.threshold=null for masks of class indices")
        self.threshold, self.trimap_kernel = threshold, trimap_kernel
        base = Path(root)
        if not base.is_dir():
            raise DataError(
                f"dataset.root={root} is not a folder: expected <root>/{images_dir}/<id>{image_suffix}.jpg and "
                f"<root>/{masks_dir}/<id>{mask_suffix}.png (optionally <root>/train.txt and val.txt listing ids)"
            )
        require_pair_by(pair_by)
        pairs = pair_by_stem(base / images_dir, base / masks_dir, image_suffix, mask_suffix,
                             image_extensions, mask_extensions, recursive, by_name=pair_by == "name")
        ids = select_split(list(pairs), split, base, train_list, val_list, val_fraction, split_seed)
        self.pairs = [pairs[i] for i in ids]
        if threshold is not None or not get_task(task).target.reads_labels:  # 0/1 already, or not labels
            self._zero_255_masks, self.binary_255 = False, False
        else:
            self.binary_255 = self._settle_0_255([m for _, m in pairs.values()], base / masks_dir)

    def _settle_0_255(self, masks: list[Path], folder: Path) -> bool:
        """Whether read_mask maps 0/255 masks to 0/1, told at start-up by the first masks on disk (all splits').

        Once told, the dataset-wide question is closed: read_mask maps (and checks) 0/255 masks itself, so
        the lazy check of SegmentationDataset must not decide again from another mask.
        """
        verdict = probe_0_255(masks) if self.label_count == 2 else None
        if verdict is not None:
            self._zero_255_masks = False
        if verdict:
            log.info("masks under %s hold 0/255: reading 255 as foreground (label 1)", folder)
        return verdict is True

    def read_mask(self, path: Path) -> torch.Tensor:
        if self.threshold is not None:
            return load_thresholded_mask(path, self.threshold)
        mask = self.read_mask_file(path)
        if self.labels.maps_values:  # a label_map states the convention itself
            return mask
        if self.binary_255:
            if bool(((mask != 0) & (mask != 255)).any()):
                values = sorted(int(v) for v in mask.unique() if v not in (0, 255))[:10]
                raise DataError(
                    f"mask {path} has values {values}; the other masks of this dataset hold only 0 and 255 "
                    "(background/foreground): for anti-aliased edges set dataset.threshold=127 (foreground "
                    "where the value is above it)"
                )
            return labels_from_0_255(mask)
        if get_task(self.task).one_foreground and bool(((mask > 1) & (mask != self.ignore_index)).any()):
            values = sorted(int(v) for v in mask.unique() if v > 1 and v != self.ignore_index)
            raise DataError(binary_labels_advice(path, values))
        return mask


def require_pair_by(value: str) -> None:
    if value not in PAIR_BY:
        raise ConfigError(f"dataset.pair_by={value!r} is not allowed; choose from: {', '.join(PAIR_BY)}")


def select_split(
    ids: list[str], split: str, root: Path, train_list: str | None, val_list: str | None,
    val_fraction: float, seed: int,
) -> list[str]:
    """The ids of `split`: from its list file, else the ids not in the other list, else a seeded val fraction."""
    lists = {"train": train_list, "val": val_list}
    if split not in lists:
        raise DataError(f"folder datasets have the splits train and val, not {split!r}")
    other = "val" if split == "train" else "train"
    if lists[split] or lists[other]:
        listed = read_id_list(root / (lists[split] or lists[other]), ids)
        chosen = listed if lists[split] else [i for i in ids if i not in set(listed)]
    else:
        if not 0 <= val_fraction < 1:
            raise ConfigError(f"dataset.val_fraction={val_fraction} must lie in [0, 1)")
        shuffled = sorted(ids)
        random.Random(seed).shuffle(shuffled)
        n_val = max(1, round(len(ids) * val_fraction)) if val_fraction > 0 and len(ids) > 1 else 0
        held_out = set(shuffled[:n_val])
        chosen = [i for i in ids if (i in held_out) == (split == "val")]
    if not chosen:
        raise DataError(f"split {split} of {root} is empty ({len(ids)} image/mask pairs in all)")
    return chosen


def read_id_list(path: Path, known: list[str]) -> list[str]:
    """Ids, one a line (a file name's extension is dropped); every id must name an image/mask pair."""
    if not path.is_file():
        raise DataError(f"split list not found: {path}")
    entries = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    ids = [Path(e).stem if Path(e).suffix.lower() in IMAGE_SUFFIXES else e for e in entries]
    unknown = [i for i in ids if i not in set(known)]
    if unknown:
        raise DataError(f"{len(unknown)} id(s) in {path} have no image/mask pair, e.g. {unknown[:3]}")
    return ids


def probe_0_255(masks: list[Path]) -> bool | None:
    """`holds_0_255` of the first of the first PROBE_MASKS masks that can tell; a colour mask says no.

    None when none of them can tell (all background): the lazy check of SegmentationDataset then decides.
    """
    for path in masks[:PROBE_MASKS]:
        if is_colour_image(path):
            return False
        try:
            mask = load_mask(path)
        except DataError:  # unreadable: the sample's own load reports it, or skips it (data.on_error)
            continue
        verdict = holds_0_255(mask)
        if verdict is not None:
            return verdict
    return None
