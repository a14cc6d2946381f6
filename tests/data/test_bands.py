"""Images beyond 8-bit RGB: precision kept through the loader, bands read as they are, the band-count rule,
per-channel normalisation, N-channel transforms and the RGB view of overlays."""

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from seg_cli.data.bands import match_bands, rgb_view
from seg_cli.data.build import build_dataset
from seg_cli.data.io import image_size, load_image
from seg_cli.data.transform_config import normalization
from seg_cli.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    NormalizeImage,
    SegmentationPresetEval,
    SegmentationPresetTrain,
    default_normalization,
)
from seg_cli.errors import ConfigError, DataError
from tests.data.fixtures import dataset_config
from tests.data.image_fixtures import write_png16, write_tiff_folder


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_grey_png_keeps_every_value_scaled_by_its_bit_depth(tmp_path, channels):
    values = np.array([[1000, 1001, 0], [65535, 32768, 7]], np.uint16)
    Image.fromarray(values).save(tmp_path / "g.png")  # Pillow writes 16-bit grey (mode I;16)
    image = load_image(tmp_path / "g.png", channels=channels)
    assert image.dtype == torch.float32 and image.shape == (channels, 2, 3)
    expected = values.astype(np.float32) / np.float32(65535)
    for band in image:
        assert np.array_equal(band.numpy(), expected)
    assert image[0, 0, 0] != image[0, 0, 1]  # 1000 and 1001 stay two values
    assert float(image[0, 0, 0]) == pytest.approx(1000 / 65535, rel=1e-6)


def test_16_bit_colour_png_is_not_cut_to_8_bits(tmp_path):
    pixels = np.stack([np.full((3, 4), v, np.uint16) for v in (1000, 1001, 60000)], axis=-1)
    image = load_image(write_png16(tmp_path / "rgb16.png", pixels))
    assert image.dtype == torch.float32 and image.shape == (3, 3, 4)
    assert image[:, 0, 0].tolist() == pytest.approx([1000 / 65535, 1001 / 65535, 60000 / 65535], rel=1e-6)


@pytest.mark.parametrize("dtype,scale", [(np.uint8, None), (np.uint16, 65535), (np.float32, 1)])
def test_multi_band_tiff_is_read_band_for_band(tmp_path, dtype, scale):
    rng = np.random.default_rng(0)
    pixels = (rng.random((6, 7, 4)) * (np.iinfo(dtype).max if scale != 1 else 1)).astype(dtype)
    tifffile.imwrite(tmp_path / "b.tif", pixels, photometric="minisblack", planarconfig="contig")
    image = load_image(tmp_path / "b.tif", channels=4)
    expected = pixels.transpose(2, 0, 1)
    if scale is None:
        assert image.dtype == torch.uint8 and np.array_equal(image.numpy(), expected)
    else:
        assert image.dtype == torch.float32
        assert np.array_equal(image.numpy(), expected.astype(np.float32) / np.float32(scale))
    assert image_size(tmp_path / "b.tif") == (6, 7)


def test_planar_tiff_bands_come_first_too(tmp_path):
    pixels = np.arange(5 * 6 * 7, dtype=np.uint16).reshape(5, 6, 7)  # 5 bands, stored plane by plane
    tifffile.imwrite(tmp_path / "p.tif", pixels, photometric="minisblack", planarconfig="separate")
    assert np.array_equal(load_image(tmp_path / "p.tif", channels=5).numpy(), pixels / np.float32(65535))


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_band_count_mismatch_is_one_line_naming_file_bands_and_key(tmp_path, channels):
    tifffile.imwrite(tmp_path / "four.tif", np.zeros((4, 5, 4), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    with pytest.raises(DataError) as info:
        load_image(tmp_path / "four.tif", channels=channels)
    message = str(info.value)
    assert "\n" not in message and "four.tif has 4 bands" in message
    assert f"dataset.in_channels={channels}" in message and "dataset.in_channels=4" in message


def test_grey_and_rgb_convert_to_each_other(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
    Image.fromarray(grey).save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png", channels=1).tolist() == [grey.tolist()]
    assert load_image(tmp_path / "g.png").tolist() == [grey.tolist()] * 3  # the default path replicates
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    as_grey = load_image(tmp_path / "c.png", channels=1)
    assert as_grey.dtype == torch.uint8
    assert as_grey[0].tolist() == np.asarray(Image.fromarray(rgb).convert("L")).tolist()
    # the same weights, in torch, for colour read by tifffile or 16-bit PNGs
    assert match_bands(torch.from_numpy(rgb.transpose(2, 0, 1).copy()), 1, "x")[0].tolist() == as_grey[0].tolist()


def test_rgb_view_replicates_grey_and_stretches_the_first_three_bands():
    torch.manual_seed(0)
    grey = torch.randint(0, 256, (1, 3, 4), dtype=torch.uint8)
    assert np.array_equal(rgb_view(grey), np.repeat(grey[0].numpy()[..., None], 3, axis=-1))
    bands = torch.rand(5, 6, 7) * torch.tensor([1.0, 10.0, 0.01, 3.0, 3.0]).view(5, 1, 1)
    view = rgb_view(bands)
    assert view.shape == (6, 7, 3) and view.dtype == np.uint8
    for i in range(3):
        assert view[..., i].min() == 0 and view[..., i].max() == 255  # each band stretched on its own


def test_normalize_float_images_on_the_unit_scale_and_leave_the_input_alone():
    image = torch.rand(4, 5, 6)
    mean, std = [0.1, 0.2, 0.3, 0.4], [0.5, 0.25, 0.2, 0.1]
    normalize = NormalizeImage(mean, std)
    expected = (image - torch.tensor(mean).view(4, 1, 1)) / torch.tensor(std).view(4, 1, 1)
    kept = image.clone()
    assert torch.allclose(normalize(image), expected, atol=1e-6) and torch.equal(image, kept)
    assert torch.allclose(normalize.invert(normalize(image)), image, atol=1e-6)
    with pytest.raises(ValueError, match="3 channels but mean/std have 4"):
        normalize(torch.rand(3, 5, 6))


def test_uint8_and_float_of_the_same_pixels_normalise_alike():
    image = torch.randint(0, 256, (3, 9, 11), dtype=torch.uint8)
    normalize = NormalizeImage(IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(normalize(image), normalize(image.float() / 255), atol=1e-5)


def test_train_and_eval_presets_take_n_channel_float_images():
    torch.manual_seed(0)
    mean, std = [0.5] * 4, [0.25] * 4
    image, mask = torch.rand(4, 30, 44), torch.zeros(30, 44, dtype=torch.uint8)
    mask[:, 22:] = 1
    image[:, :, 22:] = 1.0  # the right half is bright in every band, and labelled 1
    train = SegmentationPresetTrain(base_size=30, crop_size=48, scale_range=(1.0, 1.0), mean=mean, std=std)
    out, out_mask = train(image, mask)
    assert out.shape == (4, 48, 48) and out.dtype == torch.float32 and out_mask.shape == (48, 48)
    padded = out_mask == 255
    assert padded.any() and torch.allclose(out[:, padded], torch.tensor(-2.0))  # fill 0 -> (0 - 0.5) / 0.25
    assert (out[:, out_mask == 1] > 1.9).all()  # bright pixels stayed with their labels
    evaluated, _ = SegmentationPresetEval(base_size=15, mean=mean, std=std)(image)
    assert evaluated.shape == (4, 15, 22)


def test_default_normalization_is_imagenet_for_rgb_averaged_for_grey_and_cycled_for_bands():
    assert default_normalization(3) == (IMAGENET_MEAN, IMAGENET_STD)
    (grey_mean,), (grey_std,) = default_normalization(1)
    assert grey_mean == pytest.approx(np.mean(IMAGENET_MEAN)) and grey_std == pytest.approx(np.mean(IMAGENET_STD))
    mean, std = default_normalization(4)
    assert mean == (*IMAGENET_MEAN, IMAGENET_MEAN[0]) and std == (*IMAGENET_STD, IMAGENET_STD[0])


def test_mean_and_std_must_have_one_value_per_channel():
    assert normalization({"in_channels": 2, "mean": [0.1, 0.2], "std": [1, 2]}) == ([0.1, 0.2], [1.0, 2.0])
    assert normalization({"in_channels": 1, "mean": 0.3, "std": 0.2}) == ([0.3], [0.2])
    with pytest.raises(ConfigError, match=r"dataset.mean has 3 value\(s\) but dataset.in_channels=4"):
        normalization({"in_channels": 4, "mean": IMAGENET_MEAN})
    with pytest.raises(ConfigError, match="dataset.std"):
        normalization({"std": [0.2, 0.0, 0.2]})
    with pytest.raises(ConfigError, match="dataset.in_channels"):
        normalization({"in_channels": 0})


def test_datasets_that_make_rgb_images_give_grey_ones_for_one_channel():
    cfg = dataset_config("synthetic", in_channels=1, train_size=2, val_size=1)
    dataset = build_dataset(cfg, "val", train=False)
    grey, _ = dataset.checked_pair(0)
    rgb, _ = build_dataset({**cfg, "in_channels": 3}, "val", train=False).checked_pair(0)
    assert grey.dtype == torch.uint8 and torch.equal(grey, match_bands(rgb, 1, "x"))
    assert dataset[0][0].shape[0] == 1 and dataset.transforms.normalize.mean.flatten().tolist() == pytest.approx(
        default_normalization(1)[0])


def test_folder_dataset_of_4_band_tiffs_reads_float_samples(tmp_path):
    root = write_tiff_folder(tmp_path / "bands", n=4)
    cfg = dataset_config("folder", root=str(root), image_extensions=[".tif"], in_channels=4, val_fraction=0.25)
    dataset = build_dataset(cfg, "train", train=True)
    image, mask = dataset[0]
    assert dataset.in_channels == 4 and image.shape == (4, 480, 480) and mask.shape == (480, 480)
    raw, _ = dataset.checked_pair(0)
    assert raw.dtype == torch.float32 and raw.shape == (4, 32, 40) and 0 <= float(raw.min()) <= float(raw.max()) <= 1
    with pytest.raises(DataError, match=r"img_\d+\.tif has 4 bands but dataset.in_channels=3"):
        build_dataset({**cfg, "in_channels": 3}, "train", train=False).checked_pair(0)
