"""Test videos made with PyAV: an NTSC-rate (30000/1001) clip of odd size with an AAC track, optionally rotated."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

NTSC = Fraction(30000, 1001)


def clip_frame(index: int, width: int, height: int) -> np.ndarray:
    """Frame `index` of a test clip: a grey ramp with a red square moving right, (height, width, 3) uint8."""
    ramp = np.linspace(30, 220, width, dtype=np.float64)[None, :].repeat(height, 0)
    frame = np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], -1).astype(np.uint8)
    side = max(4, min(width, height) // 3)
    left = (index * 3) % max(1, width - side)
    frame[height // 3 : height // 3 + side, left : left + side] = (230, 20, 20)
    return frame


def write_clip(path: Path, frames: int = 12, size: tuple[int, int] = (65, 47), rate: Fraction = NTSC,
               audio: bool = True, rotation: int = 0, options: dict | None = None) -> Path:
    """An H.264 clip of `size` (width, height) at `rate`: 4:4:4, so that odd sides are allowed, with a 8 kHz mono
    AAC track about as long as the video; `rotation`: the display matrix's counter-clockwise turn."""
    import av

    width, height = size
    with av.open(str(path), "w", options=options or {}) as container:
        video = container.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv444p"
        if rotation:
            video.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=8000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for index in range(frames):
            container.mux(video.encode(av.VideoFrame.from_ndarray(clip_frame(index, width, height), format="rgb24")))
        container.mux(video.encode())
        if sound is not None:
            samples = int(8000 * frames / rate)
            tone = (0.2 * np.sin(np.arange(samples) * 0.05)).astype(np.float32)[None]
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start : start + 1024]), format="fltp",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = 8000, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode())
    return path


def audio_packets(path: Path) -> list[bytes]:
    """The payloads of the first audio stream's packets of the file at `path`."""
    import av

    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every frame of the video at `path` as stored (not turned upright), RGB uint8."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
