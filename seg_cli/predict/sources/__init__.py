"""The input sources of `seg predict`: one module per input kind (seg_cli.predict.sources.base.Source).

`images` reads image files and folders, `video` video files (and the videos inside folders: a folder goes to
every kind that finds its files in it). A new kind is one module beside them defining `SOURCE`, a Source
subclass that `claims` its inputs and overrides `items` (or `batches`), `store` and `close`; build_sources finds
it by listing this folder.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from seg_cli.choices import package_modules
from seg_cli.errors import DataError
from seg_cli.predict.options import PredictOptions
from seg_cli.predict.sources.base import Source
from seg_cli.predict.sources.images import ImageSource

__all__ = ["Source", "build_sources"]

FALLBACK = "images"  # takes every input that no other kind claims


def build_sources(inputs: list[str], out_dir: Path, max_pixels: int, options: PredictOptions | None = None
                  ) -> list[Source]:
    """One source per kind of input among `inputs` (each file to the first kind that claims it, in the order of
    package_modules, `images` last; a folder to every kind that finds its files in it), each naming its outputs
    before anything is written; `options`: the `predict:` section (video frame selection)."""
    options = options or PredictOptions()
    sources: list[Source] = []
    left = list(inputs)
    shared: set[str] = set()  # folders another kind claimed: images take them only where they hold images
    for kind in package_modules("predict/sources"):
        if kind == FALLBACK:
            continue
        source_class = importlib.import_module(f"{__name__}.{kind}").SOURCE
        claimed = [path for path in left if source_class.claims(path)]
        source = source_class(claimed, out_dir, max_pixels, options) if claimed else None
        if source is not None and (len(source) or source.not_found):  # none: its folders held only outputs
            sources.append(source)
            shared |= {path for path in claimed if Path(path).is_dir()}
            left = [path for path in left if path not in claimed or path in shared]
    if left or not sources:
        try:
            sources.append(ImageSource(left, out_dir, max_pixels, options))
        except DataError:
            if not left or not set(left) <= shared:  # a folder of videos only holds no images: not an error
                raise
    return sources
