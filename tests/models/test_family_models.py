"""The issue #3 family (FCN-VGG16, UNet, U^2-Net, LinkNet, DeepLabV3+): sizes, training, initialisation."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torchvision.models import ResNet18_Weights, ResNet50_Weights, VGG16_Weights, resnet18, resnet50, vgg16

from seg_cli.models import fcn_vgg
from seg_cli.models.build import build_model
from seg_cli.models.contract import model_outputs
from seg_cli.paths import config_dir

FAMILY = ["fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16", "unet", "u2net", "u2net_lite", "linknet",
          "deeplabv3plus_resnet50", "deeplabv3plus_resnet101"]
HEAVY = {"fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16", "u2net", "deeplabv3plus_resnet50",
         "deeplabv3plus_resnet101"}  # each a few seconds or more per test on a shared 2-core CPU
SIZE = (97, 131)  # odd on purpose: every stride rounds differently


def model_cfg(name: str, num_classes: int, **overrides) -> dict:
    cfg = yaml.safe_load((Path(config_dir()) / "model" / f"{name}.yaml").read_text())
    return {**cfg, "num_classes": num_classes, "in_channels": 3, **overrides}  # in_channels: as num_classes


def family(class_counts: tuple[int, ...] = ()) -> list:
    """pytest params: every family model (paired with each of `class_counts`), heavy ones marked slow."""
    params = []
    for name in FAMILY:
        marks = [pytest.mark.slow] if name in HEAVY else []
        params += [pytest.param(*values, marks=marks) for values in [(name, n) for n in class_counts] or [(name,)]]
    return params


def test_family_yamls_exist_with_the_option_names():
    for name in FAMILY:
        cfg = model_cfg(name, 1)
        assert cfg["weights"] is None and cfg["_target_"].startswith("seg_cli.models."), name
        assert cfg.get("pretrained_backbone", False) is False, name


@pytest.mark.parametrize("name,num_classes", family((1, 3)))
def test_output_has_input_size(name, num_classes):
    model = build_model(model_cfg(name, num_classes)).eval()
    with torch.no_grad():
        assert model_outputs(model(torch.randn(1, 3, *SIZE)))["out"].shape == (1, num_classes, *SIZE)


@pytest.mark.parametrize("name", family())
def test_tiny_and_odd_sizes_keep_their_size(name):
    model = build_model(model_cfg(name, 2)).eval()
    with torch.no_grad():
        for size in [(1, 1), (2, 3), (33, 17), (64, 64)]:
            assert model_outputs(model(torch.randn(1, 3, *size)))["out"].shape[-2:] == size, size


def training_loss(outputs: dict[str, torch.Tensor], target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """BCE on the single channel for binary models, cross-entropy otherwise; summed over all outputs."""
    if num_classes == 1:
        return sum(F.binary_cross_entropy_with_logits(o[:, 0], target.float()) for o in outputs.values())
    return sum(F.cross_entropy(o, target) for o in outputs.values())


@pytest.mark.parametrize("name,num_classes", family((1, 3)))
def test_one_training_step_reaches_every_parameter_and_changes_weights(name, num_classes):
    torch.manual_seed(0)
    model = build_model(model_cfg(name, num_classes)).train()
    images, target = torch.randn(2, 3, 33, 47), torch.randint(0, max(num_classes, 2), (2, 33, 47))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    outputs = model_outputs(model(images))
    assert all(o.shape == (2, num_classes, 33, 47) for o in outputs.values())
    loss = training_loss(outputs, target, num_classes)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters()), "a parameter is not in the graph"
    changed = [n for n, p in model.named_parameters() if not torch.equal(before[n], p)]
    assert changed


@pytest.mark.parametrize("name", ["u2net_lite", pytest.param("u2net", marks=pytest.mark.slow)])
def test_u2net_returns_side_outputs_in_training_only(name):
    model = build_model(model_cfg(name, 1))
    with torch.no_grad():
        train_out = model.train()(torch.randn(2, 3, *SIZE))
        eval_out = model.eval()(torch.randn(1, 3, *SIZE))
    assert list(train_out) == ["out", *(f"side{i}" for i in range(1, 7))]
    assert all(v.shape == (2, 1, *SIZE) for v in train_out.values())
    assert list(eval_out) == ["out"] and eval_out["out"].shape == (1, 1, *SIZE)


@pytest.mark.parametrize("name,expected", [("u2net", 44.0e6), ("u2net_lite", 1.13e6)])
def test_u2net_parameter_counts_match_the_paper(name, expected):
    # The paper gives 176.3 MB / 4.7 MB of float32 weights for U^2-Net / U^2-Net-dagger, with one class.
    count = sum(p.numel() for p in build_model(model_cfg(name, 1)).parameters())
    assert abs(count - expected) / expected < 0.02, count


def test_fcn_upsampling_starts_as_bilinear_interpolation():
    up = fcn_vgg.upsampler(3, 2)
    assert up.weight.requires_grad and up.bias is None
    # kernel 4, factor 2: taps (0.25, 0.75, 0.75, 0.25) per axis, one filter per class, no class mixing.
    assert up.weight[1, 1, 1, 2].item() == pytest.approx(0.75 * 0.75)
    assert up.weight[1, 1, 0, 0].item() == pytest.approx(0.25 * 0.25)
    assert up.weight[0, 1].abs().sum() == 0
    ramp = torch.arange(6.0).expand(1, 3, 6, 6)
    with torch.no_grad():
        row = up(ramp)[0, 2, 5]  # 14 wide; output j samples input (j - 1.5) / 2
    j = torch.arange(2, 12.0)  # away from the border, where a tap falls outside the input
    assert torch.allclose(row[2:12], (j - 1.5) / 2)


def map_geometry(layers: list[nn.Module], scale: float, shift: float) -> tuple[float, float]:
    """After `layers`, pixel i of the map lies at image coordinate scale * i + shift."""
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.ConvTranspose2d)):
            k, s, p, d = (v if isinstance(v, int) else v[0] for v in
                          (layer.kernel_size, layer.stride, layer.padding, layer.dilation))
            if isinstance(layer, nn.ConvTranspose2d):
                scale, shift = scale / s, shift + scale * (p - d * (k - 1) / 2) / s
            else:
                scale, shift = scale * s, shift + scale * (d * (k - 1) / 2 - p)
    return scale, shift


@pytest.mark.parametrize("name", ["fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16"])
def test_fcn_crop_offsets_align_scores_with_input_pixels(name):
    with torch.device("meta"):  # geometry only: the layers without allocating 134 M weights
        model = build_model(model_cfg(name, 1))
    pool3 = map_geometry(model.to_pool3, 1.0, 0.0)
    pool4 = map_geometry(model.to_pool4, *pool3)
    score = map_geometry([*model.to_pool5, *model.head, model.score_fr], *pool4)
    if model.stride <= 16:
        score = map_geometry([model.upscore2], *score)
        assert score == (pool4[0], pool4[1] + pool4[0] * fcn_vgg.POOL4_OFFSET)
    if model.stride == 8:
        score = map_geometry([model.upscore_pool4], *score)
        assert score == (pool3[0], pool3[1] + pool3[0] * fcn_vgg.POOL3_OFFSET)
    scale, shift = map_geometry([model.upscore], *score)
    assert (scale, shift + fcn_vgg.FINAL_OFFSET[model.stride]) == (1.0, 0.0)


@pytest.mark.slow
def test_fcn8s_builds_with_bilinear_upsampling_and_zero_scores():
    model = build_model(model_cfg("fcn8s_vgg16", 3))
    for up, factor in [(model.upscore2, 2), (model.upscore_pool4, 2), (model.upscore, 8)]:
        assert torch.equal(up.weight, fcn_vgg.bilinear_kernel(3, 2 * factor))
    # kernel 16, factor 8: taps (1 - |t - 7.5| / 8), so the two centre taps are 15/16 each.
    assert model.upscore.weight[2, 2, 7, 8].item() == pytest.approx((15 / 16) ** 2)
    assert all(layer.weight.abs().sum() == 0 for layer in (model.score_fr, model.score_pool4, model.score_pool3))


@pytest.mark.parametrize("output_stride", [16, 8])
def test_deeplabv3plus_output_stride_sets_the_aspp_resolution(output_stride):
    model = build_model(model_cfg("deeplabv3plus_resnet50", 2, output_stride=output_stride)).eval()
    with torch.no_grad():
        low = model.layer1(model.stem(torch.randn(1, 3, 64, 64)))
        high = model.layer4(model.layer3(model.layer2(low)))
    assert low.shape[-1] == 16 and high.shape[-1] == 64 // output_stride


def test_deeplabv3plus_rejects_other_output_strides():
    from seg_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="output_stride"):
        build_model(model_cfg("deeplabv3plus_resnet50", 2, output_stride=32))


@pytest.mark.parametrize("name,weights,reference,key,reference_key", [
    ("linknet", ResNet18_Weights, resnet18, "stem.0.weight", "conv1.weight"),
    pytest.param("deeplabv3plus_resnet50", ResNet50_Weights, resnet50, "layer4.2.conv3.weight",
                 "layer4.2.conv3.weight", marks=pytest.mark.slow),
    pytest.param("fcn8s_vgg16", VGG16_Weights, vgg16, "head.0.weight", "classifier.0.weight",
                 marks=pytest.mark.slow),
])
def test_pretrained_backbone_loads_the_imagenet_weights(monkeypatch, name, weights, reference, key, reference_key):
    # Offline: the ImageNet download is replaced by a random torchvision network's state dict.
    state = reference().state_dict()
    monkeypatch.setattr(weights, "get_state_dict", lambda self, *args, **kwargs: state)
    model = build_model(model_cfg(name, 2, pretrained_backbone=True))
    assert torch.equal(model.state_dict()[key].flatten(), state[reference_key].flatten())


@pytest.mark.slow
def test_fcn_fc6_as_a_convolution_equals_vgg_fully_connected_layer():
    torch.manual_seed(0)
    vgg = vgg16()
    model = fcn_vgg.fcn32s_vgg16(1)
    model.load_vgg_state(vgg.state_dict())
    pool5 = torch.randn(1, 512, 7, 7)
    with torch.no_grad():
        # 25,088-term dot products summed in another order: float32 rounding reaches ~1e-5
        assert torch.allclose(model.head[0](pool5).flatten(), vgg.classifier[0](pool5.flatten(1))[0],
                              rtol=1e-4, atol=1e-4)


def test_unet_transposed_upsampling_keeps_pixels_over_their_skip_at_odd_sizes():
    from seg_cli.models.unet import Up

    up = Up(2, 1, 1, bilinear=False)
    nn.init.ones_(up.reduce.weight)
    nn.init.zeros_(up.reduce.bias)
    seen = {}
    up.conv.register_forward_pre_hook(lambda module, args: seen.update(upsampled=args[0][0, 1]))
    deep = torch.zeros(1, 2, 3, 3)
    deep[..., 0, 0] = 1  # pooled pixel (0, 0) covers skip pixels rows 0-1, columns 0-1
    with torch.no_grad():
        up(deep, torch.zeros(1, 1, 5, 5))
    assert seen["upsampled"].nonzero().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
