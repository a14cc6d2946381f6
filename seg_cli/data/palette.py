"""Colouring class masks: the VOC palette (or a dataset's own class colours), palette PNGs and overlays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


def voc_palette(num_colors: int = 256) -> list[int]:
    """The PASCAL VOC colour map (bits of the class index spread over R, G, B), flat [r, g, b, ...]."""
    palette = []
    for index in range(num_colors):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return palette


# `dataset.palette` may name a colour map instead of listing colours.
NAMED_PALETTES = ("voc",)


def named_palette(name: str) -> list[list[int]] | None:
    """The 256 colours of a palette given by name (`dataset.palette=voc`), None for an unknown name."""
    if name.lower() != "voc":
        return None
    flat = voc_palette()
    return [flat[i : i + 3] for i in range(0, len(flat), 3)]


def class_palette(colours: list | str | None = None) -> list[int]:
    """Flat [r, g, b, ...] for 256 indices: `colours` (a dataset's `palette`, one [r, g, b] per class, e.g.
    Cityscapes' official colours, or a name of NAMED_PALETTES) first, the VOC colour map past them."""
    flat = voc_palette()
    if isinstance(colours, str):
        colours = named_palette(colours)
    for index, colour in enumerate((colours or [])[:256]):
        flat[3 * index : 3 * index + 3] = [int(c) for c in colour]
    return flat


def palette_image(mask: np.ndarray, colours: list | None = None) -> Image.Image:
    """A uint8 class mask as a palette-indexed PNG image (values stay the class indices)."""
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(class_palette(colours))
    return image


def overlay(rgb: Image.Image, mask: np.ndarray, alpha: float = 0.5, colours: list | None = None) -> Image.Image:
    """The photo with non-background classes tinted by their palette colour."""
    colours = np.asarray(class_palette(colours), dtype=np.float32).reshape(256, 3)[mask]
    photo = np.asarray(rgb, dtype=np.float32)
    tinted = np.where((mask > 0)[..., None], (1 - alpha) * photo + alpha * colours, photo)
    return Image.fromarray(tinted.round().clip(0, 255).astype(np.uint8))


def colorize(labels: torch.Tensor, colours: list | None = None) -> torch.Tensor:
    """(H, W) class indices -> (3, H, W) float image in the class `colours` (a dataset's palette; VOC colours
    where it has none), 255 = ignore in white."""
    import torch

    palette = torch.tensor(class_palette(colours), dtype=torch.float32).reshape(256, 3) / 255
    palette[255] = 1.0
    return palette[labels.long().clamp(0, 255)].permute(2, 0, 1)
