"""Hugging Face checkpoints as published weights (seg_cli.models.hf_weights): label set, normalisation and
colours read from a cached checkpoint, the published figures, and `seg predict` / `seg eval` through the CLI
with no seg checkpoint, compared with transformers' own processor, model and post-processing. Every hub
access is offline: the checkpoint is a tiny random model written in the hub cache's layout."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from seg_cli.errors import ConfigError
from seg_cli.models import published
from seg_cli.models.hf_weights import HUB_FIGURES, HubCheckpoint, HubWeights
from seg_cli.paths import config_dir
from tests.helpers import run_dirs, run_seg
from tests.models.hub_cache import SEGFORMER_B0, tiny_segformer, write_hub_cache

pytest.importorskip("transformers")
CITYSCAPES = yaml.safe_load(open(f"{config_dir()}/dataset/cityscapes.yaml"))
ADE = yaml.safe_load(open(f"{config_dir()}/dataset/ade20k.yaml"))
ADE_NAMES = ADE["class_names"]
B0 = {"_target_": "seg_cli.models.hf.hf", "name": SEGFORMER_B0}


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An offline HF_HOME holding SegFormer-B0's id as a tiny random model with ADE20K's 150 classes."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    write_hub_cache(tmp_path / "hf-home", SEGFORMER_B0, tiny_segformer(ADE_NAMES))
    return tmp_path / "hf-home"


def test_a_hub_id_or_folder_names_weights_and_a_model_type_does_not(tmp_path):
    provider = HubWeights()
    assert provider.weights(B0) == HubCheckpoint(SEGFORMER_B0)
    assert provider.weights({**B0, "name": str(tmp_path)}) == HubCheckpoint(str(tmp_path))
    assert provider.weights({**B0, "name": "segformer"}) is None
    assert provider.weights({**B0, "_target_": "seg_cli.models.smp.smp"}) is None


def test_the_label_set_comes_from_the_checkpoint_and_its_processor(hub):
    labels = published.label_set(published.weights_of(B0))
    assert labels["class_names"] == ADE_NAMES and labels["num_classes"] == 150
    assert (labels["base_size"], labels["resize"]) == (64, "square")  # the processor's 64 x 64
    assert labels["mean"] == pytest.approx([0.485, 0.456, 0.406]) and labels["std"] == pytest.approx([0.229, 0.224, 0.225])
    assert labels["palette"] == ADE["palette"]  # the dataset's colours, found by its class list


def test_a_few_names_spelt_otherwise_still_find_the_colours_and_other_classes_do_not(hub):
    names = [*ADE_NAMES[:-3], "Clock ", "flag_", "banner"]  # 149 of 150 the same
    write_hub_cache(hub, "me/ade", tiny_segformer(names))
    assert HubWeights().label_set(HubCheckpoint("me/ade"))["palette"] == ADE["palette"]
    write_hub_cache(hub, "me/other", tiny_segformer([f"thing {i}" for i in range(150)]))
    assert HubWeights().label_set(HubCheckpoint("me/other"))["palette"] is None


def test_cityscapes_class_names_take_cityscapes_colours(hub):
    write_hub_cache(hub, "me/city", tiny_segformer([name.title() for name in CITYSCAPES["class_names"]]))
    assert HubWeights().label_set(HubCheckpoint("me/city"))["palette"] == CITYSCAPES["palette"]


def test_the_state_dict_is_the_checkpoints_under_seg_names(hub):
    state = published.fetch_state_dict(published.weights_of(B0))
    own = tiny_segformer(ADE_NAMES).state_dict()
    assert state.keys() == {f"model.{key}" for key in own}
    assert all(torch.equal(state[f"model.{key}"], value) for key, value in own.items())


def test_another_class_count_is_refused_in_one_line(hub):
    with pytest.raises(ConfigError, match=r"loads nvidia/segformer-b0.*150 classes \(wall, building, sky, floor"):
        published.check_label_set(published.weights_of(B0), {"num_classes": 21, "in_channels": 3})


def test_published_figures_name_their_source():
    figures = HubWeights().metrics(HubCheckpoint(SEGFORMER_B0))
    assert figures["miou"] == 0.374 and "SegFormer" in figures["source"] and figures["pixel_acc"] is None
    table = published.format_published({"miou": 0.25, "pixel_acc": 0.5, "published": figures})
    assert "mIoU            25.00      37.40" in table and "pixel acc       50.00          -" in table
    assert HubWeights().metrics(HubCheckpoint("me/unknown")) is None
    named = {yaml.safe_load(p.read_text()).get("name") for p in (Path(config_dir()) / "model").glob("*.yaml")}
    assert set(HUB_FIGURES) - {"nvidia/segformer-b0-finetuned-cityscapes-1024-1024"} <= named


def test_an_uncached_id_offline_is_one_line_at_once(hub):
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        published.label_set(HubCheckpoint("nvidia/segformer-b1-finetuned-ade-512-512"))
    assert time.monotonic() - start < 5 and "\n" not in str(info.value)
    assert "hf download nvidia/segformer-b1-finetuned-ade-512-512" in str(info.value)


def library_mask(snapshot, photo: Image.Image) -> np.ndarray:
    """transformers' own path: the image processor, the model, post_process_semantic_segmentation."""
    import transformers

    processor = transformers.AutoImageProcessor.from_pretrained(snapshot)
    model = transformers.AutoModelForSemanticSegmentation.from_pretrained(snapshot).eval()
    with torch.no_grad():
        outputs = model(**processor(images=photo, return_tensors="pt"))
    return processor.post_process_semantic_segmentation(outputs, target_sizes=[photo.size[::-1]])[0].numpy()


@pytest.mark.slow
def test_predict_and_eval_a_published_checkpoint_with_no_seg_checkpoint(tmp_path):
    hf_home = tmp_path / "hf-home"
    snapshot = write_hub_cache(hf_home, SEGFORMER_B0, tiny_segformer(ADE_NAMES))
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home)}
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))  # the processor's own size
    photo.save(tmp_path / "photo.png")
    result = run_seg("predict", "photo.png", "model=segformer_b0", "model.pretrained=true", f"out={tmp_path / 'out'}",
                     cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    mask = np.array(Image.open(tmp_path / "out" / "photo.png"))
    assert (mask == library_mask(snapshot, photo)).mean() == 1.0
    folder = tmp_path / "saved"  # the same model as a save_pretrained folder
    shutil.copytree(snapshot, folder)
    result = run_seg("predict", "photo.png", "model=hf", f"model.name={folder}", "model.pretrained=true",
                     f"out={tmp_path / 'out2'}", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.array(Image.open(tmp_path / "out2" / "photo.png")), mask)

    for split_dir in ("training", "validation"):
        (tmp_path / "ade" / "images" / split_dir).mkdir(parents=True)
        (tmp_path / "ade" / "annotations" / split_dir).mkdir(parents=True)
        photo.save(tmp_path / "ade" / "images" / split_dir / "a.jpg")
        Image.fromarray(rng.integers(0, 151, (64, 64), dtype=np.uint8)).save(
            tmp_path / "ade" / "annotations" / split_dir / "a.png")
    result = run_seg("eval", "model=segformer_b0", "model.pretrained=true", "dataset=ade20k",
                     f"dataset.root={tmp_path / 'ade'}", "workers=0", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "37.40" in result.stdout and "SegFormer (Xie et al., NeurIPS 2021)" in result.stdout
    metrics = (run_dirs(tmp_path, "eval")[-1] / "metrics.json").read_text()
    assert '"published"' in metrics


@pytest.mark.slow
def test_predict_offline_without_the_checkpoint_is_one_line_and_leaves_nothing(tmp_path):
    Image.new("RGB", (20, 10)).save(tmp_path / "photo.png")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    start = time.monotonic()
    result = run_seg("predict", "photo.png", "model=segformer_b0", "model.pretrained=true", cwd=tmp_path, env=env)
    assert time.monotonic() - start < 15  # the CLI's start-up included; the lookup itself takes no wait
    errors = [line for line in result.stderr.splitlines() if line.startswith("seg: error:")]
    assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr
    assert f"hf download {SEGFORMER_B0}" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]  # no run dir, no outputs


@pytest.mark.slow
def test_train_with_an_uncached_id_and_an_unreachable_hub_is_one_line_and_leaves_nothing(tmp_path):
    """No HF_HUB_OFFLINE: the hub endpoint is a closed local port, so the probe, not the client's retries, answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = {"HF_HOME": str(tmp_path / "hf-home"), "HF_ENDPOINT": f"http://127.0.0.1:{closed}", "HF_HUB_OFFLINE": ""}
    start = time.monotonic()
    result = run_seg("train", "model=segformer_b0", cwd=tmp_path, env=env)
    assert time.monotonic() - start < 15  # the CLI's start-up included
    errors = [line for line in result.stderr.splitlines() if line.startswith("seg: error:")]
    assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr
    assert "the hub cannot be reached" in errors[0] and f"hf download {SEGFORMER_B0}" in errors[0]
    assert not list(tmp_path.glob("outputs*"))  # no run dir, and no empty outputs/ either


def test_a_folder_without_an_image_processor_warns_and_keeps_seg_defaults(tmp_path, caplog):
    tiny_segformer(["a", "b"]).save_pretrained(tmp_path / "no-processor")
    with caplog.at_level("WARNING"):
        labels = HubWeights().label_set(HubCheckpoint(str(tmp_path / "no-processor")))
    assert labels["class_names"] == ["a", "b"] and labels["mean"] is None
    assert "no image processor found" in caplog.text


def test_the_dispatcher_reads_a_quoted_hub_id_without_its_quotes():
    from seg_cli.cli import unquoted

    assert unquoted("'nvidia/segformer-b0-finetuned-ade-512-512'") == "nvidia/segformer-b0-finetuned-ade-512-512"
    assert unquoted('"a b"') == "a b" and unquoted("plain") == "plain" and unquoted("'") == "'"
