"""Each command-line input goes to the source kind that claims it, images taking the rest: a new input kind is
one module in seg_cli/predict/sources/ defining SOURCE, found by listing that folder."""

import types

import numpy as np
from PIL import Image

from seg_cli.predict import sources
from seg_cli.predict.sources.base import Source
from seg_cli.predict.sources.images import ImageSource


class ClipFiles(Source):
    """A stand-in video kind: claims `.clip` files."""

    def __init__(self, inputs, out_dir, max_pixels, options=None):
        self.paths = inputs

    def __len__(self) -> int:
        return len(self.paths)

    @classmethod
    def claims(cls, path: str) -> bool:
        return path.endswith(".clip")


def write_photo(path):
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(path)
    return str(path)


def test_images_take_every_input_when_no_other_kind_exists(tmp_path):
    built = sources.build_sources([write_photo(tmp_path / "a.png")], tmp_path / "out", 10**8)
    assert [type(s) for s in built] == [ImageSource] and len(built[0]) == 1


def test_a_kind_found_in_the_folder_claims_its_inputs(tmp_path, monkeypatch):
    module = types.ModuleType("seg_cli.predict.sources.clips")
    module.SOURCE = ClipFiles
    monkeypatch.setitem(__import__("sys").modules, module.__name__, module)
    monkeypatch.setattr(sources, "package_modules", lambda folder: ("clips", "images"))
    clip = str(tmp_path / "walk.clip")
    built = sources.build_sources([clip, write_photo(tmp_path / "a.png")], tmp_path / "out", 10**8)
    assert [type(s) for s in built] == [ClipFiles, ImageSource]
    assert built[0].paths == [clip] and len(built[1]) == 1
    only_clips = sources.build_sources([clip], tmp_path / "out", 10**8)
    assert [type(s) for s in only_clips] == [ClipFiles]
