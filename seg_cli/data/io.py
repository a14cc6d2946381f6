"""Reading images and masks from disk into tensors, with one clear error per bad file.

Images keep their precision and bands (see seg_cli.data.bands for the dtypes): torchvision.io decodes
8-bit JPEG / PNG (the fast path) and 16-bit PNG, Pillow every other format, tifffile the TIFFs Pillow cannot
read band for band.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from seg_cli.data.bands import array_to_tensor, match_bands
from seg_cli.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's own decompression-bomb error threshold
_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_SWAPPING_SIDES = (5, 6, 7, 8)  # transposed or rotated by 90 degrees
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # little / big endian, classic / BigTIFF
_TIFF_BITS_PER_SAMPLE, _TIFF_SAMPLES_PER_PIXEL = 258, 277
# (Pillow mode, channels) -> torchvision.io.ImageReadMode of the fast path, for 8-bit JPEG and PNG files
_FAST_MODES = {("RGB", 3): "RGB", ("L", 3): "RGB", ("L", 1): "GRAY"}


def load_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, channels: int = 3) -> torch.Tensor:
    """An image as a (channels, H, W) tensor, EXIF orientation applied, its precision kept: uint8 for 8-bit
    files, float32 on the [0, 1] scale of the bit depth for 16-bit ones, float32 as stored for float files
    (seg_cli.data.bands).

    With `channels` 1 or 3 every photo becomes grey or RGB (alpha dropped, palette and CMYK converted as
    Pillow converts them). Files Pillow cannot read band for band (multi-band, 16-bit colour or float TIFFs)
    are read with tifffile. Grey and RGB convert to each other; any other band count must equal `channels`,
    or the error names the file, its bands and dataset.in_channels.

    8-bit RGB / grey JPEG and PNG files, the usual training data, are decoded by torchvision.io straight
    into a CHW tensor: the same pixels as Pillow, a third faster for a VOC photo (1.49 -> 0.99 ms,
    scripts/bench_knobs.py decode); so are 16-bit PNGs, whose colour Pillow would cut to 8 bits. Any other
    file, and any file that decoder rejects, goes through Pillow, which says in one line what is wrong.
    """
    image = _decode_with_torchvision(path, max_pixels, channels)
    if image is None:
        image = _read_with_pillow(path, max_pixels, channels)
    return match_bands(image, channels, str(path))


def _decode_with_torchvision(path: str | Path, max_pixels: int, channels: int) -> torch.Tensor | None:
    """The fast path of `load_image` (bands not yet matched), or None where Pillow must handle the file."""
    from torchvision.io import ImageReadMode, decode_image, read_file

    try:
        with Image.open(path) as img:  # reads the header only: format, mode and size
            if img.format not in ("JPEG", "PNG") or img.width * img.height > max_pixels:
                return None
            sixteen_bit = img.format == "PNG" and bool(img.tile) and ";16" in str(img.tile[0][3])
            mode = _FAST_MODES.get((img.mode, channels))
            if mode is None and not sixteen_bit:
                return None
        if sixteen_bit:
            return _sixteen_bit_png(decode_image(read_file(str(path)), apply_exif_orientation=True), channels)
        return decode_image(read_file(str(path)), ImageReadMode[mode], apply_exif_orientation=True)
    except Exception:  # missing, corrupt or truncated: Pillow reads it again and names the problem
        return None


def _sixteen_bit_png(decoded: torch.Tensor, channels: int) -> torch.Tensor:
    """A decoded 16-bit PNG (grey, grey + alpha, RGB or RGBA) as float32 v / 65535; alpha dropped for 1 or 3
    channels, as for 8-bit photos."""
    if channels in (1, 3) and decoded.shape[0] in (2, 4):
        decoded = decoded[:-1]
    return decoded.to(torch.float32).div_(65535)


def _read_with_pillow(path: str | Path, max_pixels: int, channels: int) -> torch.Tensor:
    """The pixels of any file Pillow opens (TIFFs it cannot read band for band: tifffile), bands not yet
    matched; every failure is one DataError naming the file."""
    try:
        try:
            img = Image.open(path)
        except UnidentifiedImageError:
            if not _is_tiff(path):
                raise
            return array_to_tensor(_read_tiff(path, max_pixels))
        with img:
            if img.width * img.height > max_pixels:
                raise DataError(f"image {path} is {img.width}x{img.height}, over the limit of {max_pixels} pixels")
            if img.format == "TIFF" and not _pillow_reads_all_bands(img):
                return array_to_tensor(_read_tiff(path, max_pixels))
            return array_to_tensor(_pillow_pixels(ImageOps.exif_transpose(img), channels))
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    except Exception as exc:  # a corrupt file can make any decoder step fail; all mean "unreadable"
        raise DataError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from None


def _pillow_pixels(img: Image.Image, channels: int) -> np.ndarray:
    """(H, W[, B]) pixels of an opened image: 16-bit, 32-bit and float modes as stored; 8-bit photos as grey
    or RGB for 1 or 3 channels (Pillow's conversions), else band for band (palette expanded)."""
    if img.mode.startswith("I;16"):
        return np.asarray(img)
    if img.mode == "I":  # 32-bit ints; PNG and PPM store at most 16 bits in them
        array = np.asarray(img)
        return array.astype(np.uint16) if img.format in ("PNG", "PPM") else array
    if img.mode == "F":
        return np.asarray(img)
    if channels in (1, 3):
        return np.asarray(img.convert("L" if channels == 1 else "RGB"))
    if img.mode in ("1", "P", "PA"):
        img = img.convert({"1": "L", "P": "RGBA" if "transparency" in img.info else "RGB", "PA": "RGBA"}[img.mode])
    return np.asarray(img)


def _pillow_reads_all_bands(img: Image.Image) -> bool:
    """Whether Pillow's mode for a TIFF holds every sample at full precision (8 bits or fewer each)."""
    bits = img.tag_v2.get(_TIFF_BITS_PER_SAMPLE, (1,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    samples = img.tag_v2.get(_TIFF_SAMPLES_PER_PIXEL, 1)
    return max(bits) <= 8 and samples == len(img.getbands())


def _is_tiff(path: str | Path) -> bool:
    with open(path, "rb") as file:
        return file.read(4) in _TIFF_MAGIC


def _read_tiff(path: str | Path, max_pixels: int) -> np.ndarray:
    """The first page of a TIFF as (H, W, bands), dtype as stored (tifffile: any band count and sample type).

    The TIFF orientation tag is not applied: data TIFFs (satellite, microscopy) are stored upright.
    """
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        axes = page.axes
        if sorted(axes) not in (["X", "Y"], ["S", "X", "Y"]):
            raise DataError(f"cannot read image {path}: TIFF page with axes {axes}; expected height, width and "
                            "optionally samples (bands)")
        height, width = page.shape[axes.index("Y")], page.shape[axes.index("X")]
        if height * width > max_pixels:
            raise DataError(f"image {path} is {width}x{height}, over the limit of {max_pixels} pixels")
        array = page.asarray()
    if "S" not in axes:
        return array
    return np.moveaxis(array, axes.index("S"), -1)


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(height, width) of an image as `load_image` returns it, from the file header alone (EXIF
    rotation included); None when the header cannot be read (loading the image will say why)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            by_tifffile = img.format == "TIFF" and not _pillow_reads_all_bands(img)  # no EXIF rotation there
            if not by_tifffile and _header_orientation(img) in _ORIENTATIONS_SWAPPING_SIDES:
                width, height = height, width
            return height, width
    except UnidentifiedImageError:
        return _tiff_size(path)
    except Exception:  # missing or corrupt: not this function's to report
        return None


def _tiff_size(path: str | Path) -> tuple[int, int] | None:
    """(height, width) of a TIFF that only tifffile reads, from its first page's tags; None if not one."""
    try:
        if not _is_tiff(path):
            return None
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            return page.shape[page.axes.index("Y")], page.shape[page.axes.index("X")]
    except Exception:  # corrupt: loading the image will say why
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
                    f"mask {path} has mode {img.mode}; expected a single-channel (palette or grayscale) PNG "
                    "(colour-coded masks: set dataset.palette=[[r, g, b], ...], one colour per class, or "
                    "dataset.palette=voc for VOC's colours; colours to ignore go in dataset.void_colors, e.g. "
                    "dataset.void_colors=[[224,224,192]] for VOC's void)"
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
            f"(ignore index {ignore_index}); fix the mask, map the values with dataset.label_map, or count them "
            "as classes with dataset.task=multiclass dataset.num_classes=N"
        )


def list_images(paths: list[str], skip: Path | None = None,
                on_missing: Callable[[Path], None] | None = None,
                exclude: Callable[[Path], bool] | None = None) -> list[Path]:
    """Expand files and folders (recursively, sorted) into image files, each file once, in the order given.

    A folder's files under `skip` (predict's output folder, when it lies inside an input folder), or for which
    `exclude` is true (files an earlier predict wrote), are left out, so that a second run does not read the
    first one's outputs. A file given by name is always kept. A path that does not exist goes to `on_missing`;
    without one it is an error.
    """
    found: dict[Path, None] = {}  # an ordered set: a file given twice, or in two given folders, counts once
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(dict.fromkeys(p for p in _images_in(path, skip) if exclude is None or not exclude(p)))
        elif path.exists():
            found[path] = None
        elif on_missing is not None:
            on_missing(path)
        else:
            raise DataError(f"input not found: {path}")
    return list(found)


def _images_in(folder: Path, skip: Path | None) -> list[Path]:
    """The image files under `folder` (recursively, sorted), none of those under `skip` where `skip` lies
    inside `folder` (when `skip` is the folder itself, or elsewhere, nothing is left out)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if skip is None:
        return files
    folder, skip = folder.resolve(), skip.resolve()
    if skip == folder or not skip.is_relative_to(folder):
        return files
    return [p for p in files if not p.resolve().is_relative_to(skip)]
