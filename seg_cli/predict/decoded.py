"""What a predictor hands the output writers for one image: the photo and the task's decoded result."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from seg_cli.tasks import Task


@dataclass
class Decoded:
    """One image's prediction at the photo's size, decoded by its task (Task.decode).

    `prob` is the probability the task decodes (binary: of the foreground; multi-class: of the predicted class),
    `mask` the (H, W) uint8 labels; `colours` the dataset's class colours (its `palette`; None: VOC's).
    """

    photo: Image.Image  # RGB, what overlays and cut-outs show
    prob: np.ndarray
    mask: np.ndarray
    task: Task
    colours: list | None = None
    frame: int = 0  # the output frame of a video input (0 for an image)
    _foregrounds: dict = field(default_factory=dict, repr=False)

    def foreground(self, mode: str) -> np.ndarray:
        """(H, W, 3) float colours in [0, 1] that cut-outs and composites show (predict.foreground: the photo's
        own, or estimated), computed once per result whichever writers ask."""
        if mode not in self._foregrounds:
            import numpy as np

            from seg_cli.predict.foreground import foreground_colours

            self._foregrounds[mode] = foreground_colours(np.asarray(self.photo), self.prob, mode)
        return self._foregrounds[mode]

    @cached_property
    def prob_picture(self) -> Image.Image:
        """The probability as an 8-bit grey picture (0..255)."""
        import numpy as np
        from PIL import Image

        return Image.fromarray((self.prob * 255).round().astype(np.uint8), mode="L")


def decode(logits: Any, task: Task, photo: Image.Image, colours: list | None = None,
           threshold: float = 0.5) -> Decoded:
    """The decoded result of (1, C, H, W) `logits` at the photo's size; binary masks are foreground where
    prob >= `threshold`."""
    prob, mask = task.decode(logits, threshold)
    return Decoded(photo, prob, mask, task, colours)
