"""What `seg predict` writes for each image, and under which names.

Names are decided for all inputs before anything is written. Outputs are named after their input, keeping
the sub-folder of an input folder (`photos/a/x.jpg` -> `OUT/a/x.png`, `OUT/a/x_overlay.jpg`, ...), except:

- inputs that would share a name (`x.bmp` and `x.png` in one folder; `a/x.png` and `b/x.png` given together)
  all keep their extension in it: `x_bmp.png`, `x_png.png`, ...;
- an input whose outputs would land on an input file (`seg predict DIR out=DIR`: the mask of `x.png` is
  `x.png`), or on any file (or link) that an earlier `seg predict` did not write (a photo beside a named
  input, an image already in the out= folder), keeps its extension likewise: `x_png.png`, `x_png_overlay.jpg`;
- where that name is taken as well, a number follows (`x_png_2.png`), in input order.

Names are compared ignoring case, as macOS and Windows file systems do. No torch import here: the command
module imports this before it loads torch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seg_cli.tasks import get_task

log = logging.getLogger(__name__)

# Every file `seg predict` can write for an image, after its output stem (`save=` chooses among them).
OUTPUT_SUFFIXES = {"mask": ".png", "color": "_color.png", "overlay": "_overlay.jpg", "prob": "_prob.png",
                   "cutout": "_cutout.png"}


# Written into every output file (PNG text chunk, JPEG comment), so that a folder walk can tell a previous run's
# outputs from the user's images even where they share a folder (`seg predict photos/ out=photos/`).
OUTPUT_MARK = "seg predict"


def is_prediction_output(path: Path) -> bool:
    """Whether `path` is a file `seg predict` wrote (only its header is read)."""
    if path.suffix.lower() not in {Path(suffix).suffix for suffix in OUTPUT_SUFFIXES.values()}:
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


def output_path(stem: Path, kind: str) -> Path:
    """The file of output `kind` for the image whose outputs are named `stem`."""
    return stem.with_name(stem.name + OUTPUT_SUFFIXES[kind])


def natural_stem(image: Path, folders: list[Path], out_dir: Path) -> Path:
    """`out_dir`/name of `image` without its suffix; under the first of `folders` holding it, with its
    sub-folder there."""
    for folder in folders:
        if image.is_relative_to(folder):
            return out_dir / image.relative_to(folder).with_suffix("")
    return out_dir / image.stem


def plan_stems(images: list[Path], folders: list[Path], out_dir: Path) -> dict[Path, Path]:
    """{image: output stem} for every image (see the module docstring): no two images share an output file,
    and no output file is an input image or any other file that a `seg predict` did not write."""
    out_dir = out_dir.resolve()  # so that outputs and inputs compare as the same files where they are
    naturals = [natural_stem(image, folders, out_dir) for image in images]
    shared = Counter(_key(stem) for stem in naturals)
    taken = {_key(path) for image in images for path in (image.absolute(), image.resolve())}
    plan: dict[Path, Path] = {}
    for image, natural in zip(images, naturals, strict=True):
        for stem in _candidates(image, natural, shared[_key(natural)] > 1):
            paths = [output_path(stem, kind) for kind in OUTPUT_SUFFIXES]
            files = {_key(path) for path in paths}
            if not files & taken and not any(_foreign(path) for path in paths):
                taken |= files
                plan[image] = stem
                break
    _log_renamed(plan, dict(zip(images, naturals, strict=True)))
    return plan


def _foreign(path: Path) -> bool:
    """Whether `path` holds a file (or a link) that an earlier `seg predict` did not write: never written over,
    whether or not it is an input (a user's photo beside the inputs, an image in the out= folder)."""
    return (path.exists() or path.is_symlink()) and (path.is_symlink() or not is_prediction_output(path))


def _candidates(image: Path, natural: Path, shared: bool) -> Iterator[Path]:
    """Output stems for `image` in order of preference: its natural one (unless another input shares it),
    with its extension, then numbered."""
    if not shared:
        yield natural
    extension = image.suffix.lstrip(".")
    base = natural.with_name(f"{natural.name}_{extension}") if extension else natural
    yield base
    number = 2
    while True:
        yield base.with_name(f"{base.name}_{number}")
        number += 1


def _key(path: Path) -> str:
    """A path as compared for clashes: case-insensitive file systems make `X.png` and `x.png` one file."""
    return str(path).casefold()


def _log_renamed(plan: dict[Path, Path], naturals: dict[Path, Path]) -> None:
    renamed = [image for image, stem in plan.items() if stem != naturals[image]]
    if renamed:
        first = renamed[0]
        log.info("%d input(s) share their name with another input or an input file; their outputs keep the "
                 "extension, e.g. %s -> %s", len(renamed), first, output_path(plan[first], "mask"))


def save_outputs(stem: Path, rgb: Any, logits: Any, task: str, save: list[str], overlay_alpha: float,
                 colours: list | None = None, threshold: float = 0.5) -> None:
    """Write the requested files for one image from its (1, C, H, W) logits, in the dataset's class `colours`
    (its `palette`; VOC's colour map where it has none); binary masks are foreground where prob >= `threshold`.

    mask: class-index palette PNG (binary: 0/255); color: RGB colour mask; overlay: photo tinted by the
    mask; prob: 8-bit probability (binary: foreground; multi-class: of the predicted class);
    cutout: RGBA photo with alpha = foreground probability (binary only).
    """
    import numpy as np
    from PIL import Image

    from seg_cli.data.palette import overlay, palette_image

    stem.parent.mkdir(parents=True, exist_ok=True)
    decoder = get_task(task)  # the task's one rule of probability and mask
    prob, mask = decoder.decode(logits, threshold)
    prob8 = Image.fromarray((prob * 255).round().astype(np.uint8), mode="L")
    for kind in save:
        path = output_path(stem, kind)
        if kind == "mask":
            write_marked(decoder.mask_picture(mask, colours), path)
        elif kind == "color":
            write_marked(palette_image(mask, colours).convert("RGB"), path)
        elif kind == "overlay":
            write_marked(overlay(rgb, mask, overlay_alpha, colours), path, quality=90)
        elif kind == "prob":
            write_marked(prob8, path)
        elif kind == "cutout":
            cutout = rgb.convert("RGBA")
            cutout.putalpha(prob8)
            write_marked(cutout, path)
