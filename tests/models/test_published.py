"""torchvision's published weights and weights files for eval/predict without a seg checkpoint (no network)."""

import argparse
import urllib.error
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from seg_cli.checkpoint import save_checkpoint
from seg_cli.commands.common import configured_sections
from seg_cli.engine.trained import load_configured_model, load_trained_model
from seg_cli.errors import CheckpointError, ConfigError
from seg_cli.models import published
from seg_cli.models.torchvision_models import PUBLISHED, lraspp_mobilenet_v3_large, published_weights
from tests.models.fixtures import SMALLEST, write_published_cache

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "model"
TORCHVISION_CONFIGS = sorted(p.stem for p in CONFIGS.glob("*.yaml")
                             if "seg_cli.models.torchvision_models." in p.read_text())
LRASPP = {"_target_": f"seg_cli.models.torchvision_models.{SMALLEST}", "num_classes": 21, "in_channels": 3,
          "pretrained": True, "pretrained_backbone": False, "weights": None}


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME whose downloads fail at once, as on a machine without a network."""
    home = tmp_path / "torch"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return home


def test_every_torchvision_config_has_published_weights_with_metrics():
    assert TORCHVISION_CONFIGS == sorted(PUBLISHED)
    for name in TORCHVISION_CONFIGS:
        weights = published.weights_of({"_target_": f"seg_cli.models.torchvision_models.{name}"})
        assert len(weights.meta["categories"]) == 21 and weights.url.endswith(".pth")
        figures = published.published_metrics(weights)
        assert 0.5 < figures["miou"] < figures["pixel_acc"] < 1 and "COCO-val2017-VOC-labels" in figures["source"]


def test_models_without_published_weights_are_refused():
    with pytest.raises(ConfigError, match="model=unet: published weights exist for fcn_resnet50"):
        published.weights_of({"_target_": "seg_cli.models.unet.unet"})


def test_cached_weights_load_with_the_metadata_label_set(torch_home):
    cached = write_published_cache(torch_home)
    weights = published_weights(SMALLEST)
    assert published.cache_path(weights) == cached
    cfg = OmegaConf.create({"model": {**LRASPP, "num_classes": "${dataset.num_classes}"}, "dataset": {}})
    config = configured_sections(cfg, dataset_required=False)
    assert config["dataset"]["class_names"] == weights.meta["categories"]  # names from the weights' metadata
    assert config["model"]["num_classes"] == 21 and config["dataset"]["base_size"] == 520
    model, config, path, _ = load_configured_model(config, "cpu")
    assert path == cached and config["published"]["miou"] == pytest.approx(0.579)
    expected = torch.load(cached, weights_only=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in expected.items())


def test_not_cached_and_offline_names_the_url_and_the_cache_file(torch_home):
    weights = published_weights(SMALLEST)
    with pytest.raises(CheckpointError) as caught:
        published.fetch_state_dict(weights, progress=False)
    message = str(caught.value)
    assert weights.url in message and str(torch_home / "hub" / "checkpoints" / Path(weights.url).name) in message
    assert "\n" not in message


def test_a_damaged_cache_file_is_named(torch_home):
    cached = write_published_cache(torch_home)
    cached.write_bytes(cached.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="is not a readable copy of .*delete it") as error:
        published.fetch_state_dict(published_weights(SMALLEST), progress=False)
    # The reason is torch's first sentence, whole, not 200 characters of its advice cut mid-word.
    assert "(PytorchStreamReader failed reading zip archive: failed finding central directory); delete it and " \
        "run again" in str(error.value)


def test_other_class_counts_are_refused_for_published_weights(torch_home):
    with pytest.raises(ConfigError, match="21 VOC classes .* num_classes=4"):
        load_configured_model({"model": {**LRASPP, "num_classes": 4}, "dataset": {"num_classes": 4}}, "cpu")


@pytest.mark.parametrize("layout", ["plain", "seg", "reference"])
def test_weights_files_of_every_layout_load_whole(tmp_path, torch_home, layout):
    torch.manual_seed(1)
    source = lraspp_mobilenet_v3_large(num_classes=5)
    state = source.state_dict()
    file = tmp_path / "weights.pth"
    if layout == "plain":
        torch.save(state, file)
    elif layout == "seg":
        save_checkpoint({"model": state, "config": {"model": {}}, "epoch": 3}, file)
    else:  # torchvision's references/segmentation/train.py
        torch.save({"model": state, "optimizer": {}, "epoch": 3, "args": argparse.Namespace(lr=0.02)}, file)
    config = {"model": {**LRASPP, "pretrained": False, "num_classes": 5, "weights": str(file)},
              "dataset": {"num_classes": 5}}
    model, _, path, _ = load_configured_model(config, "cpu")
    assert path == file and all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_incompatible_weights_name_a_tensor_and_the_fix(tmp_path, torch_home):
    file = tmp_path / "five.pth"
    torch.save(lraspp_mobilenet_v3_large(num_classes=5).state_dict(), file)
    config = {"model": {**LRASPP, "pretrained": False, "weights": str(file)}, "dataset": {"num_classes": 21}}
    with pytest.raises(CheckpointError) as caught:
        load_configured_model(config, "cpu")
    assert "classifier.low_classifier.weight (5, 40, 1, 1) vs (21, 40, 1, 1)" in str(caught.value)
    assert "dataset.num_classes=N" in str(caught.value)


def test_a_checkpoint_trained_from_pretrained_weights_loads_offline(tmp_path, torch_home):
    model_cfg = {**LRASPP, "num_classes": 3}  # pretrained: true, as `seg train model.pretrained=true` saved it
    state = lraspp_mobilenet_v3_large(num_classes=3).state_dict()
    save_checkpoint({"model": state, "config": {"model": model_cfg, "dataset": {"num_classes": 3}}}, tmp_path / "b.pt")
    model, _, _ = load_trained_model(tmp_path / "b.pt", {}, "cpu")  # the offline fixture refuses any download
    key = "classifier.high_classifier.weight"
    assert torch.equal(model.state_dict()[key], state[key])


def test_published_figures_are_printed_beside_the_measured_ones():
    figures = published.published_metrics(published_weights(SMALLEST))
    table = published.format_published({"miou": 0.5, "pixel_acc": 0.875, "published": figures})
    assert "pixel acc       87.50      91.20" in table and "mIoU            50.00      57.90" in table
    assert published.format_published({"miou": 0.5}) == ""
