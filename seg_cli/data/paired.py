"""Datasets of (image file, mask file) pairs matched by name, and `PairedFolders`: one folder per split.

DUTS and HK are `PairedFolders` configured in configs/dataset/{duts,hk}.yaml; `seg_cli.data.folder`
builds on the same pairing for a single images/ + masks/ pair split by lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from seg_cli.data.alpha import load_trimap, trimap_from_alpha
from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.data.io import image_size
from seg_cli.errors import ConfigError, DataError
from seg_cli.tasks import get_task


def pair_by_stem(
    images_dir: Path, masks_dir: Path, image_suffix: str = "", mask_suffix: str | Sequence[str] = "",
    image_extensions: Sequence[str] = (".jpg", ".jpeg", ".png"), mask_extensions: Sequence[str] = (".png",),
    recursive: bool = False, by_name: bool = False,
) -> dict[str, tuple[Path, Path]]:
    """{id: (image, mask)} for `<id><image_suffix>.<ext>` and `<id><mask_suffix>.<ext>`, sorted by id
    (with `recursive`, files in sub-folders too, the id then including the sub-folder path, or with `by_name`
    the file name alone: AISegment's clip_img/<group>/clip_<n>/ and matting/<group>/matting_<n>/).

    Several mask suffixes are alternatives in order of preference: an id takes the mask of the first suffix
    it has a file for (Cityscapes: _gtFine_labelIds, else _gtFine_labelTrainIds).
    An image without a mask or a mask without an image is an error naming the first few of each.
    """
    suffixes = [mask_suffix] if isinstance(mask_suffix, str) else list(mask_suffix)
    for name, folder in (("images", images_dir), ("masks", masks_dir)):
        if not folder.is_dir():
            raise DataError(f"{name} folder not found: {folder}")
    if images_dir == masks_dir and image_suffix in suffixes:
        raise ConfigError(f"images and masks share the folder {images_dir}: give the masks a suffix, e.g. _mask")
    masks = _masks_by_id(masks_dir, suffixes, mask_extensions, recursive, by_name)
    images = _files_by_id(images_dir, image_suffix, image_extensions,
                          set(masks.values()) if images_dir == masks_dir else set(), recursive, by_name)
    if not images:
        raise DataError(f"no images *{image_suffix}{{{', '.join(image_extensions)}}} in {images_dir}")
    lonely_images = sorted(set(images) - set(masks))
    lonely_masks = sorted(set(masks) - set(images))
    if lonely_images or lonely_masks:
        mask_names = " or ".join(f"<id>{suffix}.<ext>" for suffix in suffixes)
        raise DataError(
            f"images and masks do not pair up by name: {len(lonely_images)} image(s) without a mask "
            f"{_first(images, lonely_images)} in {images_dir}, {len(lonely_masks)} mask(s) without an image "
            f"{_first(masks, lonely_masks)} in {masks_dir} (image <id>{image_suffix}.<ext> pairs with mask "
            f"{mask_names})"
        )
    return {key: (images[key], masks[key]) for key in sorted(images)}


def _masks_by_id(folder: Path, suffixes: Sequence[str], extensions: Sequence[str], recursive: bool,
                 by_name: bool = False) -> dict[str, Path]:
    """{id: mask} over alternative suffixes, the first suffix's file winning for an id; a file is claimed by
    the longest suffix it ends with (so suffix "" does not also claim `<id>_ready.png`)."""
    claimed: set[Path] = set()
    by_suffix: dict[str, dict[str, Path]] = {}
    for suffix in sorted(set(suffixes), key=len, reverse=True):
        by_suffix[suffix] = _files_by_id(folder, suffix, extensions, claimed, recursive, by_name)
        claimed |= set(by_suffix[suffix].values())
    masks: dict[str, Path] = {}
    for suffix in reversed(suffixes):
        masks.update(by_suffix[suffix])
    return masks


def _files_by_id(folder: Path, suffix: str, extensions: Sequence[str], skip: set[Path],
                 recursive: bool = False, by_name: bool = False) -> dict[str, Path]:
    found: dict[str, Path] = {}
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        if path in skip or path.suffix.lower() not in wanted or not path.stem.endswith(suffix) or not path.is_file():
            continue
        name = path.stem[: len(path.stem) - len(suffix)]
        key = name if by_name else str(path.relative_to(folder).with_name(name))
        if key in found:
            raise DataError(f"two files for one id {key!r}: {found[key].name} and {path.name} in {folder}")
        found[key] = path
    return found


def _first(files: dict[str, Path], keys: list[str], count: int = 3) -> str:
    names = [files[k].name for k in keys[:count]]
    return "[" + ", ".join(names) + (", ..." if len(keys) > count else "") + "]"


def check_task(task: str, num_classes: int) -> None:
    """A known task whose class count fits (Task.check_classes): binary tasks train a one-channel model, so
    num_classes must be 1; multi-class ones need 2 classes or more."""
    get_task(task).check_classes(num_classes)


def check_threshold(threshold: int | None) -> None:
    """`dataset.threshold`: a grey level in 0..254 (foreground where the mask value exceeds it), or None."""
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 254:
        raise ConfigError(f"dataset.threshold={threshold!r} is not allowed; give a grey level 0..254 (foreground "
                          "where the mask value is above it, e.g. 127), or null for masks of class indices")


def binary_labels_advice(path: Path, values: list[int]) -> str:
    """The error for a two-label dataset's mask holding other values: names both fixes, never a loop between
    class counts (multi-class masks need dataset.task, not only dataset.num_classes)."""
    shown = values[:10]
    return (f"mask {path} has values {shown}{', ...' if len(values) > 10 else ''} but dataset.task=binary reads "
            "0/1 or 0/255 masks: for class-index masks set dataset.task=multiclass dataset.num_classes=N "
            f"(N classes, at least {max(values) + 1}); for grey-level or anti-aliased masks set dataset.threshold=127 "
            "(foreground where the value is above it)")


def load_thresholded_mask(path: Path, threshold: int) -> torch.Tensor:
    """A grey-level mask or alpha matte (0..255) as labels: 1 where the value exceeds `threshold`, else 0."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                raise DataError(f"mask {path} has mode {img.mode}; expected an 8-bit grey-level PNG")
            grey = np.asarray(img.convert("L"))
    except FileNotFoundError:
        raise DataError(f"mask not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read mask {path}: {exc}") from None
    return torch.from_numpy((grey > threshold).astype(np.uint8))


class PairedFiles(SegmentationDataset):
    """A dataset of (image file, mask file) pairs; subclasses fill `self.pairs` and may override `read_mask`."""

    def __init__(
        self, split: str, num_classes: int, class_names: Sequence[str] | None, ignore_index: int,
        transforms: PairTransform | None, task: str,
        **shared: Any,
    ) -> None:
        check_task(task, num_classes)
        if class_names is None:
            class_names = get_task(task).default_class_names
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, **shared)
        if len(self.class_names) != self.label_count:
            raise ConfigError(
                f"dataset.class_names has {len(self.class_names)} names but the masks hold {self.label_count} labels"
            )
        self.pairs: list[tuple[Path, Path]] = []
        self.trimaps: list[Path] | None = None  # a matting split's trimaps, where the dataset ships them
        self.trimap_kernel: int | None = None  # else an eval split's trimaps are eroded from the mattes (px)

    def __len__(self) -> int:
        return len(self.pairs)

    def sample_name(self, index: int) -> str:
        return str(self.pairs[index][1])

    def sample_files(self, index: int) -> dict[str, str]:
        """The files of sample `index` by role, as per_image.csv names them: its image and its mask."""
        image, mask = self.pairs[index]
        return {"image": str(image), "mask": str(mask)}

    def image_size(self, index: int) -> tuple[int, int] | None:
        return image_size(self.pairs[index][0])

    def read_mask(self, path: Path) -> torch.Tensor:
        return self.read_mask_file(path)

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.pairs[index]
        image, mask = self.read_image_file(image_path), self.read_target(index)
        if image.shape[-2:] != mask.shape[-2:]:
            raise DataError(f"image {image_path} is {tuple(image.shape[-2:])} (HxW) but its mask {mask_path} is "
                            f"{tuple(mask.shape[-2:])}")
        return image, mask

    def read_target(self, index: int) -> torch.Tensor:
        """Sample `index`'s mask as its task's target reads it: labels through read_mask (thresholds, label maps,
        0/255), or a continuous target (an alpha matte) as stored, stacked with its trimap where there is one."""
        target, path = get_task(self.task).target, self.pairs[index][1]
        if target.reads_labels:
            return self.read_mask(path)
        values = target.read(path)
        if self.trimaps is None:
            if self.split == "train" or not self.trimap_kernel:
                return values
            return torch.stack([values, trimap_from_alpha(values, self.trimap_kernel)])
        trimap = load_trimap(self.trimaps[index])
        if trimap.shape != values.shape:
            raise DataError(f"trimap {self.trimaps[index]} is {tuple(trimap.shape)} (HxW) but its matte {path} is "
                            f"{tuple(values.shape)}")
        return torch.stack([values, trimap])


class PairedFolders(PairedFiles):
    """Images paired with masks by name in per-split folders under `root`: the layout of most benchmarks
    (DUTS, HK, ADE20K, CamVid, COCO-Stuff, Cityscapes), each one YAML of keys.

    `split_dirs` maps each split to its folder name (shown in messages as written; a trailing "/" is kept
    there). `images_dir` / `masks_dir` are paths under `root` in which `{split_dir}` stands for it, e.g.
    DUTS's `{split_dir}/{split_dir}-Image` or ADE20K's `images/{split_dir}`; `image_suffix` /
    `mask_suffix` may name it too. `recursive` pairs files in sub-folders (Cityscapes' cities) by their
    path. Masks are grey levels thresholded at `threshold` (saliency, mattes), or with `threshold: null`
    class indices as stored (then the dataset's label_map applies). `ready_mask_suffix` names masks that
    hold class indices already, read as they are where an id has no `mask_suffix` file: Cityscapes'
    `_gtFine_labelTrainIds` (cityscapesScripts' createTrainIdLabelImgs) beside or instead of the
    `_gtFine_labelIds` its label_map maps. `layout` describes the whole tree for the error raised when a
    split's images are missing; `name` names the dataset in messages. A folder key may also map each split to
    its own path (P3M-10k's `blurred_image` and `original_image`).

    Matting (`task: matting`): masks are alpha mattes read soft (no threshold), and `trimaps_dir` (with
    `trimap_suffix`) names the trimaps a split ships for evaluation, where that folder exists; an eval split
    without them gets trimaps eroded from its mattes by an ellipse of `trimap_kernel` px.
    """

    def __init__(
        self,
        root: str,
        split: str,
        split_dirs: Mapping[str, str],
        images_dir: str | Mapping[str, str] = "{split_dir}",
        masks_dir: str | Mapping[str, str] = "{split_dir}",
        image_suffix: str = "",
        mask_suffix: str = "",
        ready_mask_suffix: str | None = None,
        image_extensions: Sequence[str] = (".jpg", ".jpeg", ".png"),
        mask_extensions: Sequence[str] = (".png",),
        recursive: bool = False,
        name: str = "the dataset",
        layout: str = "one folder per split",
        threshold: int | None = 127,
        num_classes: int = 1,
        class_names: Sequence[str] | None = ("background", "foreground"),
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "binary",
        trimaps_dir: str | Mapping[str, str] | None = None,
        trimap_suffix: str = "",
        trimap_kernel: int = 25,
        **shared: Any,
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, **shared)
        check_threshold(threshold)
        if split not in split_dirs:
            raise DataError(f"{name} has the splits {describe_splits(split_dirs)}, not {split!r}")
        shown = split_dirs[split]
        fill = {"split_dir": shown.rstrip("/")}
        images = Path(root) / split_path(images_dir, split, fill)
        if not images.is_dir():
            raise DataError(f"no {shown} under dataset.root={root}: expected {layout}")
        self.mask_suffix = mask_suffix.format(**fill)
        self.ready_mask_suffix = None if ready_mask_suffix is None else ready_mask_suffix.format(**fill)
        suffixes = [self.mask_suffix] + ([self.ready_mask_suffix] if self.ready_mask_suffix is not None else [])
        pairs = pair_by_stem(images, Path(root) / split_path(masks_dir, split, fill), image_suffix.format(**fill),
                             suffixes, image_extensions, mask_extensions, recursive)
        self.pairs = list(pairs.values())
        self.trimap_kernel = trimap_kernel
        if trimaps_dir is not None and not get_task(task).target.reads_labels:
            self.trimaps = find_trimaps(Path(root) / split_path(trimaps_dir, split, fill), list(pairs),
                                        trimap_suffix.format(**fill), recursive)
        self.threshold = threshold
        if threshold is not None:  # thresholded masks are 0/1 already: no 255 to read as foreground
            self._zero_255_masks = False

    def read_mask(self, path: Path) -> torch.Tensor:
        if self.threshold is not None:
            return load_thresholded_mask(path, self.threshold)
        if self.is_ready_mask(path):
            return self.labels.read(path, map_values=False)
        return self.read_mask_file(path)

    def is_ready_mask(self, path: Path) -> bool:
        """Whether `path` is a `ready_mask_suffix` mask (the longer suffix decides when both match)."""
        ready, primary = self.ready_mask_suffix, self.mask_suffix
        if ready is None or not path.stem.endswith(ready):
            return False
        return not (len(primary) > len(ready) and path.stem.endswith(primary))


def split_path(value: str | Mapping[str, str], split: str, fill: Mapping[str, str]) -> str:
    """A folder key's path for `split`: one template for all splits, or a mapping of split -> template."""
    if isinstance(value, Mapping):
        if split not in value:
            raise ConfigError(f"a per-split folder mapping {dict(value)} has no entry for the split {split!r}")
        value = value[split]
    return str(value).format(**fill)


def find_trimaps(folder: Path, ids: list[str], suffix: str, recursive: bool) -> list[Path] | None:
    """The trimap of each id (`<id><suffix>.png` in `folder`), or None where the split has no such folder;
    a folder missing some ids' trimaps is an error naming them."""
    if not folder.is_dir():
        return None
    found = _files_by_id(folder, suffix, (".png",), set(), recursive)
    missing = [key for key in ids if key not in found]
    if missing:
        raise DataError(f"{len(missing)} image(s) have no trimap <id>{suffix}.png in {folder}, e.g. "
                        f"{', '.join(missing[:3])}")
    return [found[key] for key in ids]


def describe_splits(split_dirs: Mapping[str, str]) -> str:
    """`train (DUTS-TR) and val (DUTS-TE)`: each folder once, under its first split (test is an alias of val)."""
    first_split: dict[str, str] = {}
    for split, folder in split_dirs.items():
        first_split.setdefault(folder, split)
    parts = [f"{split} ({folder})" for folder, split in first_split.items()]
    if len(parts) < 2:
        return "".join(parts) or "none"
    return f"{', '.join(parts[:-1])} and {parts[-1]}"
