"""`save=color`: the mask in the dataset's class colours, as an RGB picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class ColorWriter(OutputWriter):
    """`<stem>_color.png`: the class colours as RGB."""

    name = "color"
    suffix = "_color.png"

    def picture(self, result: Decoded) -> Image.Image:
        from seg_cli.data.palette import palette_image

        return palette_image(result.mask, result.colours).convert("RGB")


WRITER = ColorWriter
