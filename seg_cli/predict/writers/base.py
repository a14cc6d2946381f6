"""What every output writer declares: its `save=` name, its file suffix, and the picture it draws."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from PIL import Image

    from seg_cli.predict.decoded import Decoded
    from seg_cli.predict.options import PredictOptions


class OutputWriter:
    """One `save=` kind: a picture per image, saved at the output stem + `suffix` (its extension included)."""

    name: ClassVar[str]  # the save= value
    suffix: ClassVar[str]  # after the output stem: "_overlay.jpg"
    options: ClassVar[dict[str, Any]] = {}  # Pillow save options

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OutputWriter:
        """The writer for a run's `settings` (predict's drawing keys, e.g. overlay_alpha); most take none."""
        return cls()

    @staticmethod
    def predict_options(settings: dict[str, Any]) -> PredictOptions:
        """The run's `predict:` section from `settings` (its defaults where a caller gave none)."""
        from seg_cli.predict.options import PredictOptions

        return settings.get("options") or PredictOptions()

    def picture(self, result: Decoded) -> Image.Image:
        """The picture to save for one image."""
        raise NotImplementedError
