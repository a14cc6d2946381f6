"""Where `seg predict` writes each input's outputs: names decided for all inputs before anything is written.

Outputs are named after their input, keeping the sub-folder of an input folder (`photos/a/x.jpg` ->
`OUT/a/x.png`, `OUT/a/x_overlay.jpg`, ...), except:

- inputs that would share a name (`x.bmp` and `x.png` in one folder; `a/x.png` and `b/x.png` given together)
  all keep their extension in it: `x_bmp.png`, `x_png.png`, ...;
- an input whose outputs would land on an input file (`seg predict DIR out=DIR`: the mask of `x.png` is
  `x.png`), or on any file (or link) that an earlier `seg predict` did not write (a photo beside a named
  input, an image already in the out= folder), keeps its extension likewise: `x_png.png`, `x_png_overlay.jpg`;
- where that name is taken as well, a number follows (`x_png_2.png`), in input order.

Every output kind's file is kept free (seg_cli.predict.writers), whichever `save=` asks for. Names are compared
ignoring case, as macOS and Windows file systems do. No torch import here: the command module imports this
before it loads torch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from seg_cli.predict.marks import is_prediction_output
from seg_cli.predict.writers import output_suffixes

log = logging.getLogger("seg.predict")

# Every file `seg predict` can write for an image, after its output stem (`save=` chooses among them).
OUTPUT_SUFFIXES = output_suffixes()


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


def plan_stems(images: list[Path], folders: list[Path], out_dir: Path, suffixes: list[str] | None = None
               ) -> dict[Path, Path]:
    """{image: output stem} for every image (see the module docstring): no two images share an output file,
    and no output file is an input image or any other file that a `seg predict` did not write. `suffixes`: what
    follows the stem in every output an input may get (default: an image's, OUTPUT_SUFFIXES)."""
    suffixes = list(OUTPUT_SUFFIXES.values()) if suffixes is None else suffixes
    out_dir = out_dir.resolve()  # so that outputs and inputs compare as the same files where they are
    naturals = [natural_stem(image, folders, out_dir) for image in images]
    shared = Counter(_key(stem) for stem in naturals)
    taken = {_key(path) for image in images for path in (image.absolute(), image.resolve())}
    plan: dict[Path, Path] = {}
    for image, natural in zip(images, naturals, strict=True):
        for stem in _candidates(image, natural, shared[_key(natural)] > 1):
            paths = [stem.with_name(stem.name + suffix) for suffix in suffixes]
            files = {_key(path) for path in paths}
            if not files & taken and not any(_foreign(path) for path in paths):
                taken |= files
                plan[image] = stem
                break
    _log_renamed(plan, dict(zip(images, naturals, strict=True)), suffixes[0])
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


def _log_renamed(plan: dict[Path, Path], naturals: dict[Path, Path], suffix: str) -> None:
    renamed = [image for image, stem in plan.items() if stem != naturals[image]]
    if renamed:
        first = renamed[0]
        log.info("%d input(s) share their name with another input or an input file; their outputs keep the "
                 "extension, e.g. %s -> %s", len(renamed), first, plan[first].with_name(plan[first].name + suffix))
