"""Issue 24 part 1: alpha mattes read soft from every stored form, typed with a weight channel, carried through
the transforms bilinearly, and the matting datasets' layouts (trimaps where shipped, generated otherwise)."""

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.alpha import ALPHA_TARGET, load_alpha, load_trimap, trimap_from_alpha
from seg_cli.data.augment import build_augment
from seg_cli.errors import ConfigError, DataError
from tests.data import fixtures, matting_fixtures
from tests.data.fixtures import untransformed

ALPHA8 = np.array([[0, 1, 128], [254, 255, 77]], np.uint8)


@pytest.mark.parametrize("store", ["L", "I;16", "RGB", "RGBA", "LA"])
def test_a_matte_is_read_as_float_alpha_whatever_its_file_holds(tmp_path, store):
    path = tmp_path / "m.png"
    if store == "L":
        Image.fromarray(ALPHA8).save(path)
    elif store == "I;16":
        Image.fromarray(ALPHA8.astype(np.uint16) * 257).save(path)
    elif store == "RGB":  # the first channel
        Image.fromarray(np.dstack([ALPHA8, ALPHA8 // 2, ALPHA8 // 3])).save(path)
    else:  # the alpha channel, whatever the colour
        colour = np.full((2, 3, 3 if store == "RGBA" else 1), 9, np.uint8)
        Image.fromarray(np.dstack([colour, ALPHA8]).squeeze(), mode=store).save(path)
    alpha = load_alpha(path)
    assert alpha.dtype == torch.float32 and torch.allclose(alpha, torch.from_numpy(ALPHA8 / 255).float(), atol=1e-7)


def test_a_16_bit_matte_keeps_its_precision(tmp_path):
    Image.fromarray(np.array([[0, 1, 65535, 32768]], np.uint16)).save(tmp_path / "m.png")
    assert load_alpha(tmp_path / "m.png")[0].tolist() == pytest.approx([0, 1 / 65535, 1, 32768 / 65535])


def test_an_unreadable_matte_is_one_line(tmp_path):
    (tmp_path / "m.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read matte .*m.png"):
        load_alpha(tmp_path / "m.png")
    with pytest.raises(DataError, match="matte not found"):
        load_alpha(tmp_path / "none.png")


def test_a_matte_gets_a_weight_channel_and_255_stays_opaque():
    typed = ALPHA_TARGET.typed(torch.tensor([[0.0, 1.0]]), 2, 255, "m")
    assert typed.shape == (2, 1, 2) and typed[0].tolist() == [[0.0, 1.0]] and typed[1].tolist() == [[1.0, 1.0]]
    with pytest.raises(DataError, match="must be read as float"):
        ALPHA_TARGET.typed(torch.tensor([[0, 255]], dtype=torch.uint8), 2, 255, "m")


def test_trimaps_read_and_generated_mark_the_unknown_band_one_half(tmp_path):
    Image.fromarray(np.array([[0, 128, 255, 7]], np.uint8)).save(tmp_path / "t.png")
    assert load_trimap(tmp_path / "t.png").tolist() == [[0.0, 0.5, 1.0, 0.5]]
    alpha = torch.zeros(40, 40)
    alpha[10:30, 10:30] = 1.0
    alpha[10:30, 30] = 0.5
    trimap = trimap_from_alpha(alpha, 5)
    assert trimap[0, 0] == 0 and trimap[20, 20] == 1 and trimap[20, 30] == 0.5 and trimap[20, 29] == 0.5


def test_the_transforms_resample_alpha_bilinearly_and_mark_padding_invalid():
    dataset = dict(base_size=24, crop_size=(48, 48), hflip_prob=0.5, ignore_index=255, scale_range=(1.0, 1.0),
                   resize="shorter", in_channels=3)
    steps = [{"name": "resize"}, {"name": "rotate", "p": 1.0}, {"name": "random_crop"}, {"name": "hflip"},
             {"name": "photometric", "p": 1.0}]
    pipeline = build_augment({"steps": steps}, dataset, [0.5] * 3, [0.25] * 3, target=ALPHA_TARGET)
    alpha = torch.zeros(30, 30)
    alpha[8:22, 8:22] = 1.0
    torch.manual_seed(0)
    _, out = pipeline(torch.full((3, 30, 30), 200, dtype=torch.uint8), ALPHA_TARGET.typed(alpha, 2, 255, "m"))
    assert out.shape == (2, 48, 48) and out.dtype == torch.float32
    assert ((out[0] > 0.05) & (out[0] < 0.95)).any()  # blended edges, not nearest-neighbour
    assert float(out[1].min()) == 0.0 and float(out[1].max()) == pytest.approx(1.0)  # padding: weight 0


@pytest.mark.parametrize("option,writer,channels", [
    ("p3m10k", matting_fixtures.write_p3m10k, 3), ("am2k", matting_fixtures.write_am2k, 3),
    ("ppm100", matting_fixtures.write_ppm100, 3), ("aisegment", matting_fixtures.write_aisegment, 3),
    ("hk", fixtures.write_hk, 3)])
def test_each_matting_layout_gives_soft_alpha_with_a_trimap_on_eval_splits(option, writer, channels, tmp_path):
    root = writer(tmp_path / option)
    val = untransformed(option, root, "val", task="matting")
    image, target = val[0]
    assert target.shape == (channels, *image.shape[-2:]) and target.dtype == torch.float32
    alpha, weight, trimap = target
    assert ((alpha > 0) & (alpha < 1)).any() and (weight == 1).all()
    assert set(trimap.unique().tolist()) <= {0.0, 0.5, 1.0} and (trimap == 0.5).any()
    if option != "ppm100":
        assert untransformed(option, root, "train", task="matting")[0][1].shape[0] == 2  # no trimap to train


def test_p3m_validation_sets_use_their_own_trimaps_and_photos(tmp_path):
    root = matting_fixtures.write_p3m10k(tmp_path / "p3m")
    shipped = np.asarray(Image.open(root / "validation/P3M-500-NP/trimap/NP_0000.png"))
    test = untransformed("p3m10k", root, "test")
    assert test.pairs[0][0].parent.name == "original_image"
    assert test[0][1][2].tolist() == load_trimap(root / "validation/P3M-500-NP/trimap/NP_0000.png").tolist()
    assert (shipped == 128).any()


def test_aisegment_pairs_photos_and_rgba_mattes_by_name_across_sub_folders(tmp_path):
    root = matting_fixtures.write_aisegment(tmp_path / "ais")
    train, val = (untransformed("aisegment", root, split) for split in ("train", "val"))
    assert len(train) + len(val) == 10 and len(val) == 1
    for image_path, matte_path in train.pairs + val.pairs:
        assert image_path.stem == matte_path.stem and image_path.parts[-2].startswith("clip_")


def test_a_16_bit_folder_matte_is_read_at_16_bits(tmp_path):
    root = matting_fixtures.write_matting_folder(tmp_path / "f", bits=16)
    _, target = untransformed("folder", root, "train", task="matting")[0]
    soft = target[0][(target[0] > 0) & (target[0] < 1)]
    assert len(soft) and torch.allclose(soft * 255, (soft * 255).round(), atol=1e-4)  # 257 x an 8-bit value


def test_matting_needs_one_output_channel(tmp_path):
    with pytest.raises(ConfigError, match="dataset.num_classes=2 with dataset.task=matting"):
        untransformed("hk", fixtures.write_hk(tmp_path / "hk"), "val", task="matting", num_classes=2)


def test_ppm100_has_no_train_split(tmp_path):
    with pytest.raises(DataError, match=r"PPM-100 has the splits val \(\./\), not 'train'"):
        untransformed("ppm100", matting_fixtures.write_ppm100(tmp_path / "ppm"), "train")
