"""The library predict loop: a throw-away input source, defined here, drives it with a tiny random model. A new
input kind (a video) is thus one Source subclass beside seg_cli.predict.sources.images."""

import logging
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.errors import ConfigError
from seg_cli.predict.naming import output_path
from seg_cli.predict.predictor import Predictor, onnx_predictor
from seg_cli.predict.run import predict_source
from seg_cli.predict.sources.base import Item, Source
from seg_cli.predict.writers import build_writers
from seg_cli.tasks import get_task

SIZES = [(20, 14), (9, 17)]  # (width, height) of the in-memory images


class MemorySource(Source):
    """Two in-memory images and one that 'could not be read'; files per image, as the default store writes."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def __len__(self) -> int:
        return 3

    @property
    def inputs(self) -> int:
        return 3

    def items(self, channels: int) -> Iterator[Item]:
        for index, (width, height) in enumerate(SIZES):
            pixels = torch.randint(0, 256, (channels, height, width), dtype=torch.uint8)
            yield Item(f"memory {index}", self.out_dir / f"image{index}", pixels)
        yield Item("memory 2", self.out_dir / "image2", error="memory 2: cannot be read")


class ClipSource(MemorySource):
    """Frames of one clip, stored together as a video source would: kept per kind, written at close."""

    def __init__(self, out_dir):
        super().__init__(out_dir)
        self.frames: dict[str, list] = {}
        self.closed = False

    def items(self, channels: int) -> Iterator[Item]:
        for frame in range(2):
            yield Item(f"clip frame {frame}", self.out_dir / "clip",
                       torch.full((channels, 12, 16), 40 * frame, dtype=torch.uint8))

    def store(self, item, writer, result) -> None:
        self.frames.setdefault(writer.name, []).append(writer.picture(result))

    def close(self) -> None:
        self.closed = True


def tiny_predictor(num_classes: int = 3, task: str = "multiclass") -> Predictor:
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, get_task(task).output_channels(num_classes), 1).eval()
    dataset = {"base_size": 16, "num_classes": num_classes, "task": task, "palette": None}
    return Predictor(model, dataset, "a random model")


def test_a_source_defined_here_drives_the_loop_and_writes_files(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="seg.predict")
    writers = build_writers(["mask", "overlay", "prob"], overlay_alpha=0.5)
    written, failed = predict_source(MemorySource(tmp_path), tiny_predictor(), writers)
    assert (written, failed) == (2, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        output_path(tmp_path / f"image{i}", kind).name for i in range(2) for kind in ("mask", "overlay", "prob"))
    for index, size in enumerate(SIZES):
        mask = Image.open(output_path(tmp_path / f"image{index}", "mask"))
        assert mask.size == size and mask.mode == "P" and np.asarray(mask).max() < 3
    assert "predicting 3 image(s) with a random model" in caplog.text
    assert "memory 2: cannot be read" in caplog.text


def test_a_source_may_store_its_outputs_itself(tmp_path):
    source = ClipSource(tmp_path)
    written, failed = predict_source(source, tiny_predictor(1, "binary"), build_writers(["mask", "cutout"]),
                                     threshold=0.5)
    assert (written, failed) == (2, 0) and source.closed and list(tmp_path.iterdir()) == []
    assert [len(source.frames[kind]) for kind in ("mask", "cutout")] == [2, 2]
    assert source.frames["cutout"][0].mode == "RGBA" and source.frames["mask"][1].size == (16, 12)


def test_thresholds_belong_to_the_thresholded_task_only(caplog):
    caplog.set_level(logging.INFO, logger="seg.predict")
    assert tiny_predictor().threshold(None) == 0.5 and "binary masks" not in caplog.text
    assert tiny_predictor(1, "binary").threshold(0.3) == 0.3
    assert "binary masks: foreground where prob >= 0.3000" in caplog.text


def test_onnx_without_a_model_file_names_the_key():
    with pytest.raises(ConfigError, match="backend=onnx needs model_file=PATH"):
        onnx_predictor(None)


@pytest.mark.parametrize("task, classes, infer", [("multiclass", 3, {}), ("binary", 1, {"flip": True}),
                                                  ("multiclass", 3, {"mode": "slide", "crop": 8, "stride": 6})])
def test_a_batch_of_frames_gives_what_each_frame_gives_alone(task, classes, infer):
    predictor = tiny_predictor(classes, task)
    predictor.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                          torch.nn.Conv2d(4, classes, 3, padding=1)).eval()
    predictor.infer = infer
    torch.manual_seed(1)
    frames = [torch.randint(0, 256, (3, 21, 30), dtype=torch.uint8) for _ in range(3)]
    batched = predictor.predict_batch(frames, threshold=0.5)
    for frame, result in zip(frames, batched, strict=True):
        alone = predictor.predict(frame, threshold=0.5)
        assert np.abs(result.prob - alone.prob).max() < 1e-5 and np.array_equal(result.mask, alone.mask)
        assert result.photo.size == (30, 21) and np.array_equal(np.asarray(result.photo), np.asarray(alone.photo))
