"""Label conventions: how the values stored in mask files become class indices, for every dataset.

Applied once when a mask file is read (`LabelConvention.read`), before the checks and the transforms:
- `palette`: RGB colour masks, colour i -> class i for the dataset's classes (any other colour is an error
  naming it as an (r, g, b) triple);
- `void_colors`: colours of a colour mask read as the ignore index, e.g. VOC's void (224, 224, 192) once
  the masks were saved as RGB, or CamVid's void (0, 0, 0);
- `label_map`: stored value -> class index, or -> "ignore" (the ignore index);
- `reduce_zero_label`: 0 -> ignore and v -> v - 1, after the map (MMSegmentation 0.x's order), the ignore
  index itself kept, as ADE20K's 0 = "other" needs.
The palette also gives the class colours predictions are drawn in (seg_cli.data.palette).
A value neither mapped nor a class stays an error naming the file and the values (seg_cli.data.io.check_labels).

label_map and reduce_zero_label are not applied after colour decoding: a palette colour names a class
(palette[i] is class i, the colour predictions are drawn in), while label_map keys are values a file stores.
One dataset may have both: Cityscapes' palette holds the 19 train-id colours and its label_map maps labelIds,
so mapping a decoded colour again would send traffic sign (train id 7) to road (labelId 7 -> 0). A colour
that is no class is said with void_colors instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from seg_cli.data.io import load_mask
from seg_cli.data.palette import NAMED_PALETTES, named_palette
from seg_cli.errors import ConfigError, DataError
from seg_cli.tasks import DEFAULT_TASK, get_task

MAX_SOURCE_VALUE = 65535  # 16-bit label PNGs


class LabelConvention:
    """The `dataset.palette`, `void_colors`, `label_map` and `reduce_zero_label` of one dataset."""

    def __init__(self, label_map: Mapping[Any, Any] | None = None, reduce_zero_label: bool = False,
                 palette: Sequence[Sequence[int]] | None = None, ignore_index: int = 255,
                 label_count: int | None = None, void_colors: Sequence[Sequence[int]] | None = None) -> None:
        self.palette = parse_palette(palette, label_count)
        # Colour masks decode the palette's first class_count colours; entries past them only draw.
        self.class_count = label_count if label_count is not None else len(self.palette or ())
        void = parse_void_colours(void_colors, self.palette, self.class_count)
        self.colours = colour_table(self.palette, void, self.class_count, ignore_index)
        self.lookup = build_lookup(parse_label_map(label_map, ignore_index), bool(reduce_zero_label), ignore_index)
        # 8-bit masks, the common case, go through a 256-entry uint8 table: about 4 ms instead of 32 ms for a
        # 2048x1024 Cityscapes mask (scripts/bench_data.py); class indices always fit in 8 bits.
        self.lookup8 = None if self.lookup is None else self.lookup[:256].to(torch.uint8).numpy()
        self.ignore_index = ignore_index

    @property
    def maps_values(self) -> bool:
        """Whether stored values are mapped (then the 0/255 guess of binary datasets stays out of it)."""
        return self.lookup is not None

    def read(self, path: str | Path, map_values: bool = True) -> torch.Tensor:
        """A mask file as class indices: a colour image decoded with the palette, else its stored values
        through label_map / reduce_zero_label (`map_values=False`: as stored, for masks that hold class
        indices already, such as Cityscapes' labelTrainIds)."""
        if self.colours is not None and is_colour_image(path):
            return decode_colours(Path(path), self.colours, self.palette, self.class_count)
        mask = load_mask(path)
        return self.apply(mask) if map_values else mask

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


def parse_palette(palette: Sequence[Sequence[int]] | str | None, label_count: int | None
                  ) -> list[tuple[int, ...]] | None:
    """`dataset.palette`: one [r, g, b] per class, or the name of a colour map (voc: VOC's 256 colours)."""
    if not palette:
        return None
    colours = parse_colours(named_palette(palette) if isinstance(palette, str) else palette)
    if colours is None:
        raise ConfigError(f"dataset.palette={palette!r} is not allowed; give one [r, g, b] (0..255 each) per "
                          f"class, e.g. dataset.palette=[[0,0,0],[128,0,0]], a colour map ({', '.join(NAMED_PALETTES)}), "
                          "or null")
    if label_count is not None and len(colours) < label_count:
        raise ConfigError(f"dataset.palette has {len(colours)} colours for {label_count} labels")
    return colours


def parse_void_colours(void_colors: Sequence[Sequence[int]] | None, palette: Sequence[tuple[int, ...]] | None,
                       class_count: int) -> list[tuple[int, ...]]:
    """`dataset.void_colors`: [r, g, b] colours read as the ignore index; they need the palette's classes
    and must not be one of them."""
    if not void_colors:
        return []
    colours = parse_colours(void_colors)
    if colours is None:
        raise ConfigError(f"dataset.void_colors={void_colors!r} is not allowed; give [r, g, b] colours "
                          "(0..255 each), e.g. dataset.void_colors=[[224,224,192]], or null")
    if palette is None:
        raise ConfigError("dataset.void_colors needs dataset.palette=[[r, g, b], ...], the class colours that "
                          "decode colour masks")
    classes = list(palette[:class_count])
    clash = [c for c in colours if c in classes]
    if clash:
        raise ConfigError(f"dataset.void_colors colour {clash[0]} is class {classes.index(clash[0])}'s colour "
                          "in dataset.palette: a colour is a class or void, not both")
    return colours


def parse_colours(colours: Sequence[Sequence[int]] | None) -> list[tuple[int, ...]] | None:
    """[[r, g, b], ...] as tuples of ints 0..255; None where it is not such a list."""
    if colours is None or isinstance(colours, str):
        return None
    try:
        parsed = [tuple(int(c) for c in colour) for colour in colours]
    except (TypeError, ValueError):
        return None
    if any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in parsed):
        return None
    return parsed


def colour_table(palette: Sequence[tuple[int, ...]] | None, void: Sequence[tuple[int, ...]],
                 class_count: int, ignore_index: int) -> dict[int, int] | None:
    """{0xRRGGBB: label} that decodes colour masks: the palette's first `class_count` colours -> their class,
    the void colours -> ignore_index. None without a palette."""
    if palette is None:
        return None
    table = {pack(colour): ignore_index for colour in void}
    table.update({pack(colour): index for index, colour in enumerate(palette[:class_count])})
    return table


def pack(colour: Sequence[int]) -> int:
    """An (r, g, b) colour as one integer 0xRRGGBB, as decode_colours compares pixels."""
    r, g, b = colour
    return (r << 16) | (g << 8) | b


def is_colour_image(path: str | Path) -> bool:
    try:
        with Image.open(path) as img:
            return img.mode in ("RGB", "RGBA")
    except (OSError, ValueError, SyntaxError):
        return False  # load_mask reports the unreadable file


def decode_colours(path: Path, colours: Mapping[int, int], palette: Sequence[tuple[int, ...]],
                   class_count: int) -> torch.Tensor:
    """An RGB colour mask as labels by `colours` (colour_table of `palette`'s first `class_count` colours);
    any other colour is an error naming it."""
    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.int64)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    mask = np.full(codes.shape, -1, dtype=np.int64)
    for code, label in colours.items():
        mask[codes == code] = label
    if (mask < 0).any():
        raise DataError(stray_colours_message(path, np.unique(codes[mask < 0]).tolist(), palette, class_count))
    return torch.from_numpy(mask.astype(np.uint8))


def stray_colours_message(path: Path, codes: list[int], palette: Sequence[tuple[int, ...]], class_count: int) -> str:
    """The error for colours that are neither a class nor void, said as (r, g, b) triples with both fixes."""
    stray = [((c >> 16) & 255, (c >> 8) & 255, c & 255) for c in codes[:5]]
    more = f" and {len(codes) - 5} more" if len(codes) > 5 else ""
    where = ("not in dataset.palette" if not set(stray) & set(palette) else
             f"not among the {class_count} class colours of dataset.palette (entries past them only draw)")
    listed = ",".join(f"[{r},{g},{b}]" for r, g, b in stray)
    return (f"mask {path} has colours {stray}{more} that are {where}; a class colour goes in dataset.palette, "
            f"colours to ignore in dataset.void_colors=[{listed}]")


# Cityscapes labelIds that are one of the 19 training classes (cityscapesScripts' labels table).
CITYSCAPES_TRAIN_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def suggest_convention(values: set[int], label_count: int, ignore_index: int, task: str = DEFAULT_TASK
                       ) -> list[str]:
    """What the raw mask values of a dataset look like, as `seg data check` hints with the keys to set."""
    labels = values - {ignore_index}
    hints = []
    if labels and labels <= {0, 255} and 255 in values:
        hints.append("0/255 binary masks: read as background/foreground with dataset.task=binary "
                     "dataset.num_classes=1 (a two-label dataset maps them itself)")
    if get_task(task).one_foreground and labels - {0, 1, 255}:
        hints.append(f"class indices up to {max(labels)}: set dataset.task=multiclass dataset.num_classes=N (N "
                     f"classes, at least {max(labels) + 1}); grey levels or anti-aliased 0/255 masks: set "
                     "dataset.threshold=127")
        return hints
    if labels and 0 in labels and max(labels) == label_count and min(labels - {0}, default=1) >= 1:
        hints.append("0 as 'unlabelled' with classes 1..N: set dataset.reduce_zero_label=true")
    if labels and labels <= set(range(34)) and labels & set(CITYSCAPES_TRAIN_IDS[10:]) and max(labels) >= 19:
        hints.append("Cityscapes labelIds (0..33): use dataset=cityscapes, or map them with "
                     "dataset.label_map={7: 0, 8: 1, ...}")
    if labels and max(labels) >= label_count and not hints:
        hints.append(f"values up to {max(labels)} for {label_count} classes: set dataset.num_classes, or map "
                     "them with dataset.label_map={value: class, value: ignore}")
    return hints
