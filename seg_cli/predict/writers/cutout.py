"""`save=cutout`: the photo as RGBA, its alpha the decoded probability (binary: the foreground's; matting: the
alpha), its colours the photo's own or the estimated foreground (`predict.foreground`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class CutoutWriter(OutputWriter):
    """`<stem>_cutout.png`: RGBA, alpha the decoded probability."""

    name = "cutout"
    suffix = "_cutout.png"

    def __init__(self, foreground: str = "photo") -> None:
        self.foreground = foreground

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> CutoutWriter:
        options = cls.predict_options(settings)
        return cls(options.foreground)

    def picture(self, result: Decoded) -> Image.Image:
        import numpy as np
        from PIL import Image

        if self.foreground == "photo":
            cutout = result.photo.convert("RGBA")
        else:
            colours = (result.foreground(self.foreground) * 255).round().astype(np.uint8)
            cutout = Image.fromarray(colours, mode="RGB").convert("RGBA")
        cutout.putalpha(result.prob_picture)
        return cutout


WRITER = CutoutWriter
