import pytest
import torch

from seg_cli.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SegmentationPresetEval,
    SegmentationPresetTrain,
)


def coded_pair(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An image whose red channel encodes the column band and a mask holding the same band id."""
    band = (torch.arange(w) * 4 // w).expand(h, w).to(torch.uint8)  # 4 vertical bands, labels 0..3
    image = torch.zeros(3, h, w, dtype=torch.uint8)
    image[0] = band * 60 + 20
    return image, band.clone()


def denormalized_red(image: torch.Tensor) -> torch.Tensor:
    return (image[0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255


def test_train_preset_keeps_image_and_mask_aligned():
    torch.manual_seed(0)
    t = SegmentationPresetTrain(base_size=64, crop_size=48, hflip_prob=0.5)
    for _ in range(20):
        image, mask = coded_pair(60, 80)
        out_image, out_mask = t(image, mask)
        assert out_image.shape == (3, 48, 48) and out_mask.shape == (48, 48)
        valid = out_mask != 255
        expected_band = ((denormalized_red(out_image) - 20) / 60).round()
        # interpolation blurs band edges of the image: compare away from them
        agree = (expected_band[valid] == out_mask[valid].float()).float().mean()
        assert agree > 0.9


def test_train_preset_pads_mask_with_ignore_and_image_with_zero():
    torch.manual_seed(0)
    t = SegmentationPresetTrain(base_size=20, crop_size=64, hflip_prob=0.0, scale_range=(1.0, 1.0))
    image = torch.full((3, 20, 30), 255, dtype=torch.uint8)
    mask = torch.ones(20, 30, dtype=torch.uint8)
    out_image, out_mask = t(image, mask)
    assert out_mask.dtype == torch.uint8
    assert set(out_mask.unique().tolist()) == {1, 255}
    padded = out_mask == 255
    zero_after_norm = torch.tensor([(0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)])
    assert torch.allclose(out_image[:, padded][:, 0], zero_after_norm, atol=1e-5)
    assert int((~padded).sum()) == 20 * 30


def test_mask_resize_is_nearest_so_labels_stay_integers():
    torch.manual_seed(1)
    t = SegmentationPresetTrain(base_size=50, crop_size=32, hflip_prob=0.5)
    image, _ = coded_pair(37, 41)
    mask = torch.randint(0, 5, (37, 41), dtype=torch.uint8)
    _, out_mask = t(image, mask)
    assert set(out_mask.unique().tolist()) <= {0, 1, 2, 3, 4, 255}


def test_resize_range_is_half_to_twice_base_size():
    t = SegmentationPresetTrain(base_size=100, crop_size=10, hflip_prob=0.0)
    resize = t.transforms.transforms[0]
    assert (resize.min_size, resize.max_size) == (50, 201)


def test_eval_preset_resizes_shorter_side_and_keeps_mask_by_default():
    image, mask = coded_pair(30, 60)
    out_image, out_mask = SegmentationPresetEval(base_size=45)(image, mask)
    assert out_image.shape == (3, 45, 90) and out_image.dtype == torch.float32
    assert out_mask is mask
    _, resized = SegmentationPresetEval(base_size=45, resize_mask=True)(image, mask)
    assert resized.shape == (45, 90) and set(resized.unique().tolist()) <= {0, 1, 2, 3}


def test_normalize_image_matches_torchvision_to_dtype_and_normalize():
    import pytest
    from torchvision.transforms import v2

    from seg_cli.data.transforms import NormalizeImage

    image = torch.randint(0, 256, (3, 17, 23), dtype=torch.uint8)
    reference = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)(v2.ToDtype(torch.float32, scale=True)(image))
    ours = NormalizeImage(IMAGENET_MEAN, IMAGENET_STD)(image)
    assert ours.dtype == torch.float32 and ours.shape == image.shape
    assert torch.allclose(ours, reference, atol=1e-5)
    assert image.dtype == torch.uint8  # the input is left alone
    with pytest.raises(TypeError, match="uint8 or float"):
        NormalizeImage(IMAGENET_MEAN, IMAGENET_STD)(image.int())


def test_train_preset_flips_after_cropping_with_both_outcomes():
    t = SegmentationPresetTrain(base_size=40, crop_size=40, hflip_prob=0.5, scale_range=(1.0, 1.0))
    assert [type(s).__name__ for s in t.transforms.transforms] == ["RandomResize", "RandomCrop",
                                                                    "RandomHorizontalFlip"]
    image, mask = coded_pair(40, 40)
    firsts = set()
    for seed in range(12):
        torch.manual_seed(seed)
        _, out_mask = t(image, mask)
        firsts.add(int(out_mask[0, 0]))  # band 0 on the left unless flipped
    assert firsts == {0, 3}


@pytest.mark.parametrize("resize", ["shorter", "square"])
def test_eval_output_size_predicts_the_resized_image(resize):
    transform = SegmentationPresetEval(base_size=97, resize=resize)
    for height, width in [(97, 97), (40, 300), (300, 40), (131, 257), (511, 97), (60, 61)]:
        image, _ = transform(torch.zeros((3, height, width), dtype=torch.uint8))
        assert tuple(image.shape[-2:]) == transform.output_size(height, width)
