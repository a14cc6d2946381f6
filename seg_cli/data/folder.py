"""Any images/ + masks/ folder pair, matched by file name; also the pairing shared by DUTS and HK."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.data.io import IMAGE_SUFFIXES, image_size, load_image, load_mask
from seg_cli.errors import ConfigError, DataError

log = logging.getLogger(__name__)

TASKS = ("multiclass", "binary")
PROBE_MASKS = 32  # masks read at start-up to tell 0/255 binary masks from 0/1 label masks


def pair_by_stem(
    images_dir: Path, masks_dir: Path, image_suffix: str = "", mask_suffix: str = "",
    image_extensions: Sequence[str] = (".jpg", ".jpeg", ".png"), mask_extensions: Sequence[str] = (".png",),
) -> dict[str, tuple[Path, Path]]:
    """{id: (image, mask)} for `<id><image_suffix>.<ext>` and `<id><mask_suffix>.<ext>`, sorted by id.

    An image without a mask or a mask without an image is an error naming the first few of each.
    """
    for name, folder in (("images", images_dir), ("masks", masks_dir)):
        if not folder.is_dir():
            raise DataError(f"{name} folder not found: {folder}")
    if images_dir == masks_dir and image_suffix == mask_suffix:
        raise ConfigError(f"images and masks share the folder {images_dir}: give the masks a suffix, e.g. _mask")
    masks = _files_by_id(masks_dir, mask_suffix, mask_extensions, set())
    images = _files_by_id(images_dir, image_suffix, image_extensions,
                          skip=set(masks.values()) if images_dir == masks_dir else set())
    if not images:
        raise DataError(f"no images *{image_suffix}{{{', '.join(image_extensions)}}} in {images_dir}")
    lonely_images = sorted(set(images) - set(masks))
    lonely_masks = sorted(set(masks) - set(images))
    if lonely_images or lonely_masks:
        raise DataError(
            f"images and masks do not pair up by name: {len(lonely_images)} image(s) without a mask "
            f"{_first(images, lonely_images)} in {images_dir}, {len(lonely_masks)} mask(s) without an image "
            f"{_first(masks, lonely_masks)} in {masks_dir} (image <id>{image_suffix}.<ext> pairs with mask "
            f"<id>{mask_suffix}.<ext>)"
        )
    return {key: (images[key], masks[key]) for key in sorted(images)}


def _files_by_id(folder: Path, suffix: str, extensions: Sequence[str], skip: set[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    for path in sorted(folder.iterdir()):
        if path in skip or path.suffix.lower() not in wanted or not path.stem.endswith(suffix) or not path.is_file():
            continue
        key = path.stem[: len(path.stem) - len(suffix)]
        if key in found:
            raise DataError(f"two files for one id {key!r}: {found[key].name} and {path.name} in {folder}")
        found[key] = path
    return found


def _first(files: dict[str, Path], keys: list[str], count: int = 3) -> str:
    names = [files[k].name for k in keys[:count]]
    return "[" + ", ".join(names) + (", ..." if len(keys) > count else "") + "]"


def check_task(task: str, num_classes: int) -> None:
    """Binary tasks train a one-channel model: num_classes must be 1."""
    if task not in TASKS:
        raise ConfigError(f"dataset.task={task!r} is not allowed; choose from: {', '.join(TASKS)}")
    if task == "binary" and num_classes != 1:
        raise ConfigError(
            f"dataset.num_classes={num_classes} with dataset.task=binary: a binary model has one output channel, "
            "set dataset.num_classes=1 (or dataset.task=multiclass with num_classes=2)"
        )


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
    ) -> None:
        check_task(task, num_classes)
        if class_names is None and task == "binary":
            class_names = ("background", "foreground")
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task)
        if len(self.class_names) != self.label_count:
            raise ConfigError(
                f"dataset.class_names has {len(self.class_names)} names but the masks hold {self.label_count} labels"
            )
        self.pairs: list[tuple[Path, Path]] = []

    def __len__(self) -> int:
        return len(self.pairs)

    def sample_name(self, index: int) -> str:
        return str(self.pairs[index][1])

    def image_size(self, index: int) -> tuple[int, int] | None:
        return image_size(self.pairs[index][0])

    def read_mask(self, path: Path) -> torch.Tensor:
        return load_mask(path)

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.pairs[index]
        image, mask = load_image(image_path), self.read_mask(mask_path)
        if image.shape[-2:] != mask.shape:
            raise DataError(
                f"image {image_path} is {tuple(image.shape[-2:])} (HxW) but its mask {mask_path} is {tuple(mask.shape)}"
            )
        return image, mask


class FolderSegmentation(PairedFiles):
    """`<root>/<images_dir>/<id>.jpg` with `<root>/<masks_dir>/<id>.png`, split by list files or a val fraction.

    Masks hold class indices (palette or grey PNGs). For two labels, 0/255 masks mean background/foreground
    and are mapped to 0/1; with a `palette`, RGB colour masks are decoded (colour i -> class i).
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
        train_list: str | None = None,
        val_list: str | None = None,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        num_classes: int = 1,
        class_names: Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = "binary",
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task)
        base = Path(root)
        if not base.is_dir():
            raise DataError(
                f"dataset.root={root} is not a folder: expected <root>/{images_dir}/<id>{image_suffix}.jpg and "
                f"<root>/{masks_dir}/<id>{mask_suffix}.png (optionally <root>/train.txt and val.txt listing ids)"
            )
        pairs = pair_by_stem(base / images_dir, base / masks_dir, image_suffix, mask_suffix,
                             image_extensions, mask_extensions)
        ids = select_split(list(pairs), split, base, train_list, val_list, val_fraction, split_seed)
        self.pairs = [pairs[i] for i in ids]
        self.palette = [tuple(int(c) for c in colour) for colour in palette] if palette else None
        if self.palette is not None and len(self.palette) < self.label_count:
            raise ConfigError(f"dataset.palette has {len(self.palette)} colours for {self.label_count} labels")
        self.binary_255 = self.label_count == 2 and _looks_like_0_255([m for _, m in pairs.values()])
        if self.binary_255:
            log.info("masks under %s hold 0/255: reading 255 as foreground (label 1)", base / masks_dir)

    def read_mask(self, path: Path) -> torch.Tensor:
        if self.palette is not None and _is_colour(path):
            return decode_colours(path, self.palette)
        mask = load_mask(path)
        if self.binary_255:
            if bool(((mask != 0) & (mask != 255)).any()):
                values = sorted(int(v) for v in mask.unique() if v not in (0, 255))[:10]
                raise DataError(
                    f"mask {path} has values {values}; the other masks of this dataset hold only 0 and 255 "
                    "(background/foreground)"
                )
            mask = (mask == 255).to(torch.uint8)
        return mask


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


def _looks_like_0_255(masks: list[Path]) -> bool:
    """True when the first masks with any foreground hold exactly 0 and 255 (no 1..254)."""
    for path in masks[:PROBE_MASKS]:
        if _is_colour(path):
            return False
        values = set(load_mask(path).unique().tolist())
        if values - {0}:
            return values <= {0, 255}
    return False


def _is_colour(path: Path) -> bool:
    try:
        with Image.open(path) as img:
            return img.mode in ("RGB", "RGBA")
    except (OSError, ValueError, SyntaxError):
        return False  # load_mask reports the unreadable file


def decode_colours(path: Path, palette: Sequence[tuple[int, ...]]) -> torch.Tensor:
    """An RGB colour mask as class indices: colour palette[i] -> i; any other colour is an error."""
    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.int64)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    mask = np.full(codes.shape, -1, dtype=np.int64)
    for index, (r, g, b) in enumerate(palette):
        mask[codes == (r << 16 | g << 8 | b)] = index
    if (mask < 0).any():
        stray = [((c >> 16) & 255, (c >> 8) & 255, c & 255) for c in np.unique(codes[mask < 0])[:5].tolist()]
        raise DataError(f"mask {path} has colours {stray} that are not in dataset.palette")
    return torch.from_numpy(mask.astype(np.uint8))
