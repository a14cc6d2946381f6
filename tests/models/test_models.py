"""Every model YAML builds through its config and runs forward at an odd input size."""


import pytest
import torch

from seg_cli.models.build import build_model, load_model_state, load_weights
from seg_cli.models.contract import model_outputs
from seg_cli.utils import import_target
from tests.models.fixtures import model_yaml, offline_models

MODELS = offline_models()
HEAVY = {"fcn_resnet101", "deeplabv3_resnet101", "fcn_resnet50", "deeplabv3_resnet50", "fcn32s_vgg16", "fcn16s_vgg16",
         "fcn8s_vgg16", "u2net", "deeplabv3plus_resnet50", "deeplabv3plus_resnet101"}


def model_cfg(name: str, num_classes: int = 3) -> dict:

    cfg = model_yaml(name)
    cfg["num_classes"] = num_classes
    cfg["in_channels"] = 3  # ${oc.select:dataset.in_channels,3} outside a composed config
    return cfg


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in MODELS])
def test_model_builds_and_keeps_input_size(name):
    model = build_model(model_cfg(name)).eval()
    with torch.inference_mode():
        out = model_outputs(model(torch.randn(1, 3, 67, 83)))
    assert out["out"].shape == (1, 3, 67, 83)


def test_yaml_keys_are_the_builder_arguments():
    import inspect

    for name in MODELS:
        cfg = model_cfg(name)
        params = set(inspect.signature(import_target(cfg["_target_"])).parameters)
        assert set(cfg) - {"_target_", "weights"} <= params, name


def test_weights_load_shape_filtered_and_report_skipped_keys(tmp_path):
    source = build_model(model_cfg("lraspp_mobilenet_v3_large", num_classes=5))
    torch.save(source.state_dict(), tmp_path / "w.pt")
    target = build_model(model_cfg("lraspp_mobilenet_v3_large", num_classes=3))
    skipped = load_weights(target, tmp_path / "w.pt")
    assert skipped and all("classifier" in k for k in skipped)
    backbone_key = next(k for k in target.state_dict() if k.startswith("backbone"))
    assert torch.equal(target.state_dict()[backbone_key], source.state_dict()[backbone_key])


def test_wrong_model_checkpoint_gives_clear_error():
    from seg_cli.errors import CheckpointError

    model = build_model(model_cfg("unet_small"))
    other = build_model(model_cfg("unet_small", num_classes=7)).state_dict()
    with pytest.raises(CheckpointError, match="another model or class count"):
        load_model_state(model, other, "x.pt")
