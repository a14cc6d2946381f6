"""A built-in synthetic dataset: shapes on textured backgrounds, generated from a seed (no download)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from seg_cli.data.base import PairTransform, SegmentationDataset
from seg_cli.tasks import DEFAULT_TASK, get_task

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
SOFT_EDGE = 1.5  # task="matting": the Gaussian blur (px) that makes the shapes' mask a soft matte


class SyntheticShapes(SegmentationDataset):
    """Circles, squares and triangles (classes 1..3) of random colour, size and rotation.

    Each class also has its own fill pattern (solid, stripes, checks), a local cue that lets a small
    model learn the set in a few CPU minutes while boundaries still have to follow the shape.

    Every sample is a pure function of (seed, split, index), so runs and DataLoader workers agree.
    With task="binary" the same three kinds of shape are drawn but every shape is foreground (label 1),
    for a one-channel model (num_classes: 1); with task="matting" their mask, blurred, is a soft alpha matte.
    """

    def __init__(
        self,
        split: str,
        num_classes: int = 4,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        train_size: int = 480,
        val_size: int = 64,
        min_side: int = 96,
        max_side: int = 160,
        seed: int = 0,
        task: str = DEFAULT_TASK,
        **shared: Any,
    ) -> None:
        super().__init__(split, num_classes, class_names, ignore_index, transforms, task, **shared)
        self.size = train_size if split == "train" else val_size
        self.min_side, self.max_side = min_side, max_side
        self.seed = seed
        self.split_id = _SPLIT_IDS.get(split, 3)

    def __len__(self) -> int:
        return self.size

    def sample_name(self, index: int) -> str:
        return f"synthetic/{self.split}/{index:05d}"

    def sample_files(self, index: int) -> dict[str, str]:
        """Sample `index` as per_image.csv names it: generated, so no files; its name stands for the image."""
        return {"image": self.sample_name(index)}

    def image_size(self, index: int) -> tuple[int, int]:
        return self._draw_size(self._rng(index))

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.split_id, index])

    def _draw_size(self, rng: np.random.Generator) -> tuple[int, int]:
        """(height, width): a sample's first draw, so its size is known without drawing the rest."""
        height, width = rng.integers(self.min_side, self.max_side + 1, size=2)
        return int(height), int(width)

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = self._rng(index)
        height, width = self._draw_size(rng)
        image = _textured_background(rng, height, width, _noise_bank(self.seed, 2 * self.max_side))
        mask = Image.new("L", (width, height), 0)
        task = get_task(self.task)
        soft = not task.target.reads_labels  # matting: the shapes' matte, its edges blurred
        binary = task.one_foreground or soft
        kinds = 4 if binary else self.num_classes  # binary: still circles, squares and triangles
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(1, kinds)) if kinds > 1 else 0
            _draw_shape(rng, image, mask, kind, min(height, width), label=1 if binary else kind)
        image_t = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()
        if soft:
            matte = Image.fromarray(np.asarray(mask) * 255).filter(ImageFilter.GaussianBlur(SOFT_EDGE))
            return image_t, torch.from_numpy(np.asarray(matte, dtype=np.float32) / 255)
        return image_t, torch.from_numpy(np.asarray(mask).copy())


def _textured_background(rng: np.random.Generator, height: int, width: int, noise: np.ndarray) -> Image.Image:
    """Colour gradients under strong pixel noise plus a few lines, so colour alone gives nothing away
    and flat-filled circles differ from the background by texture as well as by outline."""
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
    top, left = (int(v) for v in rng.integers(0, (noise.shape[0] - height + 1, noise.shape[1] - width + 1)))
    noisy = np.asarray(image, dtype=np.int16) + noise[top : top + height, left : left + width]
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, x1 = rng.integers(0, width, size=2)
        y0, y1 = rng.integers(0, height, size=2)
        draw.line([(int(x0), int(y0)), (int(x1), int(y1))], fill=_colour(rng), width=int(rng.integers(1, 3)))
    return image


@functools.lru_cache(maxsize=8)
def _noise_bank(seed: int, side: int) -> np.ndarray:
    """Gaussian pixel noise (std 28) for a whole set; each sample adds its own random window of it.

    Drawing fresh noise for every pixel of every sample was 80 % of a sample's cost (4.3 of 5.2 ms at
    293x330); a window of a bank twice the largest side costs 0.2 ms and looks the same to a model.
    """
    rng = np.random.default_rng([seed, 0x6E6F6973])
    return np.rint(rng.normal(0, 28, size=(side, side, 3))).astype(np.int16)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, size=3))


def _fill_pattern(rng: np.random.Generator, label: int, box: tuple[int, int, int, int]) -> Image.Image:
    """The fill for `label` over `box` (left, top, right, bottom): solid (1), stripes (2) or checks (3),
    in two random colours; the pattern's phase follows image coordinates, not the box."""
    left, top, right, bottom = box
    first, second = np.array(_colour(rng), np.uint8), np.array(_colour(rng), np.uint8)
    period = int(rng.integers(4, 8))
    # Row and column indices as (H, 1) and (1, W): only the final np.where is full size.
    ys, xs = np.arange(top, bottom)[:, None] // period, np.arange(left, right)[None, :] // period
    if label % 3 == 2:
        on = np.broadcast_to(ys % 2 == 0, (bottom - top, right - left))
    elif label % 3 == 0 and label > 0:
        on = (ys + xs) % 2 == 0
    else:
        return Image.new("RGB", (right - left, bottom - top), tuple(int(c) for c in first))
    return Image.fromarray(np.where(on[..., None], first, second))


def _draw_shape(
    rng: np.random.Generator, image: Image.Image, mask: Image.Image, kind: int, side: int, label: int
) -> None:
    """Draw shape `kind` (1 circle, 2 square, 3 triangle) with its fill into `image`, and `label` into `mask`."""
    radius = float(rng.uniform(0.12, 0.25)) * side
    cx = float(rng.uniform(radius, image.width - radius))
    cy = float(rng.uniform(radius, image.height - radius))
    angle = float(rng.uniform(0, 2 * math.pi))
    corners = {2: 4, 3: 3}.get(kind, 0)
    # Draw and fill only the shape's bounding box (a margin of 2 px covers the rasteriser's rounding).
    box = (max(0, math.floor(cx - radius) - 2), max(0, math.floor(cy - radius) - 2),
           min(image.width, math.ceil(cx + radius) + 2), min(image.height, math.ceil(cy + radius) + 2))
    x, y = cx - box[0], cy - box[1]
    shape = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    if corners:
        points = [
            (x + radius * math.cos(angle + 2 * math.pi * k / corners),
             y + radius * math.sin(angle + 2 * math.pi * k / corners))
            for k in range(corners)
        ]
        ImageDraw.Draw(shape).polygon(points, fill=255)
    else:
        ImageDraw.Draw(shape).ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    image.paste(_fill_pattern(rng, kind, box), box[:2], mask=shape)
    mask.paste(label, box, mask=shape)
