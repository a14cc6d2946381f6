"""What every input source of `seg predict` answers: its inputs, its items, and where their outputs go."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seg_cli.predict.marks import write_marked
from seg_cli.predict.naming import output_path

if TYPE_CHECKING:
    from seg_cli.predict.decoded import Decoded
    from seg_cli.predict.options import PredictOptions
    from seg_cli.predict.writers.base import OutputWriter
    from seg_cli.tasks import Task


@dataclass
class Item:
    """One image to predict (a file; a video source: one frame), or why it could not be read.

    `stem` names its outputs (seg_cli.predict.naming); `image` is a (C, H, W) tensor as seg_cli.data.io reads
    it; `error` (then `image` is None) is reported and the item skipped.
    """

    name: Path | str
    stem: Path
    image: Any = None
    error: str | None = None
    frame: int = 0  # a video frame's index in its output (what a looped background video shows)


class Source:
    """Input of one kind, found before the model loads (so that a missing input fails first).

    A source yields items in batches (by default one item each: images may differ in size); the loop hands each
    item's writer outputs back to `store`, which by default saves one marked file per item and kind at the
    item's stem. A source writing otherwise (frames into one video per input) overrides `store` and `close`.
    """

    noun = "image"  # what it counts in logs and the summary line

    @classmethod
    def default_save(cls, task: Task, options: PredictOptions) -> list[str]:
        """The `save=` kinds written for its inputs when `save=` is not given."""
        return list(task.default_save)

    @classmethod
    def claims(cls, path: str) -> bool:
        """Whether a command-line input is of this kind (a video source: a video file). The `images` source
        takes every input no other kind claims."""
        return False

    def __len__(self) -> int:
        """The images it will yield (what `predicting N image(s)` counts)."""
        raise NotImplementedError

    @property
    def inputs(self) -> int:
        """The inputs named, those that could not be found included (what `N of M input(s)` counts)."""
        raise NotImplementedError

    @property
    def not_found(self) -> int:
        """The inputs named that do not exist (logged when the source was built; they fail the run at the end)."""
        return 0

    def items(self, channels: int) -> Iterator[Item]:
        """Each item, its image read with `channels` bands (the model's dataset.in_channels)."""
        raise NotImplementedError

    def batches(self, channels: int) -> Iterator[list[Item]]:
        """The items as the model takes them: a list of same-size images, or one item with its error."""
        for item in self.items(channels):
            yield [item]

    def summary(self, written: int) -> str:
        """What `written` items were, for the command's closing line."""
        return f"{written} {self.noun}(s)"

    def store(self, item: Item, writer: OutputWriter, result: Decoded) -> None:
        """Save `writer`'s picture of `item`'s result."""
        save_file(item.stem, writer, result)

    def close(self) -> None:
        """Finish what `store` left open (nothing, for per-image files)."""


class FileSource(Source):
    """Input files named on the command line: `paths` found (one item each, or a video's frames), `missing` not."""

    paths: list[Path]
    missing: list[Path]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def inputs(self) -> int:
        return len(self.paths) + len(self.missing)

    @property
    def not_found(self) -> int:
        return len(self.missing)


def save_file(stem: Path, writer: OutputWriter, result: Decoded) -> None:
    """Save `writer`'s picture of `result` as the marked file of its kind beside `stem`."""
    path = output_path(stem, writer.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_marked(writer.picture(result), path, **writer.options)
