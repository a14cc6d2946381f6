"""`save=overlay`: the photo tinted by the mask's class colours (`overlay_alpha` of colour), as a JPEG."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seg_cli.predict.writers.base import OutputWriter

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded


class OverlayWriter(OutputWriter):
    """`<stem>_overlay.jpg`: the photo, its non-background pixels tinted `alpha` of the way to their class colour."""

    name = "overlay"
    suffix = "_overlay.jpg"
    options = {"quality": 90}

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = alpha

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OverlayWriter:
        return cls(settings.get("overlay_alpha", 0.5))

    def picture(self, result: Decoded) -> Image.Image:
        from seg_cli.data.palette import overlay

        return overlay(result.photo, result.mask, self.alpha, result.colours)


WRITER = OverlayWriter
