"""`save=cutout`: the photo as RGBA, its alpha the decoded probability (binary: the foreground's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class CutoutWriter(OutputWriter):
    """`<stem>_cutout.png`: RGBA, alpha the decoded probability."""

    name = "cutout"
    suffix = "_cutout.png"

    def picture(self, result: Decoded) -> Image.Image:
        cutout = result.photo.convert("RGBA")
        cutout.putalpha(result.prob_picture)
        return cutout


WRITER = CutoutWriter
