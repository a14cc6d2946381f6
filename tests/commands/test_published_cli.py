"""`seg predict` / `seg eval` with torchvision's published weights and no training, through the real CLI.

The weights come from a TORCH_HOME cache holding a random LR-ASPP under the published file name (no network).
"""

import json
import socket

import pytest
from PIL import Image

from seg_cli.models.torchvision_models import published_weights
from tests.helpers import run_dirs, run_seg, write_voc
from tests.models.fixtures import SMALLEST, write_published_cache

PRETRAINED = [f"model={SMALLEST}", "model.pretrained=true", "dataset.base_size=64"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    write_published_cache(root / "torch")
    Image.new("RGB", (40, 30), (120, 40, 200)).save(root / "photo.jpg")
    return {"root": root, "env": {"TORCH_HOME": str(root / "torch")}, "voc": write_voc(root / "data")}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_predict_needs_no_training_and_no_dataset(site):
    out = site["root"] / "masks"
    result = run_seg("predict", "photo.jpg", *PRETRAINED, f"out={out}", cwd=site["root"], env=site["env"])
    assert result.returncode == 0, result.stderr
    assert (out / "photo.png").is_file() and (out / "photo_overlay.jpg").is_file()
    assert Image.open(out / "photo.png").size == (40, 30)
    assert "lraspp_mobilenet_v3_large-d234d4ea.pth" in result.stdout + result.stderr


def test_eval_prints_the_published_figures_beside_the_measured(site):
    result = run_seg("eval", *PRETRAINED, "dataset=voc", f"dataset.root={site['voc']}", "eval.resolution=resized",
                     "workers=0", cwd=site["root"], env=site["env"])
    assert result.returncode == 0, result.stderr
    assert "measured  published" in result.stdout
    assert "91.20" in result.stdout and "57.90" in result.stdout  # torchvision's figures for LR-ASPP
    metrics = json.loads((run_dirs(site["root"], "eval")[-1] / "metrics.json").read_text())
    assert metrics["published"]["miou"] == pytest.approx(0.579)
    assert "COCO-val2017-VOC-labels" in metrics["published"]["source"]
    assert metrics["per_class_iou"].keys() >= {"background", "tvmonitor"}  # the dataset's own names


def test_offline_and_not_cached_says_where_to_put_the_file(tmp_path):
    proxy = f"http://127.0.0.1:{closed_port()}"  # every download is refused at once: no network is reached
    env = {"TORCH_HOME": str(tmp_path / "torch"), "HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy,
           "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    result = run_seg("predict", "photo.jpg", *PRETRAINED, cwd=tmp_path, env=env, timeout=120)
    weights = published_weights(SMALLEST)
    errors = [line for line in result.stderr.splitlines() if line.startswith("seg: error:")]
    assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr
    assert weights.url in errors[0]
    assert str(tmp_path / "torch/hub/checkpoints/lraspp_mobilenet_v3_large-d234d4ea.pth") in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["torch"]  # no run dir, no outputs


def test_dispatcher_appends_group_choices_and_fetches_only_plain_pretrained_runs(monkeypatch):
    from seg_cli import cli
    from seg_cli.models import published

    assert cli.checkpoint_overrides(["model=fcn_resnet50", "dataset=voc", "dataset.root=/d", "ckpt=x.pt"]) == [
        "+model=fcn_resnet50", "+dataset=voc", "++dataset.root=/d", "ckpt=x.pt"]
    fetched = []
    monkeypatch.setattr(published, "ensure_cached", lambda option, keys: fetched.append(option))
    line = ["+model=fcn_resnet50", "++model.pretrained=true"]
    cli.prefetch_published_weights([], line)
    cli.prefetch_published_weights(["--cfg", "job"], line)  # nothing runs
    cli.prefetch_published_weights([], [*line, "ckpt=x.pt"])  # the checkpoint's weights win
    cli.prefetch_published_weights([], ["+model=fcn_resnet50", "++model.pretrained=false"])
    assert fetched == ["fcn_resnet50"]
