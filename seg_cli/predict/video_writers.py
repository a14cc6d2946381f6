"""Writing a video's predictions: one encoded file per output kind (H.264 `.mp4`, or with alpha VP9 WebM / ProRes
4444 `.mov`) with the source's timing, rotation and audio, or a folder of numbered PNG frames.

Frames arrive upright (as the model saw them) and are turned back to the stored orientation, and the source's
display rotation is written again: players show the output exactly as they show the input, at the same stored
size. 4:2:0 needs even sides: an odd side is padded by one pixel (its edge repeated; the caller says so once).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from seg_cli.predict.marks import OUTPUT_MARK
from seg_cli.predict.video_io import ALPHA_CODECS, H264_OPTIONS, VideoInfo, stored

log = logging.getLogger("seg.predict")

# Pixel layouts that subsample colour 2x2 and so need even sides.
EVEN_SIDES = ("yuv420p", "yuva420p")
# FFmpeg's AVCOL_SPC / AVCOL_PRI / AVCOL_TRC_SMPTE170M (all 6) and AVCOL_RANGE_MPEG: the BT.601 limited-range
# conversion that PyAV's frame reformatting (swscale's default) applies when it turns RGB into YUV.
BT601, LIMITED_RANGE = 6, 1


class VideoFileWriter:
    """One output video of one input: opened at its first frame, closed (encoder flushed, audio copied) by
    `close`. `fmt` is "h264" or a key of ALPHA_CODECS; `rate` the output's rate (the source's / every_n)."""

    def __init__(self, path: Path, source: Path, info: VideoInfo, rotation: int, rate: Fraction, fmt: str = "h264"
                 ) -> None:
        self.path, self.source, self.info, self.fmt = path, source, info, fmt
        self.rotation, self.rate = rotation, rate
        self.container: Any = None
        self.stream: Any = None
        self.last_pts: int | None = None
        self.audio: _AudioCopy | None = None
        self.padded = False  # whether odd sides were padded by one pixel (set at the first frame)

    def write(self, picture: np.ndarray, pts: int) -> None:
        """Encode one upright picture ((H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8) shown at `pts`."""
        import av

        picture = stored(picture, self.rotation)
        if self.container is None:
            self._open(picture.shape[1], picture.shape[0])
        picture = _pad_to(picture, self.stream.width, self.stream.height)
        layout = {2: "gray"}.get(picture.ndim) or {3: "rgb24", 4: "rgba"}[picture.shape[2]]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format=layout)
        frame.pts, frame.time_base = pts, self.info.time_base
        self.container.mux(self.stream.encode(frame))
        self.last_pts = pts
        if self.audio is not None:  # interleaved as we go: the muxer need not hold the whole video
            self.audio.copy(until=float(pts * self.info.time_base))

    def close(self, cut: bool = False) -> None:
        """Flush the encoder, copy the source's audio (`cut`: only up to the last frame written, for a video
        stopped early) and finish the file so that it plays."""
        if self.container is None:
            return
        try:
            self.container.mux(self.stream.encode())
            if self.audio is not None:
                self.audio.copy(until=self._end_time() if cut else None)
        finally:
            if self.audio is not None:
                self.audio.close()
            self.container.close()
            self.container = None

    def _open(self, width: int, height: int) -> None:
        import av

        codec, pix_fmt, options = ("libx264", "yuv420p", H264_OPTIONS) if self.fmt == "h264" else ALPHA_CODECS[
            self.fmt][:3]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), "w")
        self.container.metadata["comment"] = OUTPUT_MARK  # tells this file from the user's on the next run
        self.stream = self.container.add_stream(codec, rate=self.rate, options=dict(options))
        self.stream.pix_fmt = pix_fmt
        self.stream.width, self.stream.height = _even(width, height) if pix_fmt in EVEN_SIDES else (width, height)
        self.padded = (self.stream.width, self.stream.height) != (width, height)  # the source says so once
        self.stream.codec_context.time_base = self.info.time_base  # the source's timestamps, unrounded
        if pix_fmt.startswith("yuv"):  # say which RGB -> YUV matrix was used, or players guess BT.709 for HD
            context = self.stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = BT601
            context.color_range = LIMITED_RANGE
        self.stream.time_base = self.info.time_base
        if self.rotation:
            self.stream.set_display_rotation(self.rotation)
        self.audio = _AudioCopy.open(self.source, self.container, ALPHA_CODECS[self.fmt][3] if self.fmt in
                                     ALPHA_CODECS else None)

    def _end_time(self) -> float | None:
        if self.last_pts is None:
            return None
        return float((self.last_pts * self.info.time_base) + 1 / self.rate)


class _AudioCopy:
    """The source's first audio stream remuxed packet for packet (no re-encoding) into an output container."""

    def __init__(self, source: Any, audio: Any, out: Any, container: Any) -> None:
        self.source, self.audio, self.out, self.container = source, audio, out, container
        self.packets = (packet for packet in source.demux(audio) if packet.dts is not None)  # None: end marker
        self.pending: Any = None

    @classmethod
    def open(cls, path: Path, container: Any, takes: tuple[str, ...] | None) -> _AudioCopy | None:
        """The copy of `path`'s audio into `container` (before its first packet: streams are fixed then), or None
        where there is no audio or the container does not take its codec (`takes`: the codecs it takes)."""
        import av

        source = av.open(str(path))
        audio = source.streams.audio[0] if source.streams.audio else None
        if audio is not None and takes is not None and audio.codec_context.name not in takes:
            log.info("%s: audio (%s) left out: this format takes %s", Path(container.name).name,
                     audio.codec_context.name, " or ".join(takes))
            audio = None
        if audio is None:
            source.close()
            return None
        return cls(source, audio, container.add_stream_from_template(audio), container)

    def copy(self, until: float | None = None) -> None:
        """Mux the packets that start before `until` seconds (None: all that are left)."""
        for packet in self._upto(until):
            packet.stream = self.out
            self.container.mux(packet)

    def _upto(self, until: float | None):
        while True:
            packet = self.pending if self.pending is not None else next(self.packets, None)
            self.pending = None
            if packet is None:
                return
            if until is not None and packet.pts is not None and packet.pts * self.audio.time_base >= until:
                self.pending = packet
                return
            yield packet

    def close(self) -> None:
        self.source.close()


class FrameFolder:
    """Numbered PNG frames `<folder>/000000.png`, ... (index masks, RGBA cut-outs), marked as seg's outputs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, picture: Any, index: int) -> None:
        from seg_cli.predict.marks import write_marked

        self.folder.mkdir(parents=True, exist_ok=True)
        write_marked(picture, self.folder / f"{index:06d}.png")

    def close(self, cut: bool = False) -> None:
        """Nothing to finish: every frame is a file of its own."""


def picture_array(picture: Any) -> np.ndarray:
    """A writer's Pillow picture as the uint8 array an encoder takes: grey (16-bit scaled to 8), RGB or RGBA."""
    if picture.mode in ("I;16", "I"):
        return (np.asarray(picture, dtype=np.float64) / 257).round().clip(0, 255).astype(np.uint8)
    if picture.mode not in ("L", "RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
    return np.asarray(picture)


def _even(width: int, height: int) -> tuple[int, int]:
    return width + width % 2, height + height % 2


def _pad_to(picture: np.ndarray, width: int, height: int) -> np.ndarray:
    """`picture` grown to `width` x `height` by repeating its last column and row."""
    grow_y, grow_x = height - picture.shape[0], width - picture.shape[1]
    if not grow_x and not grow_y:
        return picture
    return np.pad(picture, ((0, grow_y), (0, grow_x)) + ((0, 0),) * (picture.ndim - 2), mode="edge")
