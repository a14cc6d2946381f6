"""`save=prob`: the 8-bit probability (binary: of the foreground; multi-class: of the predicted class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class ProbWriter(OutputWriter):
    """`<stem>_prob.png`: the decoded probability, 0..255."""

    name = "prob"
    suffix = "_prob.png"

    def picture(self, result: Decoded) -> Image.Image:
        return result.prob_picture


WRITER = ProbWriter
