"""Label conventions: how the values stored in mask files become class indices, for every dataset.

Applied once when a mask file is read (`LabelConvention.read`), before the checks and the transforms:
- `palette`: RGB colour masks, colour i -> class i (any other colour is an error naming it); such masks
  hold class indices already, so the two keys below apply to stored values only;
- `label_map`: stored value -> class index, or -> "ignore" (the ignore index);
- `reduce_zero_label`: 0 -> ignore and v -> v - 1, after the map (MMSegmentation 0.x's order), the ignore
  index itself kept, as ADE20K's 0 = "other" needs.
The palette also gives the class colours predictions are drawn in (seg_cli.data.palette).
A value neither mapped nor a class stays an error naming the file and the values (seg_cli.data.io.check_labels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from seg_cli.data.io import load_mask
from seg_cli.errors import ConfigError, DataError

MAX_SOURCE_VALUE = 65535  # 16-bit label PNGs


class LabelConvention:
    """The `dataset.palette`, `dataset.label_map` and `dataset.reduce_zero_label` of one dataset."""

    def __init__(self, label_map: Mapping[Any, Any] | None = None, reduce_zero_label: bool = False,
                 palette: Sequence[Sequence[int]] | None = None, ignore_index: int = 255,
                 label_count: int | None = None) -> None:
        self.palette = parse_palette(palette, label_count)
        self.lookup = build_lookup(parse_label_map(label_map, ignore_index), bool(reduce_zero_label), ignore_index)
        # 8-bit masks, the common case, go through a 256-entry uint8 table: about 4 ms instead of 32 ms for a
        # 2048x1024 Cityscapes mask (scripts/bench_data.py); class indices always fit in 8 bits.
        self.lookup8 = None if self.lookup is None else self.lookup[:256].to(torch.uint8).numpy()
        self.ignore_index = ignore_index

    @property
    def maps_values(self) -> bool:
        """Whether stored values are mapped (then the 0/255 guess of binary datasets stays out of it)."""
        return self.lookup is not None

    def read(self, path: str | Path) -> torch.Tensor:
        """A mask file as class indices: a colour image decoded with the palette, else its stored values
        through label_map / reduce_zero_label."""
        if self.palette is not None and is_colour_image(path):
            return decode_colours(Path(path), self.palette)
        return self.apply(load_mask(path))

    def apply(self, mask: torch.Tensor) -> torch.Tensor:
        """Stored values -> class indices (unchanged without a map). Values past the table stay as they are,
        so check_labels names them."""
        if self.lookup is None:
            return mask
        if mask.dtype == torch.uint8:
            return torch.from_numpy(self.lookup8[mask.numpy()])
        values = mask.long()
        inside = values <= MAX_SOURCE_VALUE
        return torch.where(inside, self.lookup[values.clamp(max=MAX_SOURCE_VALUE)], values)


def parse_label_map(label_map: Mapping[Any, Any] | None, ignore_index: int) -> dict[int, int]:
    """`dataset.label_map` as {source value: class index}; "ignore" (or the ignore index) marks ignored values."""
    if not label_map:
        return {}
    parsed = {}
    for source, target in dict(label_map).items():
        try:
            value = int(source)
            index = ignore_index if str(target).lower() == "ignore" else int(target)
        except (TypeError, ValueError):
            raise ConfigError(f"dataset.label_map entry {source}: {target} must map a whole number to a class "
                              "index or to ignore, e.g. dataset.label_map={7: 0, 0: ignore}") from None
        if not 0 <= value <= MAX_SOURCE_VALUE or not 0 <= index <= 255:
            raise ConfigError(f"dataset.label_map entry {source}: {target} is out of range (source values "
                              f"0..{MAX_SOURCE_VALUE}, class indices 0..254 or ignore)")
        parsed[value] = index
    return parsed


def build_lookup(mapping: dict[int, int], reduce_zero_label: bool, ignore_index: int) -> torch.Tensor | None:
    """A table over every 16-bit source value giving its class index; None when nothing is mapped."""
    if not mapping and not reduce_zero_label:
        return None
    table = torch.arange(MAX_SOURCE_VALUE + 1, dtype=torch.long)
    for source, index in mapping.items():
        table[source] = index
    if reduce_zero_label:
        ignored = (table == 0) | (table == ignore_index)
        table = torch.where(ignored, torch.full_like(table, ignore_index), table - 1)
    return table


def parse_palette(palette: Sequence[Sequence[int]] | None, label_count: int | None) -> list[tuple[int, ...]] | None:
    """`dataset.palette`: one [r, g, b] per class."""
    if not palette:
        return None
    colours = [tuple(int(c) for c in colour) for colour in palette]
    if any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in colours):
        raise ConfigError("dataset.palette must list one [r, g, b] (0..255 each) per class")
    if label_count is not None and len(colours) < label_count:
        raise ConfigError(f"dataset.palette has {len(colours)} colours for {label_count} labels")
    return colours


def is_colour_image(path: str | Path) -> bool:
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


# Cityscapes labelIds that are one of the 19 training classes (cityscapesScripts' labels table).
CITYSCAPES_TRAIN_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def suggest_convention(values: set[int], label_count: int, ignore_index: int) -> list[str]:
    """What the raw mask values of a dataset look like, as `seg data check` hints with the keys to set."""
    labels = values - {ignore_index}
    hints = []
    if labels and labels <= {0, 255} and 255 in values:
        hints.append("0/255 binary masks: read as background/foreground with dataset.task=binary "
                     "dataset.num_classes=1 (a two-label dataset maps them itself)")
    if labels and 0 in labels and max(labels) == label_count and min(labels - {0}, default=1) >= 1:
        hints.append("0 as 'unlabelled' with classes 1..N: set dataset.reduce_zero_label=true")
    if labels and labels <= set(range(34)) and labels & set(CITYSCAPES_TRAIN_IDS[10:]) and max(labels) >= 19:
        hints.append("Cityscapes labelIds (0..33): use dataset=cityscapes, or map them with "
                     "dataset.label_map={7: 0, 8: 1, ...}")
    if labels and max(labels) >= label_count and not hints:
        hints.append(f"values up to {max(labels)} for {label_count} classes: set dataset.num_classes, or map "
                     "them with dataset.label_map={value: class, value: ignore}")
    return hints
