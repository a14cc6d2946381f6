"""`save=mask`: the task's mask picture (multi-class: class-index palette PNG; binary: 0/255)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class MaskWriter(OutputWriter):
    """`<stem>.png`: the task's mask picture."""

    name = "mask"
    suffix = ".png"

    def picture(self, result: Decoded) -> Image.Image:
        return result.task.mask_picture(result.mask, result.colours)


WRITER = MaskWriter
