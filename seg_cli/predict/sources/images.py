"""`seg predict IMG|DIR ...`: image files and folders (searched recursively); the CLI expands `@list` files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from seg_cli.errors import DataError
from seg_cli.predict.marks import is_prediction_output
from seg_cli.predict.naming import plan_stems
from seg_cli.predict.options import PredictOptions
from seg_cli.predict.sources.base import FileSource, Item

log = logging.getLogger("seg.predict")


class ImageSource(FileSource):
    """The image files of the command line's `inputs`, each named for output before anything is written.

    Left out: `out_dir` where it lies inside an input folder, and the files an earlier `seg predict` wrote. Paths
    that do not exist are logged and counted; none found at all is a DataError.
    """

    def __init__(self, inputs: list[str], out_dir: Path, max_pixels: int, options: PredictOptions | None = None
                 ) -> None:
        self.paths, self.missing = find_inputs(inputs, out_dir)
        self.stems = plan_stems(self.paths, [Path(p) for p in inputs if Path(p).is_dir()], out_dir)
        self.max_pixels = max_pixels

    def items(self, channels: int) -> Iterator[Item]:
        from seg_cli.data.io import load_image

        for path in self.paths:
            try:
                item = Item(path, self.stems[path], load_image(path, self.max_pixels, channels))
            except DataError as exc:
                item = Item(path, self.stems[path], error=str(exc))
            yield item


def find_inputs(inputs: list[str], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """(image files, paths that do not exist) of the command line's inputs, leaving out `out_dir` where it lies
    inside an input folder; each path not found is logged as an input that cannot be read."""
    from seg_cli.data.io import list_images

    missing: list[Path] = []
    earlier: list[Path] = []

    def earlier_output(path: Path) -> bool:
        marked = is_prediction_output(path)
        if marked:
            earlier.append(path)
        return marked

    images = list_images(inputs, skip=out_dir, on_missing=missing.append, exclude=earlier_output)
    if earlier:
        log.info("left out %d file(s) an earlier seg predict wrote, e.g. %s", len(earlier), earlier[0])
    if not images and missing:
        raise DataError(f"input not found: {', '.join(map(str, missing))}")
    if not images:
        raise DataError(f"no image files found in {', '.join(inputs)}")
    for path in missing:
        log.error("input not found: %s", path)
    return images, missing


SOURCE = ImageSource
