"""Each `save=` writer draws what it should from a hand-made decoded result; the registry is the choices table."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_cli.choices import PREDICT_SAVE
from seg_cli.errors import ConfigError, DataError
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
    with pytest.raises(ConfigError, match="save='video' is not allowed; choose from: mask, alpha, color, composite, cutout"):
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


# --- alpha outputs: alpha, cutout, composite (issue 24 part 3) ---------------------------------------------

from seg_cli.predict.options import PredictOptions  # noqa: E402

ALPHA = np.array([[0.0, 0.5, 1.0], [0.25, 0.75, 1 / 255]])


def matte(photo: Image.Image | None = None) -> Decoded:
    return Decoded(photo or Image.new("RGB", (3, 2), GREY), ALPHA, (ALPHA >= 0.5).astype(np.uint8),
                   get_task("binary"))


def test_alpha_is_the_alpha_in_8_or_16_bits():
    eight = picture("alpha", matte())
    assert eight.mode == "L" and np.asarray(eight).tolist() == [[0, 128, 255], [64, 191, 1]]
    sixteen = picture("alpha", matte(), options=PredictOptions(alpha_bits=16))
    assert sixteen.mode.startswith("I") and np.asarray(sixteen).tolist() == [[0, 32768, 65535], [16384, 49151, 257]]


def test_a_16_bit_alpha_survives_its_png(tmp_path):
    [writer] = build_writers(["alpha"], options=PredictOptions(alpha_bits=16))
    save_file(tmp_path / "x", writer, matte())
    with Image.open(tmp_path / "x_alpha.png") as saved:
        assert np.asarray(saved).astype(int).tolist() == [[0, 32768, 65535], [16384, 49151, 257]]


def test_composite_blends_the_photo_over_a_colour_by_the_alpha():
    blended = np.asarray(picture("composite", matte(), options=PredictOptions(background=[0, 0, 200])))
    expected = ALPHA[..., None] * np.array(GREY) + (1 - ALPHA[..., None]) * np.array([0, 0, 200])
    assert blended.shape == (2, 3, 3) and np.abs(blended - expected).max() <= 0.5 + 1e-9


def test_composite_over_an_image_covers_the_photo(tmp_path):
    backdrop = np.zeros((4, 12, 3), np.uint8)
    backdrop[:, 1:11] = (10, 20, 30)  # halved to 6x2 and centre-cropped to 3x2: the black edges are cut off
    Image.fromarray(backdrop).save(tmp_path / "beach.png")
    blended = np.asarray(picture("composite", matte(), options=PredictOptions(background=str(tmp_path / "beach.png"))))
    assert blended[0, 0].tolist() == [10, 20, 30]  # alpha 0: the backdrop alone


def test_a_bad_background_names_the_key():
    with pytest.raises(ConfigError, match=r"predict.background='nope' is neither a colour name"):
        picture("composite", matte(), options=PredictOptions(background="nope"))
    with pytest.raises(ConfigError, match=r"predict.background=\[1, 2\] must be \[r, g, b\]"):
        picture("composite", matte(), options=PredictOptions(background=[1, 2]))


def test_the_estimated_foreground_removes_the_old_background_from_soft_pixels():
    pytest.importorskip("pymatting")
    alpha = np.tile(np.linspace(0, 1, 12), (12, 1))
    red, blue = np.array([200.0, 50, 50]), np.array([0.0, 0, 255])
    photo = Image.fromarray((alpha[..., None] * red + (1 - alpha[..., None]) * blue).round().astype(np.uint8))
    result = Decoded(photo, alpha, (alpha >= 0.5).astype(np.uint8), get_task("binary"))
    own = np.asarray(picture("cutout", result)).astype(float)
    estimated = np.asarray(picture("cutout", result, options=PredictOptions(foreground="estimate"))).astype(float)
    assert (own[..., 3] == estimated[..., 3]).all() and own[..., :3].tolist() == np.asarray(photo).tolist()
    soft = (alpha > 0.2) & (alpha < 0.8)
    assert np.abs(estimated[..., :3][soft] - red).max() < 20  # the red foreground, not the photo's purple
    assert np.abs(own[..., :3][soft] - red).max() > 80


def test_composite_over_a_video_loops_it_frame_by_frame(tmp_path):
    pytest.importorskip("av")
    from tests.video_clips import decode_rgb, write_clip

    clip = write_clip(tmp_path / "bg.mp4", frames=3, size=(3, 2), audio=False)
    stored = decode_rgb(clip)
    [writer] = build_writers(["composite"], options=PredictOptions(background=str(clip)))
    transparent = Decoded(Image.new("RGB", (3, 2), GREY), np.zeros((2, 3)), np.zeros((2, 3), np.uint8),
                          get_task("binary"))
    for frame in (0, 1, 2, 3, 4):  # 3 and 4 are the background's 0 and 1 again
        transparent.frame = frame
        assert np.array_equal(np.asarray(writer.picture(transparent)), stored[frame % 3]), frame


def test_a_background_that_is_no_video_is_one_line_at_start_up(tmp_path):
    pytest.importorskip("av")
    (tmp_path / "bg.mp4").write_bytes(b"not a video")
    with pytest.raises(DataError):
        build_writers(["composite"], options=PredictOptions(background=str(tmp_path / "bg.mp4")))
