"""Tiny matting sets in the exact on-disk layouts of P3M-10k, AM-2k, PPM-100 and AISegment (HK and the folder
layout are tests.data.fixtures'): soft mattes (an ellipse with a blurred edge, so alpha strictly between 0 and 1
appears), validation trimaps where the set ships them, AISegment's RGBA mattes in differently named sub-folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def soft_sample(index: int, size: tuple[int, int] = (36, 44)) -> tuple[np.ndarray, np.ndarray]:
    """An RGB photo of a yellow blob over noise, composited by its soft uint8 matte (returned too)."""
    h, w = size
    rng = np.random.default_rng(100 + index)
    matte = Image.new("L", (w, h), 0)
    left, top = 3 + index % 5, 2 + index % 4
    ImageDraw.Draw(matte).ellipse([left, top, left + w // 2, top + h // 2], fill=255)
    alpha = np.asarray(matte.filter(ImageFilter.GaussianBlur(2.0)))
    fg, bg = np.array([230.0, 220, 40]), rng.integers(0, 120, (h, w, 3)).astype(np.float64)
    a = alpha[..., None] / 255
    return (a * fg + (1 - a) * bg).round().astype(np.uint8), alpha


def trimap_of(alpha: np.ndarray) -> np.ndarray:
    """A hand-drawn-like trimap: 255 opaque, 0 transparent, 128 the rest."""
    return np.where(alpha == 255, 255, np.where(alpha == 0, 0, 128)).astype(np.uint8)


def _write(folder_image: Path, folder_matte: Path, name: str, index: int, image_ext: str = ".jpg",
           trimap_folder: Path | None = None) -> None:
    image, alpha = soft_sample(index)
    for folder in (folder_image, folder_matte, trimap_folder):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(folder_image / f"{name}{image_ext}", quality=95)
    Image.fromarray(alpha).save(folder_matte / f"{name}.png")
    if trimap_folder is not None:
        Image.fromarray(trimap_of(alpha)).save(trimap_folder / f"{name}.png")


def write_p3m10k(root: Path, n_train: int = 4, n_val: int = 2) -> Path:
    """<root>/train/{blurred_image,mask}, validation/P3M-500-P/{blurred_image,mask,trimap},
    validation/P3M-500-NP/{original_image,mask,trimap}; returns root."""
    for i in range(n_train):
        _write(root / "train" / "blurred_image", root / "train" / "mask", f"p_{i:04d}", i)
    for sub, images in (("P3M-500-P", "blurred_image"), ("P3M-500-NP", "original_image")):
        base = root / "validation" / sub
        for i in range(n_val):
            _write(base / images, base / "mask", f"{sub[-2:]}_{i:04d}", 10 + i, trimap_folder=base / "trimap")
    return root


def write_am2k(root: Path, n_train: int = 4, n_val: int = 2) -> Path:
    """<root>/train/{original,mask} and validation/{original,mask,trimap}; returns root."""
    for i in range(n_train):
        _write(root / "train" / "original", root / "train" / "mask", f"m_{i:04d}", i)
    for i in range(n_val):
        base = root / "validation"
        _write(base / "original", base / "mask", f"v_{i:04d}", 20 + i, trimap_folder=base / "trimap")
    return root


def write_ppm100(root: Path, n: int = 3) -> Path:
    """<root>/image/*.jpg and <root>/matte/*.png; returns root."""
    for i in range(n):
        _write(root / "image", root / "matte", f"{i:05d}_{1000 + i}", 30 + i)
    return root


def write_aisegment(root: Path, n: int = 10) -> Path:
    """<root>/clip_img/<group>/clip_<k>/<id>.jpg and <root>/matting/<group>/matting_<k>/<id>.png (RGBA: the
    alpha channel is the matte, the colour the photo's); returns root."""
    for i in range(n):
        group, clip = f"18031{i // 4:05d}", f"{i % 2:08d}"
        name = f"{group}-{i:08d}"
        image, alpha = soft_sample(i)
        images = root / "clip_img" / group / f"clip_{clip}"
        mattes = root / "matting" / group / f"matting_{clip}"
        images.mkdir(parents=True, exist_ok=True)
        mattes.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(images / f"{name}.jpg", quality=95)
        Image.fromarray(np.dstack([image, alpha])).save(mattes / f"{name}.png")
    return root


def write_matting_folder(root: Path, n: int = 10, bits: int = 8) -> Path:
    """<root>/images/<id>.jpg with <root>/masks/<id>.png grey mattes of 8 or 16 bits; returns root."""
    for i in range(n):
        image, alpha = soft_sample(i)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "images" / f"img_{i:03d}.jpg", quality=95)
        stored = alpha if bits == 8 else (alpha.astype(np.uint16) * 257)
        Image.fromarray(stored).save(root / "masks" / f"img_{i:03d}.png")
    return root
