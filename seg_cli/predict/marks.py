"""The mark `seg predict` writes into every output file (PNG text chunk, JPEG comment), so that a folder walk can
tell a previous run's outputs from the user's images even where they share a folder (`seg predict photos/
out=photos/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seg_cli.predict.writers import output_suffixes

OUTPUT_MARK = "seg predict"


VIDEO_OUTPUTS = (".mp4", ".webm", ".mov")  # what a video input's outputs are encoded as (seg_cli.predict.video_writers)


def is_prediction_output(path: Path) -> bool:
    """Whether `path` is a file `seg predict` wrote (only its header is read): an image or a video carrying
    OUTPUT_MARK, or a folder of a video's frames holding such images only."""
    if path.is_dir():
        entries = list(path.iterdir())
        return bool(entries) and all(is_prediction_output(entry) for entry in entries)
    if path.suffix.lower() in VIDEO_OUTPUTS:
        return _marked_video(path)
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


def _marked_video(path: Path) -> bool:
    """Whether the container comment of the video at `path` is OUTPUT_MARK (Matroska spells the key COMMENT)."""
    import av

    try:
        with av.open(str(path)) as container:
            return any(key.lower() == "comment" and value == OUTPUT_MARK for key, value in container.metadata.items())
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False
