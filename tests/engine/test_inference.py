import pytest
import torch
from torch import nn

from seg_cli.engine.inference import predict_logits, scaled_size, window_starts
from seg_cli.errors import ConfigError

NUM_CLASSES = 3


def pointwise_model(out_channels: int = NUM_CLASSES) -> nn.Module:
    """A 1x1 conv: each pixel's logits depend on that pixel alone, so windows cannot change them."""
    torch.manual_seed(0)
    return nn.Conv2d(3, out_channels, 1).eval()


def conv3x3_model() -> nn.Module:
    """Two 3x3 convs: a pixel sees 2 pixels around it, so only pixels near a window's inner edge differ."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, NUM_CLASSES, 3, padding=1)).eval()


class DictOutput(nn.Module):
    """torchvision-style {'out', 'aux'} output at half resolution, upsampled by predict_logits."""

    def __init__(self) -> None:
        super().__init__()
        self.head = pointwise_model()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.head(x[..., ::2, ::2])
        return {"out": out, "aux": out * 0}


def image(height: int, width: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


def whole(model: nn.Module, x: torch.Tensor, **kwargs) -> torch.Tensor:
    return predict_logits(model, x, num_classes=kwargs.pop("num_classes", NUM_CLASSES), **kwargs)


def slide(model: nn.Module, x: torch.Tensor, crop=(32, 40), stride=(21, 27), **kwargs) -> torch.Tensor:
    return whole(model, x, mode="slide", crop=crop, stride=stride, **kwargs)


@pytest.mark.parametrize("size", [(64, 80), (97, 131), (32, 40), (33, 41)])
def test_slide_equals_whole_for_a_pointwise_model(size):
    model, x = pointwise_model(), image(*size)
    expected = whole(model, x)
    got = slide(model, x)
    assert got.shape == (1, NUM_CLASSES, *size) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_slide_equals_whole_away_from_inner_window_edges():
    model, x, crop, stride, reach = conv3x3_model(), image(70, 90), (32, 40), (21, 27), 2
    # A pixel is exact when every window holding it sees its full 5x5 neighbourhood (or the image edge,
    # where whole-image inference pads with zeros just as the window does).
    exact = torch.ones(70, 90, dtype=torch.bool)
    for top in window_starts(70, crop[0], stride[0]):
        for left in window_starts(90, crop[1], stride[1]):
            inside = torch.zeros(70, 90, dtype=torch.bool)
            inside[top : top + crop[0], left : left + crop[1]] = True
            core = torch.zeros(70, 90, dtype=torch.bool)
            core[top + reach * (top > 0) : top + crop[0] - reach * (top + crop[0] < 70),
                 left + reach * (left > 0) : left + crop[1] - reach * (left + crop[1] < 90)] = True
            exact &= ~inside | core
    assert 0.3 < exact.float().mean() < 0.9  # the comparison covers a real part of the image, not all of it
    expected, got = whole(model, x), slide(model, x, crop=crop, stride=stride)
    torch.testing.assert_close(got[..., exact], expected[..., exact], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got, expected)  # the border pixels do differ: the mask is not vacuous


def test_windows_cover_the_image_and_end_flush():
    assert window_starts(32, 32, 21) == [0]
    assert window_starts(97, 32, 21) == [0, 21, 42, 63, 65]
    assert window_starts(95, 32, 21) == [0, 21, 42, 63]
    for length in range(32, 140):
        starts = window_starts(length, 32, 21)
        assert starts[0] == 0 and starts[-1] == length - 32
        assert all(b - a <= 21 for a, b in zip(starts, starts[1:]))
        assert len(set(starts)) == len(starts)


def test_image_smaller_than_crop_is_padded_and_cropped_back():
    model, x = pointwise_model(), image(20, 13)
    got = slide(model, x, crop=(64, 64), stride=(43, 43))
    assert got.shape == (1, NUM_CLASSES, 20, 13)
    torch.testing.assert_close(got, whole(model, x), rtol=1e-5, atol=1e-5)
    # Taller than the crop but narrower: padded in width only.
    got = slide(model, image(97, 13), crop=(32, 32), stride=(21, 21))
    assert got.shape == (1, NUM_CLASSES, 97, 13)


def test_flip_of_a_symmetric_image_gives_a_symmetric_prediction():
    model = conv3x3_model()  # random weights: not symmetric on its own
    half = image(41, 30)
    x = torch.cat([half, half.flip(-1)], dim=-1)
    assert not torch.allclose(whole(model, x), whole(model, x).flip(-1), atol=1e-4)
    for kwargs in ({}, {"mode": "slide", "crop": (32, 32), "stride": (21, 21)}):
        got = whole(model, x, flip=True, **kwargs)
        assert got.shape == (1, NUM_CLASSES, 41, 60)
        torch.testing.assert_close(got, got.flip(-1), rtol=1e-5, atol=1e-5)


def test_flip_averages_the_two_views():
    model, x = conv3x3_model(), image(31, 37)
    expected = (model(x) + model(x.flip(-1)).flip(-1)) / 2
    torch.testing.assert_close(whole(model, x, flip=True), expected.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["whole", "slide"])
def test_scales_return_input_sized_logits(mode):
    model, x = conv3x3_model(), image(97, 131)
    got = whole(model, x, mode=mode, crop=(48, 48), stride=(32, 32), scales=[0.5, 0.75, 1.25], flip=True)
    assert got.shape == (1, NUM_CLASSES, 97, 131) and torch.isfinite(got).all()
    # A constant image through a pointwise model gives the same constant logits at every scale.
    flat = torch.ones(1, 3, 97, 131) * torch.tensor([0.3, -1.0, 2.0])[:, None, None]
    pointwise = pointwise_model()
    torch.testing.assert_close(whole(pointwise, flat, mode=mode, crop=(48, 48), stride=(32, 32), scales=[0.5, 1.5]),
                               whole(pointwise, flat), rtol=1e-5, atol=1e-5)


def test_scale_one_alone_is_plain_inference():
    model, x = conv3x3_model(), image(45, 51)
    torch.testing.assert_close(whole(model, x, scales=[1.0]), model(x).detach())
    assert scaled_size((97, 131), 0.5) == (49, 66) and scaled_size((3, 3), 0.1) == (1, 1)


def test_one_channel_binary_model_and_dict_outputs():
    binary = pointwise_model(out_channels=1)
    x = image(50, 70)
    got = slide(binary, x, num_classes=1, flip=True, scales=[0.75, 1.0])
    assert got.shape == (1, 1, 50, 70)
    torch.testing.assert_close(slide(binary, x, num_classes=1), whole(binary, x, num_classes=1), rtol=1e-5, atol=1e-5)
    half_res = DictOutput().eval()
    assert whole(half_res, x).shape == (1, NUM_CLASSES, 50, 70)
    assert slide(half_res, x).shape == (1, NUM_CLASSES, 50, 70)


def test_the_input_image_is_left_unchanged():
    x = image(30, 40)
    kept = x.clone()
    got = whole(nn.Identity(), x, flip=True, scales=[1.0, 1.0])  # logits that are the image itself
    torch.testing.assert_close(x, kept)
    torch.testing.assert_close(got, x)  # the flipped view, flipped back, is the image again


def test_stitch_on_cpu():
    model, x = conv3x3_model(), image(70, 90)
    got = slide(model, x, stitch_device="cpu", flip=True)
    assert got.device.type == "cpu"
    torch.testing.assert_close(got, slide(model, x, flip=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_stitch_on_cpu_from_a_gpu_model_with_amp():
    model, x = conv3x3_model().cuda(), image(70, 90).cuda()
    got = slide(model, x, stitch_device="cpu", amp_dtype=torch.bfloat16)
    assert got.device.type == "cpu" and got.dtype == torch.float32
    torch.testing.assert_close(got, slide(model.cpu(), x.cpu()), rtol=0.05, atol=0.05)
    assert whole(model.cuda(), x).device.type == "cuda"


def test_bad_settings_are_config_errors():
    model, x = pointwise_model(), image(20, 20)
    with pytest.raises(ConfigError, match="mode='tiles'"):
        whole(model, x, mode="tiles")
    with pytest.raises(ConfigError, match="must not exceed crop"):
        slide(model, x, crop=(16, 16), stride=(17, 8))
    with pytest.raises(ConfigError, match="scales"):
        whole(model, x, scales=[])
    with pytest.raises(ConfigError, match="crop"):
        slide(model, x, crop=(16, 0))
    with pytest.raises(ConfigError, match="outputs 3 channels but num_classes=21"):
        whole(model, x, num_classes=21)
    assert slide(model, x, crop=16, stride=8).shape == (1, NUM_CLASSES, 20, 20)
