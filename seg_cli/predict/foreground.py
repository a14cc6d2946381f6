"""The colours of cut-outs and composites (`predict.foreground`): the photo's own, or the foreground estimated
from the photo and the alpha, which removes the old background's colour from soft edges (hair, blur).

`estimate` is pymatting's `estimate_foreground_ml` (multi-level; Germer et al. 2020), an optional extra:
`pip install 'seg-cli[matting]'`."""

from __future__ import annotations

import numpy as np

from seg_cli.errors import ConfigError


def foreground_colours(photo: np.ndarray, alpha: np.ndarray, mode: str) -> np.ndarray:
    """(H, W, 3) float colours in [0, 1] to composite with `alpha` (H, W) in [0, 1]; `photo` is uint8 RGB."""
    image = photo.astype(np.float64) / 255
    if mode == "photo":
        return image
    return estimate_foreground(image, alpha)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    try:
        from pymatting import estimate_foreground_ml
    except ImportError:
        raise ConfigError("predict.foreground=estimate needs pymatting: pip install 'seg-cli[matting]' "
                          "(or predict.foreground=photo)") from None
    return np.clip(estimate_foreground_ml(image, alpha.astype(np.float64)), 0, 1)


def check_foreground(mode: str) -> None:
    """Fail at start-up, not at the first image, when `estimate` cannot run here."""
    if mode == "estimate":
        try:
            import pymatting  # noqa: F401
        except ImportError:
            estimate_foreground(np.zeros((1, 1, 3)), np.zeros((1, 1)))
