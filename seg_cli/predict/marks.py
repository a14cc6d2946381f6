"""The mark `seg predict` writes into every output file (PNG text chunk, JPEG comment), so that a folder walk can
tell a previous run's outputs from the user's images even where they share a folder (`seg predict photos/
out=photos/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seg_cli.predict.writers import output_suffixes

OUTPUT_MARK = "seg predict"


def is_prediction_output(path: Path) -> bool:
    """Whether `path` is a file `seg predict` wrote (only its header is read)."""
    if path.suffix.lower() not in {Path(suffix).suffix for suffix in output_suffixes().values()}:
        return False
    from PIL import Image

    try:
        with Image.open(path) as image:
            mark = image.info.get("Software") or image.info.get("comment") or ""
    except (OSError, ValueError):  # unreadable: the walk keeps it, and predict reports it like any other input
        return False
    return (mark.decode("latin-1") if isinstance(mark, bytes) else str(mark)) == OUTPUT_MARK


def write_marked(image: Any, path: Path, **options: Any) -> None:
    """Save `image` at `path` with OUTPUT_MARK in it."""
    from PIL import PngImagePlugin

    if path.suffix.lower() == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", OUTPUT_MARK)
        image.save(path, pnginfo=info, **options)
    else:
        image.save(path, comment=OUTPUT_MARK.encode(), **options)
