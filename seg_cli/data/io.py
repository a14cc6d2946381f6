"""Reading images and masks from disk into tensors, with one clear error per bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from seg_cli.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's own decompression-bomb error threshold
_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_SWAPPING_SIDES = (5, 6, 7, 8)  # transposed or rotated by 90 degrees


def load_rgb(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image as 8-bit RGB, applying EXIF orientation (phones store rotated pixels).

    Images over `max_pixels` are refused before decoding (a small file can claim a huge size).
    """
    try:
        with Image.open(path) as img:
            if img.width * img.height > max_pixels:
                raise DataError(f"image {path} is {img.width}x{img.height}, over the limit of {max_pixels} pixels")
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                img = _rescale_to_8bit(img)
            return img.convert("RGB")
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    except Exception as exc:  # a corrupt file can make any decoder step fail; all mean "unreadable"
        raise DataError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from None


def _rescale_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit / float images: stretch the value range to 0..255 instead of clipping it."""
    array = np.asarray(img, dtype=np.float64)
    low, high = float(array.min()), float(array.max())
    scaled = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
    return Image.fromarray(scaled.astype(np.uint8))


def load_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """An image as a uint8 tensor of shape (3, H, W), EXIF orientation applied.

    8-bit RGB / grey JPEG and PNG files, the usual training data, are decoded by torchvision.io straight
    into a CHW tensor: the same pixels as Pillow, a third faster for a VOC photo (1.49 -> 0.99 ms,
    scripts/bench_knobs.py decode). Any other file, and any file that decoder rejects, goes through
    `load_rgb`, which converts every mode and says in one line what is wrong.
    """
    fast = _decode_with_torchvision(path, max_pixels)
    if fast is not None:
        return fast
    array = np.asarray(load_rgb(path, max_pixels))
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _decode_with_torchvision(path: str | Path, max_pixels: int) -> torch.Tensor | None:
    """The fast path of `load_image`, or None where Pillow must handle the file."""
    from torchvision.io import ImageReadMode, decode_image, read_file

    try:
        with Image.open(path) as img:  # reads the header only: format, mode and size
            if img.format not in ("JPEG", "PNG") or img.mode not in ("RGB", "L"):
                return None
            if img.width * img.height > max_pixels:
                return None
        return decode_image(read_file(str(path)), ImageReadMode.RGB, apply_exif_orientation=True)
    except Exception:  # missing, corrupt or truncated: load_rgb reads it again and names the problem
        return None


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(height, width) of an image as `load_image` returns it, from the file header alone (EXIF
    rotation included); None when the header cannot be read (loading the image will say why)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if _header_orientation(img) in _ORIENTATIONS_SWAPPING_SIDES:
                width, height = height, width
            return height, width
    except Exception:  # missing or corrupt: not this function's to report
        return None


def _header_orientation(img: Image.Image) -> int:
    """The EXIF orientation `load_image` applies, read without decoding pixels.

    JPEG and PNG: the EXIF block ahead of the pixels only, as torchvision's decoder reads it (Pillow's
    getexif would also read XMP, and for a PNG decode the whole image to find a late eXIf chunk).
    Other formats go through Pillow's exif_transpose, which reads getexif.
    """
    if img.format in ("JPEG", "PNG"):
        exif = Image.Exif()
        raw = img.info.get("exif")
        if raw:
            exif.load(raw)
        return exif.get(_EXIF_ORIENTATION, 1)
    return img.getexif().get(_EXIF_ORIENTATION, 1)


def load_mask(path: str | Path) -> torch.Tensor:
    """A label mask as a tensor of shape (H, W): palette indices or grey values, never RGB; uint8, or int32
    for a 16-bit PNG with values above 255 (a label map or the class check deals with them)."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L", "1", "I", "I;16"):
                raise DataError(
                    f"mask {path} has mode {img.mode}; expected a single-channel (palette or grayscale) PNG"
                )
            array = np.asarray(img)
    except FileNotFoundError:
        raise DataError(f"mask not found: {path}") from None
    except DataError:
        raise
    except Exception as exc:  # corrupt or truncated file
        raise DataError(f"cannot read mask {path}: {type(exc).__name__}: {exc}") from None
    if array.max(initial=0) > 255:
        return torch.from_numpy(array.astype(np.int32))
    return torch.from_numpy(array.astype(np.uint8))


def check_labels(mask: torch.Tensor, num_classes: int, ignore_index: int, source: str) -> None:
    """Fail, naming the file and values, when a mask holds labels outside [0, num_classes)."""
    bad = (mask >= num_classes) & (mask != ignore_index)
    if bool(bad.any()):
        values = sorted(int(v) for v in torch.unique(mask[bad]))[:10]
        raise DataError(
            f"mask {source} has label values {values} outside [0, {num_classes}) "
            f"(ignore index {ignore_index}); fix the mask or set dataset.num_classes"
        )


def list_images(paths: list[str]) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of image files."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"input not found: {path}")
    return found
