"""`save=alpha`: the alpha (matting), the foreground probability (binary), as a grey PNG of 8 or 16 bits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class AlphaWriter(OutputWriter):
    """`<stem>_alpha.png`: alpha x 255 rounded (`predict.alpha_bits=16`: x 65535, a 16-bit PNG)."""

    name = "alpha"
    suffix = "_alpha.png"

    def __init__(self, bits: int = 8) -> None:
        self.bits = bits

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> AlphaWriter:
        options = cls.predict_options(settings)
        return cls(options.alpha_bits)

    def picture(self, result: Decoded) -> Image.Image:
        import numpy as np
        from PIL import Image

        if self.bits == 8:
            return result.prob_picture
        return Image.fromarray((result.prob * 65535).round().astype(np.uint16))  # mode I;16


WRITER = AlphaWriter
