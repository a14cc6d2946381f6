"""What composites are drawn over (`predict.background`): a colour name, `[r, g, b]`, an image resized to cover
the photo, or a video looped frame by frame. Checked when `seg predict` starts, before the model loads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seg_cli.errors import ConfigError, DataError
from seg_cli.predict.video_io import is_video


class Background:
    """One background: `picture(width, height, frame)` is an (H, W, 3) uint8 array."""

    def picture(self, width: int, height: int, frame: int = 0) -> np.ndarray:
        raise NotImplementedError


class ColourBackground(Background):
    def __init__(self, rgb: Sequence[int]) -> None:
        self.rgb = np.asarray(rgb, dtype=np.uint8)

    def picture(self, width: int, height: int, frame: int = 0) -> np.ndarray:
        return np.broadcast_to(self.rgb, (height, width, 3))


class ImageBackground(Background):
    """An image scaled to cover the photo (aspect kept) and centre-cropped to it."""

    def __init__(self, path: Path) -> None:
        from PIL import Image

        try:
            with Image.open(path) as image:
                self.image = image.convert("RGB")
        except (OSError, ValueError) as exc:
            raise DataError(f"predict.background={path}: cannot read the image ({exc})") from None

    def picture(self, width: int, height: int, frame: int = 0) -> np.ndarray:
        return cover(self.image, width, height)


class VideoBackground(Background):
    """A video's frames in order, from the first again after the last (output frame i shows frame i mod n)."""

    def __init__(self, path: Path) -> None:
        from seg_cli.predict.video_io import probe

        probe(path)  # not a video, or a codec FFmpeg lacks: one line at start-up, not at the first composite
        self.path = path
        self.frames: Iterator[np.ndarray] | None = None
        self.next_index = 0

    def picture(self, width: int, height: int, frame: int = 0) -> np.ndarray:
        from PIL import Image

        if self.frames is None or frame != self.next_index:  # a new input starts again at 0
            self.frames, self.next_index = None, 0
            for _ in range(frame):
                self._next()
        return cover(Image.fromarray(self._next()), width, height)

    def _next(self) -> np.ndarray:
        from seg_cli.predict.video_io import read_frames

        picture = next(self.frames, None) if self.frames is not None else None
        if picture is None:  # the start, or the end: loop
            self.frames = read_frames(self.path)
            picture = next(self.frames, None)
            if picture is None:
                raise DataError(f"predict.background={self.path} holds no video frames")
        self.next_index += 1
        return picture


def cover(image: Any, width: int, height: int) -> np.ndarray:
    """The PIL `image` scaled (aspect kept) to cover width x height, centre-cropped to it."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)))


def parse_background(value: Any) -> Background:
    """The background of a `predict.background` value; a bad one is a ConfigError naming the key."""
    if isinstance(value, (list, tuple)):
        if len(value) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in value):
            raise ConfigError(f"predict.background={list(value)} must be [r, g, b] with each in 0..255")
        return ColourBackground(value)
    text = str(value)
    path = Path(text).expanduser()
    if is_video(path) and path.is_file():
        return VideoBackground(path)
    if path.is_file():
        return ImageBackground(path)
    return ColourBackground(_colour(text))


def _colour(text: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise ConfigError(f"predict.background={text!r} is neither a colour name (green, white, '#00b140', ...), "
                          "[r, g, b], nor an existing image or video file") from None
