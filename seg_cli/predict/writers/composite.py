"""`save=composite`: the foreground over a new background (`predict.background`), blended by the alpha."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.background import Background
    from seg_cli.predict.decoded import Decoded


class CompositeWriter(OutputWriter):
    """`<stem>_composite.jpg`: alpha x foreground + (1 - alpha) x background, the foreground's colours the
    photo's own or estimated (`predict.foreground`)."""

    name = "composite"
    suffix = "_composite.jpg"
    options = {"quality": 95}

    def __init__(self, background: Background, foreground: str = "photo") -> None:
        self.background, self.foreground = background, foreground

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> CompositeWriter:
        from seg_cli.predict.background import parse_background

        options = cls.predict_options(settings)
        return cls(parse_background(options.background), options.foreground)

    def picture(self, result: Decoded) -> Image.Image:
        import numpy as np
        from PIL import Image

        alpha = result.prob[..., None]
        height, width = result.prob.shape
        background = self.background.picture(width, height, result.frame).astype(np.float64) / 255
        blended = alpha * result.foreground(self.foreground) + (1 - alpha) * background
        return Image.fromarray((blended * 255).round().clip(0, 255).astype(np.uint8), mode="RGB")


WRITER = CompositeWriter
