"""Images of any band count and bit depth: the dtypes `load_image` returns, band matching, an RGB view.

8-bit data stays uint8 (0..255): the default RGB pipeline keeps its fast uint8 path. Higher bit depths
become float32 on the [0, 1] scale of their bit depth (a 16-bit value v is v / 65535), so 1000 and 1001
stay two values and nothing is stretched or clipped; float data is kept as stored.
"""

from __future__ import annotations

import numpy as np
import torch

from seg_cli.errors import DataError

# ITU-R 601 luma, as Pillow's convert("L") weighs R, G and B (fixed point: / 2**16).
_LUMA = (0.299, 0.587, 0.114)
_LUMA_FIXED = (19595, 38470, 7471)


def array_to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, B) pixels -> (B, H, W): uint8 kept, other integers divided by their type's
    maximum into float32, booleans as 0/255, floats as float32."""
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        array = array.astype(array.dtype.newbyteorder("="), copy=False)  # torch takes native byte order only
        if np.issubdtype(array.dtype, np.integer):
            array = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
        else:
            array = array.astype(np.float32, copy=False)
    planes = np.ascontiguousarray(array.transpose(2, 0, 1))
    return torch.from_numpy(planes if planes.flags.writeable else planes.copy())  # Pillow's arrays are read-only


def match_bands(image: torch.Tensor, channels: int, source: str) -> torch.Tensor:
    """`image` (B, H, W) with `channels` bands: grey and RGB convert to each other (grey is replicated,
    RGB weighed as Pillow's convert("L") does); any other band count must already be `channels`."""
    bands = image.shape[0]
    if bands == channels:
        return image
    if bands == 1 and channels == 3:
        return image.expand(3, -1, -1).contiguous()
    if bands == 3 and channels == 1:
        return luma(image)
    plural = "s" if bands != 1 else ""
    raise DataError(f"image {source} has {bands} band{plural} but dataset.in_channels={channels}: set "
                    f"dataset.in_channels={bands} (and dataset.mean/std, see `seg data stats`) or convert the file")


def luma(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) RGB -> (1, H, W) grey: uint8 with Pillow's rounding, float with the same weights."""
    if image.dtype == torch.uint8:
        weights = torch.tensor(_LUMA_FIXED, dtype=torch.int32).view(3, 1, 1)
        fixed = (image.to(torch.int32) * weights).sum(0, keepdim=True) + 0x8000
        return fixed.div(2**16, rounding_mode="floor").to(torch.uint8)
    weights = torch.tensor(_LUMA, dtype=image.dtype).view(3, 1, 1)
    return (image * weights).sum(0, keepdim=True)


def rgb_view(image: torch.Tensor) -> np.ndarray:
    """An 8-bit (H, W, 3) RGB picture of a loaded image, for overlays and previews.

    8-bit grey and RGB are shown as they are (grey replicated); 16-bit and float grey or RGB are stretched
    from their minimum to their maximum over all bands; other band counts show their first three bands
    (fewer: the first, as grey), each stretched on its own.
    """
    bands = image.shape[0]
    if image.dtype == torch.uint8 and bands in (1, 3):
        return image.expand(3, -1, -1).permute(1, 2, 0).numpy().copy()
    pixels = image.detach().cpu().to(torch.float64)
    if bands in (1, 3):
        shown = _stretch(pixels.expand(3, -1, -1), pixels.amin(), pixels.amax())
    else:
        first = pixels[:3] if bands >= 3 else pixels[:1].expand(3, -1, -1)
        flat = first.flatten(1)
        shown = _stretch(first, flat.amin(1).view(3, 1, 1), flat.amax(1).view(3, 1, 1))
    return shown.permute(1, 2, 0).numpy().astype(np.uint8)


def _stretch(pixels: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Values from [low, high] to [0, 255] (0 where high == low); non-finite values become 0."""
    span = (high - low).clamp(min=torch.finfo(pixels.dtype).tiny)
    scaled = ((pixels - low) * (255.0 / span)).nan_to_num(0.0, 0.0, 0.0)
    return scaled.where(high > low, torch.zeros(())).clamp(0, 255).round()
