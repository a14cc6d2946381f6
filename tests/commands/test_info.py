"""`seg info`: parameter counts of the composed model config and FLOPs counted by PyTorch."""

import subprocess
import sys

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from seg_cli.commands import schema
from seg_cli.paths import config_dir
from tests.helpers import run_seg

schema.register()


def built_model(*overrides: str) -> torch.nn.Module:
    """The model `seg info OVERRIDES` describes, built from the same composed config."""
    from seg_cli.models.build import build_model

    with initialize_config_dir(config_dir=config_dir(), version_base=None):
        cfg = compose("info", overrides=list(overrides))
    return build_model(OmegaConf.to_container(cfg.model, resolve=True))


def test_info_prints_parameters_and_flops_of_the_default_model_and_writes_nothing(tmp_path):
    result = run_seg("info", "height=64", "width=96", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    total = sum(p.numel() for p in built_model().parameters())
    assert f"parameters  {total:,} total, {total:,} trainable" in result.stdout
    assert "torch.utils.flop_counter.FlopCounterMode" in result.stdout
    # Hand-computed: 1x1 classifier 16 -> 4 channels, 2 FLOPs per multiply-add, at 64 x 96.
    assert f"{2 * 16 * 4 * 64 * 96 / 1e3:.2f} kFLOPs" in result.stdout
    # stem: 3x3 convs 3 -> 16 and 16 -> 16 (no bias).
    assert f"{2 * 9 * (3 * 16 + 16 * 16) * 64 * 96 / 1e6:.2f} MFLOPs" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_model_and_dataset_groups_compose(tmp_path):
    result = run_seg("info", "model=lraspp_mobilenet_v3_large", "dataset=voc", "height=128", "width=128",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = built_model("model=lraspp_mobilenet_v3_large", "dataset=voc")
    assert model.classifier.low_classifier.out_channels == 21
    assert f"{sum(p.numel() for p in model.parameters()):,} total" in result.stdout
    assert "lraspp_mobilenet_v3_large (" in result.stdout and "21 output channels" in result.stdout


def test_bad_size_is_one_clear_line(tmp_path):
    result = run_seg("info", "height=0", cwd=tmp_path)
    assert result.returncode == 1
    assert "height=0 must be > 0" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["export", "info", "data"])
def test_tool_commands_import_without_torch(command):
    # `seg export|info|data --help` must stay fast: torch is imported inside the task only.
    code = f"import sys, seg_cli.commands.{command}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_flops_look_through_an_adapter_to_the_library_models_parts():
    """smp and hf models sit in an adapter whose one child, `model`, does all the work: its parts are listed."""
    from seg_cli.commands.info import count_flops
    from seg_cli.models.smp import smp

    total, parts = count_flops(smp(2, encoder="resnet18"), (1, 3, 64, 64))
    assert set(parts) == {"model.encoder", "model.decoder", "model.segmentation_head"}
    assert sum(parts.values()) == total
