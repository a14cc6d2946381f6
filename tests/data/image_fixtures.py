"""Images beyond 8-bit RGB for tests: 16-bit PNGs (written by hand: Pillow cannot write 16-bit colour) and
folder datasets of multi-band TIFFs (tifffile) or 16-bit grey PNGs, each with a learnable bright block."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # bands -> grey, grey + alpha, RGB, RGBA


def write_png16(path: Path, pixels: np.ndarray) -> Path:
    """A 16-bit PNG of (H, W) or (H, W, bands) uint16 pixels, 1 to 4 bands."""
    array = np.asarray(pixels, dtype=">u2")
    height, width = array.shape[:2]
    bands = 1 if array.ndim == 2 else array.shape[2]
    rows = b"".join(b"\x00" + array[y].tobytes() for y in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, _PNG_COLOUR_TYPES[bands], 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))
    return path


def block_sample(index: int, size: tuple[int, int], bands: int, peak: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, bands) noise with a bright block in every band and its 0/1 mask; the block moves with `index`."""
    h, w = size
    rng = np.random.default_rng(index)
    mask = np.zeros((h, w), np.uint8)
    top, left = 2 + index % 5, 3 + index % 7
    mask[top : top + h // 2, left : left + w // 2] = 1
    image = rng.integers(0, peak // 3, (h, w, bands)).astype(dtype)
    image[mask == 1] = np.linspace(peak * 0.7, peak, bands).astype(dtype)
    return image, mask


def write_tiff_folder(root: Path, n: int = 6, size: tuple[int, int] = (32, 40), bands: int = 4,
                      dtype=np.uint16) -> Path:
    """<root>/images/<id>.tif (`bands` samples per pixel, tifffile) with <root>/masks/<id>.png (0/1)."""
    import tifffile

    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    peak = np.iinfo(dtype).max
    for i in range(n):
        image, mask = block_sample(i, size, bands, peak, dtype)
        tifffile.imwrite(root / "images" / f"img_{i:03d}.tif", image, photometric="minisblack", planarconfig="contig")
        Image.fromarray(mask).save(root / "masks" / f"img_{i:03d}.png")
    return root


def write_grey16_folder(root: Path, n: int = 6, size: tuple[int, int] = (32, 40)) -> Path:
    """<root>/images/<id>.png (16-bit grey, values up to 60000) with <root>/masks/<id>.png (0/1)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image, mask = block_sample(i, size, 1, 60000, np.uint16)
        write_png16(root / "images" / f"img_{i:03d}.png", image[..., 0])
        Image.fromarray(mask).save(root / "masks" / f"img_{i:03d}.png")
    return root
