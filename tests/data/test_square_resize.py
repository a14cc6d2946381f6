import pytest
import torch
from torchvision.transforms import v2

from seg_cli.data.build import build_dataset
from seg_cli.data.transform_config import build_eval_transform
from seg_cli.data.transforms import SegmentationPresetEval, SegmentationPresetTrain
from seg_cli.errors import ConfigError


def banded_pair(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask label = left/right half; the image's red channel says the same."""
    mask = (torch.arange(w) >= w // 2).expand(h, w).to(torch.uint8)
    image = torch.zeros(3, h, w, dtype=torch.uint8)
    image[0] = mask * 200
    return image, mask.clone()


def test_square_train_resize_ignores_aspect_ratio_then_crops():
    torch.manual_seed(0)
    t = SegmentationPresetTrain(base_size=32, crop_size=24, hflip_prob=0.0, scale_range=(1.0, 1.0), resize="square")
    assert isinstance(t.transforms.transforms[0], v2.Resize)
    assert not any(isinstance(s, v2.RandomResize) for s in t.transforms.transforms)
    image, mask = t(*banded_pair(20, 60))
    assert image.shape == (3, 24, 24) and mask.shape == (24, 24)
    assert set(mask.unique().tolist()) <= {0, 1}  # 32 x 32 covers the 24 crop: no padding
    assert torch.equal(mask.float(), (image[0] > 0).float())  # aligned


def test_square_with_scale_range_keeps_square_images():
    torch.manual_seed(0)
    t = SegmentationPresetTrain(base_size=32, crop_size=80, hflip_prob=0.0, scale_range=(0.5, 2.0), resize="square")
    for _ in range(5):
        _, mask = t(*banded_pair(20, 60))
        valid = (mask != 255).nonzero()
        height, width = (int(valid[:, i].max() - valid[:, i].min()) + 1 for i in (0, 1))  # padding may sit anywhere
        assert height == width and 16 <= height <= 64


def test_square_eval_resizes_both_sides_and_keeps_the_mask():
    image, mask = banded_pair(30, 60)
    out, kept = SegmentationPresetEval(base_size=40, resize="square")(image, mask)
    assert out.shape == (3, 40, 40) and kept is mask
    _, resized = SegmentationPresetEval(base_size=40, resize_mask=True, resize="square")(image, mask)
    assert resized.shape == (40, 40)


def test_shorter_is_the_default_and_unknown_modes_are_named():
    assert isinstance(SegmentationPresetTrain(base_size=10, crop_size=8).transforms.transforms[0], v2.RandomResize)
    assert SegmentationPresetEval(base_size=45)(*banded_pair(30, 60))[0].shape == (3, 45, 90)
    assert build_eval_transform({"base_size": 45})(*banded_pair(30, 60))[0].shape == (3, 45, 90)
    cfg = {"_target_": "seg_cli.data.synthetic.SyntheticShapes", "base_size": 32, "crop_size": 24, "resize": "oval"}
    with pytest.raises(ConfigError, match="dataset.resize='oval' is not allowed; choose from: shorter, square"):
        build_dataset(cfg, "train", train=True)
