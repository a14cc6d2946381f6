"""Video files through PyAV (`av`, whose wheels bundle FFmpeg): read frames upright, write predictions back.

Reading: the stream's exact average rate (a Fraction: 30000/1001 stays 30000/1001), the frame count its
container states (None where it states none), size and rotation (the display matrix), and frames as RGB uint8
(H, W, 3) arrays turned upright. Writing: H.264 yuv420p `.mp4` at the source's time base with each frame at its
source timestamp (so the rate, and any variable timing, stay exact), the source's rotation written back (frames
turned back to the stored orientation: players show the output as they show the input, at the same size), the
audio stream remuxed untouched; or a file with an alpha channel (VP9 `yuva420p` WebM, ProRes 4444 `.mov`).

`av` is imported inside functions only: `seg --help` and image-only runs never load FFmpeg.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from seg_cli.errors import DataError

log = logging.getLogger("seg.predict")

# H.264: near-transparent quality at a speed that keeps encoding a small share of a CPU prediction's time.
H264_OPTIONS = {"crf": "18", "preset": "veryfast"}
# Per alpha format: (codec, pixel format, codec options, audio codecs the container takes (None: any)).
ALPHA_CODECS: dict[str, tuple[str, str, dict[str, str], tuple[str, ...] | None]] = {
    "webm": ("libvpx-vp9", "yuva420p", {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8"},
             ("opus", "vorbis")),
    "prores": ("prores_ks", "yuva444p10le", {"profile": "4444"}, None),
}


# the file extensions taken for videos (inputs, a composite's background)
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts",
                    ".mts", ".m2ts", ".3gp", ".ogv")


def is_video(path: Path) -> bool:
    """Whether `path` is named as a video file."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What a video stream states: `rate` its exact average frame rate, `frames` its count (None: not stated),
    `width` x `height` as stored. The rotation players apply is read from the frames (VideoReader.rotation)."""

    rate: Fraction
    frames: int | None
    width: int
    height: int
    time_base: Fraction
    codec: str


@dataclass
class Frame:
    """A decoded frame: `rgb` upright (H, W, 3) uint8, `pts` its timestamp in the stream's time base."""

    index: int
    rgb: np.ndarray
    pts: int


class VideoReader:
    """The first video stream of a file; a file FFmpeg cannot open or decode is a DataError naming it."""

    def __init__(self, path: Path | str) -> None:
        import av

        self.path = Path(path)
        try:
            self.container = av.open(str(path))
            self.stream = self.container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a video FFmpeg can read ({error_text(exc)})") from None
        if self.stream.codec_context is None:  # a codec the FFmpeg bundled with PyAV has no decoder for
            self.container.close()
            raise DataError(f"{path}: its video codec cannot be decoded by this FFmpeg (the one PyAV bundles); "
                            "convert it, e.g. to H.264")
        self.stream.thread_type = "AUTO"  # frame threads: decoding keeps up with the model
        self.info = _stream_info(self.stream)
        self.rotation = 0  # counter-clockwise degrees players turn the frames (display matrix), set by `frames`

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def frames(self, every_n: int = 1, limit: int | None = None) -> Iterator[Frame]:
        """Every `every_n`-th frame (the first included), at most `limit` of them, upright. A read error after
        some frames is a DataError saying how many came out; so is a container that states clearly more frames
        than it holds (a cut file whose index survived)."""
        import av

        kept = decoded = 0
        try:
            for frame in self.container.decode(self.stream):
                if decoded == 0:
                    self.rotation = _quarter_turns(frame.rotation, self.path)
                if decoded % every_n == 0:
                    rgb = upright(frame.to_ndarray(format="rgb24"), self.rotation)
                    yield Frame(kept, rgb, self._pts(frame, decoded))
                    kept += 1
                decoded += 1
                if limit is not None and kept >= limit:
                    return
        except av.FFmpegError as exc:
            raise DataError(f"{self.path}: stops after frame {decoded} (truncated or corrupt: {error_text(exc)})"
                            ) from None
        # A stated count may include a frame or two that an edit list hides: only a real shortfall is an error.
        if self.info.frames and decoded < self.info.frames - max(2, self.info.frames // 100):
            raise DataError(f"{self.path}: ends after {decoded} of the {self.info.frames} frames its container "
                            "states (truncated?)")


    def _pts(self, frame: Any, decoded: int) -> int:
        """The frame's timestamp; where the container gives none, its place at the stated rate."""
        return frame.pts if frame.pts is not None else round(decoded / self.info.rate / self.info.time_base)


def read_frames(path: Path | str) -> Iterator[np.ndarray]:
    """Every frame of the video at `path` as an upright RGB uint8 (H, W, 3) array (e.g. a looped background);
    a file that is not a video is a DataError."""
    with VideoReader(path) as reader:
        for frame in reader.frames():
            yield frame.rgb


def probe(path: Path | str) -> VideoInfo:
    """The VideoInfo of the video at `path` (a DataError where it is none)."""
    with VideoReader(path) as reader:
        return reader.info


def _stream_info(stream: Any) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    context = stream.codec_context
    return VideoInfo(Fraction(rate), stream.frames or None, context.width, context.height,
                     Fraction(stream.time_base or Fraction(1, 90000)), context.name)


def _quarter_turns(degrees: float, path: Path) -> int:
    """A display rotation as 0, 90, 180 or 270; another angle is logged and ignored (frames kept as stored)."""
    turn = int(round(degrees)) % 360
    if turn % 90:
        log.warning("%s: display rotation %d is not a quarter turn; frames are read as stored", path, turn)
        return 0
    return turn


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A frame as players show it: stored pixels turned `rotation` degrees counter-clockwise."""
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def stored(picture: np.ndarray, rotation: int) -> np.ndarray:
    """An upright picture turned back to the stored orientation (the inverse of `upright`)."""
    return np.ascontiguousarray(np.rot90(picture, -(rotation // 90))) if rotation else picture


def error_text(exc: BaseException) -> str:
    """An exception of FFmpeg, the OS or a library as one line (an OSError's reason without its errno)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
