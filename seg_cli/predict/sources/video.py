"""`seg predict clip.mp4 [more.mov dir/]`: video files, decoded with PyAV, predicted in batches of frames.

Each input and output kind makes one video: a writer's picture per frame goes into `<stem><suffix>` with the
suffix's extension replaced by `.mp4` (`_overlay.mp4`, `_color.mp4`, `_prob.mp4`, `_alpha.mp4`,
`_composite.mp4`); the `mask` kind is a folder of index PNGs (`<stem>_frames/000000.png`, ...); `cutout` (the
RGBA picture) is written as `predict.alpha_video` says: `<stem>_alpha.webm` (VP9 yuva420p), `<stem>_alpha.mov`
(ProRes 4444) or `<stem>_rgba/000000.png` (png, also where alpha_video is null). The outputs keep the source's
timestamps (its exact rate; every_n_frames divides it), rotation and audio (seg_cli.predict.video_writers).

A folder input is searched (recursively) for videos as well as for images: its videos go here, its images to
the `images` source. Outputs an earlier `seg predict` wrote (marked in their container) are left out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seg_cli.errors import DataError
from seg_cli.predict.marks import is_prediction_output
from seg_cli.predict.naming import plan_stems
from seg_cli.predict.options import PredictOptions
from seg_cli.predict.sources.base import FileSource, Item
from seg_cli.predict.video_io import error_text, is_video
from seg_cli.predict.writers import output_suffixes

if TYPE_CHECKING:
    from seg_cli.predict.decoded import Decoded
    from seg_cli.predict.video_io import VideoReader
    from seg_cli.predict.writers.base import OutputWriter
    from seg_cli.tasks import Task

log = logging.getLogger("seg.predict")

# predict.alpha_video -> what `cutout` becomes for a video (png: a folder of RGBA frames).
ALPHA_SUFFIXES = {"webm": "_alpha.webm", "prores": "_alpha.mov", "png": "_rgba"}
FRAMES_SUFFIX = "_frames"  # save=mask: a folder of index PNGs


def video_suffix(kind: str, alpha_video: str | None) -> str:
    """What follows a video's output stem in the output of `kind` (a folder for frames)."""
    if kind == "mask":
        return FRAMES_SUFFIX
    if kind == "cutout":
        return ALPHA_SUFFIXES[alpha_video or "png"]
    return str(Path(output_suffixes()[kind]).with_suffix(".mp4"))


def video_suffixes() -> list[str]:
    """Every output a video may get (kept free by the output naming, whichever save= and alpha_video ask for)."""
    kinds = [video_suffix(kind, None) for kind in output_suffixes()] + list(ALPHA_SUFFIXES.values())
    return list(dict.fromkeys(kinds))


class VideoSource(FileSource):
    """The video files of the command line's `inputs` (and those inside its folders), named before any write."""

    noun = "video"

    def __init__(self, inputs: list[str], out_dir: Path, max_pixels: int, options: PredictOptions | None = None
                 ) -> None:
        self.options = options or PredictOptions()
        self.paths, self.missing = find_videos(inputs, out_dir)
        folders = [Path(p) for p in inputs if Path(p).is_dir()]
        self.stems = plan_stems(self.paths, folders, out_dir, video_suffixes())
        self.outputs: dict[str, Any] = {}  # kind -> the open output of the video being written
        self.reader: VideoReader | None = None
        self.failed: str | None = None  # why the video being written cannot be written
        self.said_padded = False  # the odd-size padding of the video being written is logged once
        self.videos = 0  # videos with at least one frame read
        self.pts: dict[int, int] = {}

    @classmethod
    def claims(cls, path: str) -> bool:
        """A video file, or a folder holding one."""
        folder = Path(path)
        if not folder.is_dir():
            return is_video(folder)
        return any(is_video(Path(name)) for _, _, names in os.walk(folder) for name in names)

    @classmethod
    def default_save(cls, task: Task, options: PredictOptions) -> list[str]:
        """The task's video outputs, index-mask frames with predict.frames, the RGBA cut-out with alpha_video."""
        return list(task.default_video_save) + ["mask"] * options.frames + ["cutout"] * bool(options.alpha_video)

    def summary(self, written: int) -> str:
        return f"{written} frame(s) of {self.videos} video(s)"

    def batches(self, channels: int) -> Iterator[list[Item]]:
        """Each video's frames, `predict.batch_size` at a time; a video that cannot be read (or written) ends with
        one item carrying the error, after the frames read before it (their outputs are finished and play)."""
        from seg_cli.predict.video_io import VideoReader

        for path in self.paths:
            try:
                self.reader = VideoReader(path)
            except DataError as exc:
                yield [Item(path, self.stems[path], error=str(exc))]
                continue
            error = None
            with self.reader:
                try:
                    error = yield from self._video_batches(path, channels)
                finally:  # also when the loop stops early: what was written stays a playable file
                    finished = self._finish(cut=error is not None or self.options.max_frames is not None)
            error = error or finished
            self.videos += bool(self.pts)
            if error:
                yield [Item(path, self.stems[path], error=error)]

    def _video_batches(self, path: Path, channels: int) -> Iterator[list[Item]]:
        """The batches of the open video; returns the error that ended it early, if any."""
        from tqdm import tqdm

        options, batch, error = self.options, [], None
        self.pts: dict[int, int] = {}  # output frame -> its source timestamp
        with tqdm(total=self._expected_frames(), desc=path.name, unit="frame", disable=None, leave=False) as bar:
            try:
                for frame in self.reader.frames(options.every_n_frames, options.max_frames):
                    self.pts[frame.index] = frame.pts
                    image = _tensor(frame.rgb, channels, path)
                    batch.append(Item(path, self.stems[path], image, frame=frame.index))
                    if len(batch) == options.batch_size:
                        yield batch
                        bar.update(len(batch))
                        batch = []
                        if self.failed:
                            return self.failed
            except DataError as exc:
                error = str(exc)  # the frames read before it are still predicted and stored
            if batch:
                yield batch
                bar.update(len(batch))
        return error or self.failed

    def _expected_frames(self) -> int | None:
        """The frames the bar counts to: the container's count after every_n and max_frames (None: unstated)."""
        stated = self.reader.info.frames
        if stated is None:
            return None
        kept = -(-stated // self.options.every_n_frames)
        return min(kept, self.options.max_frames) if self.options.max_frames else kept

    def store(self, item: Item, writer: OutputWriter, result: Decoded) -> None:
        """Add `writer`'s picture of the frame to its kind's output of the video (opened at the first frame)."""
        if self.failed:
            return
        try:
            output = self.outputs.get(writer.name) or self._open(item, writer.name)
            self._write(output, writer, result, item.frame)
        except Exception as exc:  # a write error of any library (disk, codec) ends this video only, in one line
            self.failed = f"{item.name}: cannot write its {writer.name} output: {error_text(exc)}"

    def _open(self, item: Item, kind: str) -> Any:
        from seg_cli.predict.video_writers import FrameFolder, VideoFileWriter

        path = self.stems[Path(item.name)]
        target = path.with_name(path.name + video_suffix(kind, self.options.alpha_video))
        if kind == "mask" or (kind == "cutout" and self.options.alpha_video in (None, "png")):
            output: Any = FrameFolder(target)
        else:
            fmt = self.options.alpha_video if kind == "cutout" else "h264"
            info = self.reader.info
            output = VideoFileWriter(target, Path(item.name), info, self.reader.rotation,
                                     info.rate / self.options.every_n_frames, fmt)
        self.outputs[kind] = output
        return output

    def _write(self, output: Any, writer: OutputWriter, result: Decoded, frame: int) -> None:
        from seg_cli.predict.video_writers import FrameFolder, picture_array

        picture = writer.picture(result)
        if isinstance(output, FrameFolder):
            output.write(picture, frame)
            return
        output.write(picture_array(picture), self.pts[frame])
        if output.padded and not self.said_padded:
            width, height = output.stream.width, output.stream.height
            log.info("%s: odd size %dx%d padded to %dx%d in its 4:2:0 videos (the last row/column repeated)",
                     self.reader.path.name, self.reader.info.width, self.reader.info.height, width, height)
            self.said_padded = True

    def _finish(self, cut: bool) -> str | None:
        """Close the video's outputs (`cut`: its audio ends with its last frame); the error of one that fails."""
        error = None
        for kind, output in self.outputs.items():
            try:
                output.close(cut)
            except Exception as exc:  # as in store
                error = error or f"{self.reader.path}: cannot finish its {kind} output: {error_text(exc)}"
        self.outputs, self.failed, self.said_padded = {}, None, False
        return error


def find_videos(inputs: list[str], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """(video files, inputs that do not exist): the named files, and the videos inside named folders (sorted;
    `out_dir` and the outputs of an earlier `seg predict` left out)."""
    videos: list[Path] = []
    missing: list[Path] = []
    skip = out_dir.resolve()
    for name in inputs:
        path = Path(name)
        if path.is_dir():  # out= the folder itself: its videos are inputs (the output names keep clear of them)
            inside = skip != path.resolve()
            found = sorted(p for p in path.rglob("*") if is_video(p) and p.is_file()
                           and not (inside and p.resolve().is_relative_to(skip)) and not is_prediction_output(p))
            videos.extend(found)
        elif path.is_file():
            videos.append(path)
        else:
            missing.append(path)
            log.error("input not found: %s", path)
    return videos, missing


def _tensor(rgb: Any, channels: int, path: Path) -> Any:
    """A frame as the (C, H, W) uint8 tensor predict takes (grey models: its luma)."""
    import torch

    from seg_cli.data.bands import match_bands

    return match_bands(torch.from_numpy(rgb).permute(2, 0, 1), channels, str(path))


SOURCE = VideoSource
