"""Every model takes `in_channels` images; pretrained RGB filters are adapted by one numeric rule."""


import pytest
import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.models import segmentation as tvseg

from seg_cli.models import linknet, torchvision_models
from seg_cli.models.build import build_model
from seg_cli.models.contract import model_outputs
from seg_cli.models.input_conv import adapt_rgb_weight, set_input_channels, with_in_channels
from tests.models.fixtures import model_yaml, offline_models

MODELS = offline_models()
HEAVY = {"fcn_resnet101", "deeplabv3_resnet101", "fcn_resnet50", "deeplabv3_resnet50", "fcn32s_vgg16", "fcn16s_vgg16",
         "fcn8s_vgg16", "u2net", "deeplabv3plus_resnet50", "deeplabv3plus_resnet101"}


def model_cfg(name: str, in_channels: int) -> dict:
    cfg = model_yaml(name)
    assert cfg["in_channels"] == "${oc.select:dataset.in_channels,3}", name  # passed like num_classes
    return {**cfg, "num_classes": 2, "in_channels": in_channels}


def first_conv(model: nn.Module) -> nn.Conv2d:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in MODELS])
@pytest.mark.parametrize("in_channels", [1, 4])
def test_every_model_takes_in_channels_images(name, in_channels):
    model = build_model(model_cfg(name, in_channels)).eval()
    assert first_conv(model).in_channels == in_channels
    with torch.inference_mode():
        out = model_outputs(model(torch.randn(1, in_channels, 45, 51)))
    assert out["out"].shape == (1, 2, 45, 51)


def test_one_channel_filter_is_the_sum_of_the_rgb_filters():
    rgb = torch.randn(8, 3, 5, 5)
    assert torch.equal(adapt_rgb_weight(rgb, 1), rgb[:, 0:1] + rgb[:, 1:2] + rgb[:, 2:3])
    assert torch.equal(adapt_rgb_weight(rgb, 3), rgb)


@pytest.mark.parametrize("in_channels,order", [(2, [0, 1]), (4, [0, 1, 2, 0]), (7, [0, 1, 2, 0, 1, 2, 0])])
def test_n_channel_filters_cycle_rgb_scaled_by_3_over_n(in_channels, order):
    rgb = torch.randn(8, 3, 3, 3)
    adapted = adapt_rgb_weight(rgb, in_channels)
    assert adapted.shape == (8, in_channels, 3, 3)
    for band, source in enumerate(order):
        assert torch.allclose(adapted[:, band], rgb[:, source] * 3 / in_channels)


def test_a_grey_image_responds_as_its_rgb_replica_did():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 6, 3, stride=2, padding=1, bias=True)
    grey = with_in_channels(conv, 1, pretrained=True)
    assert (grey.stride, grey.padding, grey.bias is not None) == (conv.stride, conv.padding, True)
    image = torch.rand(2, 1, 17, 19)
    with torch.no_grad():
        assert torch.allclose(grey(image), conv(image.expand(-1, 3, -1, -1)), atol=1e-5)


def test_rgb_models_stay_exactly_as_torchvision_builds_them():
    torch.manual_seed(0)
    ours = torchvision_models.lraspp_mobilenet_v3_large(num_classes=2).state_dict()
    torch.manual_seed(0)
    theirs = tvseg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=2).state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    assert set_input_channels(model, 3, pretrained=True)[0] is model[0]


@pytest.mark.parametrize("flag", ["pretrained", "pretrained_backbone"])
def test_torchvision_wrappers_adapt_their_pretrained_filters(monkeypatch, flag):
    """Offline stand-in for the downloaded weights: a seeded model whose first filters are known."""
    reference = {}

    def seeded(weights=None, weights_backbone=None, num_classes=21, **kwargs):
        torch.manual_seed(1)
        model = real(weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)
        reference["rgb"] = first_conv(model).weight.detach().clone()
        return model

    real = tvseg.lraspp_mobilenet_v3_large
    monkeypatch.setattr(tvseg, "lraspp_mobilenet_v3_large", seeded)
    for in_channels in (1, 4):
        model = torchvision_models.lraspp_mobilenet_v3_large(num_classes=2, in_channels=in_channels, **{flag: True})
        assert torch.equal(first_conv(model).weight, adapt_rgb_weight(reference["rgb"], in_channels))


def test_linknet_adapts_its_pretrained_encoder_filters(monkeypatch):
    reference = {}

    def seeded(weights=None):
        torch.manual_seed(2)
        model = resnet18(weights=None)
        reference["rgb"] = model.conv1.weight.detach().clone()
        return model

    monkeypatch.setattr(linknet, "resnet18", seeded)
    model = linknet.linknet(num_classes=1, in_channels=4, pretrained_backbone=True)
    expected = reference["rgb"][:, [0, 1, 2, 0]] * 0.75
    assert torch.equal(model.stem[0].weight, expected)
    fresh = linknet.linknet(num_classes=1, in_channels=4)  # no weights: drawn afresh, not adapted
    assert fresh.stem[0].weight.shape == (64, 4, 7, 7)
