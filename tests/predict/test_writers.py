"""Each `save=` writer draws what it should from a hand-made decoded result; the registry is the choices table."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_cli.choices import PREDICT_SAVE
from seg_cli.errors import ConfigError
from seg_cli.predict.decoded import Decoded
from seg_cli.predict.marks import is_prediction_output
from seg_cli.predict.sources.base import save_file
from seg_cli.predict.writers import build_writers, output_suffixes, writer_class
from seg_cli.tasks import get_task

COLOURS = [[0, 0, 0], [200, 0, 0], [0, 100, 0]]
MASK = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
PROB = np.array([[0.2, 0.5, 1.0], [0.0, 0.9, 0.6]])
GREY = (100, 100, 100)


def decoded(task: str = "multiclass", mask: np.ndarray = MASK) -> Decoded:
    return Decoded(Image.new("RGB", (3, 2), GREY), PROB, mask, get_task(task), COLOURS)


def picture(kind: str, result: Decoded, **settings) -> Image.Image:
    [writer] = build_writers([kind], **settings)
    return writer.picture(result)


def test_the_registry_is_the_choices_table():
    folder = Path(sys.modules["seg_cli.predict.writers"].__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "base"}
    assert modules == set(PREDICT_SAVE)
    assert all(writer_class(name).name == name for name in PREDICT_SAVE)
    suffixes = list(output_suffixes().values())
    assert len(set(suffixes)) == len(suffixes)


def test_an_unknown_kind_is_a_config_error_naming_the_kinds():
    with pytest.raises(ConfigError, match="save='video' is not allowed; choose from: mask, color, cutout"):
        writer_class("video")


def test_mask_is_the_tasks_mask_picture():
    multiclass = picture("mask", decoded())
    assert multiclass.mode == "P" and np.asarray(multiclass).tolist() == MASK.tolist()
    assert multiclass.getpalette()[:9] == [c for colour in COLOURS for c in colour]
    binary = picture("mask", decoded("binary", (MASK > 0).astype(np.uint8)))
    assert binary.mode == "L" and np.asarray(binary).tolist() == [[0, 255, 255], [255, 255, 0]]


def test_color_paints_each_class_its_colour():
    colour = picture("color", decoded())
    assert colour.mode == "RGB"
    assert np.asarray(colour).tolist() == [[COLOURS[label] for label in row] for row in MASK.tolist()]


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_overlay_tints_the_foreground_by_overlay_alpha(alpha):
    tinted = np.asarray(picture("overlay", decoded(), overlay_alpha=alpha)).astype(float)
    for (y, x), label in np.ndenumerate(MASK):
        want = GREY if label == 0 else [round((1 - alpha) * g + alpha * c) for g, c in zip(GREY, COLOURS[label])]
        assert tinted[y, x].tolist() == list(want)
    assert writer_class("overlay").options == {"quality": 90}


def test_prob_is_the_8_bit_probability():
    prob = picture("prob", decoded("binary"))
    assert prob.mode == "L" and np.asarray(prob).tolist() == [[51, 128, 255], [0, 230, 153]]


def test_cutout_is_the_photo_with_the_probability_as_alpha():
    cutout = np.asarray(picture("cutout", decoded("binary")))
    assert cutout.shape == (2, 3, 4)
    assert (cutout[..., :3] == GREY).all() and cutout[..., 3].tolist() == [[51, 128, 255], [0, 230, 153]]


def test_each_file_is_named_by_its_kind_and_marked(tmp_path):
    result = decoded()
    for writer in build_writers(list(PREDICT_SAVE), overlay_alpha=0.5):
        save_file(tmp_path / "sub" / "x", writer, result)
    names = sorted(p.name for p in (tmp_path / "sub").iterdir())
    assert names == sorted(f"x{suffix}" for suffix in output_suffixes().values())
    assert all(is_prediction_output(tmp_path / "sub" / name) for name in names)
