"""Images beyond 8-bit RGB through the real CLI: 4-band 16-bit TIFFs and 16-bit grey PNGs train, evaluate,
predict and export; `seg data stats` measures them; a band-count mismatch is one line."""

import json
import re
import zipfile

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from tests.data.image_fixtures import write_grey16_folder, write_tiff_folder
from tests.helpers import run_dirs, run_seg

TINY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false", "train.tb_images=1",
        "dataset.base_size=32", "dataset.crop_size=32"]
SMALL_UNET = ["model=unet", "model.base_channels=4", "model.depth=2"]


@pytest.fixture(scope="module")
def bands(tmp_path_factory):
    """A folder dataset of six 32x40 four-band uint16 TIFFs with 0/1 masks."""
    return write_tiff_folder(tmp_path_factory.mktemp("bands") / "set", n=6, bands=4)


def folder_of_bands(root) -> list[str]:
    return ["dataset=folder", f"dataset.root={root}", "dataset.image_extensions=[.tif]", "dataset.in_channels=4",
            "dataset.val_fraction=0.34"]


def ok(result) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def checkpoint_config(root) -> dict:
    return torch.load(run_dirs(root)[-1] / "checkpoints" / "best.pt", weights_only=True)["config"]


def assert_predicted(out, stem: str, size: tuple[int, int]) -> None:
    """Binary outputs of one image at its own size; the cut-out's RGB is the image's RGB view."""
    prob, cutout = Image.open(out / f"{stem}_prob.png"), Image.open(out / f"{stem}_cutout.png")
    assert prob.size == cutout.size == size and cutout.mode == "RGBA"
    assert set(np.unique(np.asarray(Image.open(out / f"{stem}.png")))) <= {0, 255}


@pytest.mark.slow
@pytest.mark.parametrize("model", [SMALL_UNET, ["model=lraspp_mobilenet_v3_large"]], ids=["unet", "lraspp"])
def test_four_band_tiffs_train_evaluate_and_predict(seg, tmp_path, bands, model):
    ok(seg.run("train", *folder_of_bands(bands), *model, *TINY))
    config = checkpoint_config(tmp_path)
    assert config["model"]["in_channels"] == config["dataset"]["in_channels"] == 4
    ok(seg.run("eval", "workers=0"))
    out = tmp_path / "pred"
    ok(seg.run("predict", str(bands / "images" / "img_000.tif"), f"out={out}", "save=[prob,mask,cutout,overlay]"))
    assert_predicted(out, "img_000", (40, 32))
    assert Image.open(out / "img_000_overlay.jpg").size == (40, 32)
    Image.new("RGB", (20, 20)).save(tmp_path / "photo.jpg")  # 3 bands for a 4-band model: refused by name
    refused = seg.run("predict", str(tmp_path / "photo.jpg"), f"out={out}")
    assert refused.returncode == 1
    assert "photo.jpg has 3 bands but dataset.in_channels=4" in refused.stdout + refused.stderr


@pytest.mark.slow
def test_four_band_checkpoint_exports_with_four_input_channels(seg, tmp_path, bands):
    ok(seg.run("train", *folder_of_bands(bands), *SMALL_UNET, *TINY))
    out = ok(seg.run("export", "format=torchscript", f"out={tmp_path / 'm.pt'}"))
    assert "[batch, 4, height, width]" in out
    difference = float(re.search(r"max \|torchscript - pytorch\| = (\S+)", out).group(1))
    assert difference < 1e-3
    with zipfile.ZipFile(tmp_path / "m.pt") as archive:
        name = next(n for n in archive.namelist() if n.endswith("extra/seg.json"))
        metadata = json.loads(archive.read(name))
    assert metadata["in_channels"] == 4 and len(metadata["mean"]) == len(metadata["std"]) == 4
    module = torch.jit.load(str(tmp_path / "m.pt"))
    assert module(torch.randn(2, 4, 24, 28)).shape == (2, 1, 24, 28)


@pytest.mark.slow
def test_four_band_onnx_export_predicts_like_the_checkpoint(seg, tmp_path, bands):
    pytest.importorskip("onnxruntime")
    ok(seg.run("train", *folder_of_bands(bands), *SMALL_UNET, *TINY))
    out = ok(seg.run("export", f"out={tmp_path / 'm.onnx'}"))
    assert "[batch, 4, height, width]" in out
    image = str(bands / "images" / "img_001.tif")
    ok(seg.run("predict", image, f"out={tmp_path / 'torch'}"))
    ok(seg.run("predict", image, "backend=onnx", f"model_file={tmp_path / 'm.onnx'}", f"out={tmp_path / 'onnx'}"))
    torch_prob = np.asarray(Image.open(tmp_path / "torch" / "img_001_prob.png"), dtype=int)
    onnx_prob = np.asarray(Image.open(tmp_path / "onnx" / "img_001_prob.png"), dtype=int)
    assert np.abs(torch_prob - onnx_prob).max() <= 1


def test_16_bit_grey_pngs_train_with_one_channel_and_predict(seg, tmp_path):
    root = write_grey16_folder(tmp_path / "grey", n=6)
    ok(seg.run("train", "dataset=folder", f"dataset.root={root}", "dataset.in_channels=1", "dataset.val_fraction=0.34",
               "model.base_channels=4", "model.depth=2", *TINY))
    config = checkpoint_config(tmp_path)
    assert config["model"]["in_channels"] == 1 and config["model"]["_target_"].endswith("unet")
    out = tmp_path / "pred"
    ok(seg.run("predict", str(root / "images" / "img_002.png"), f"out={out}"))
    assert_predicted(out, "img_002", (40, 32))
    rgb = np.asarray(Image.open(out / "img_002_cutout.png"))[..., :3]
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()  # grey, replicated


def test_data_stats_prints_per_channel_mean_and_std_on_the_unit_scale(seg, tmp_path, bands):
    out = ok(seg.run("data", "stats", *folder_of_bands(bands)[:4], "dataset.val_fraction=0",
                     f"hydra.run.dir={tmp_path / 'run'}"))
    pixels = np.stack([tifffile.imread(p) for p in sorted((bands / "images").glob("*.tif"))]) / 65535
    mean, std = pixels.reshape(-1, 4).mean(0), pixels.reshape(-1, 4).std(0)
    line = next(x for x in out.splitlines() if x.startswith("command line:"))
    printed = {key: [float(v) for v in re.search(rf"dataset.{key}=\[([^\]]+)\]", line).group(1).split(",")]
               for key in ("mean", "std")}
    assert "dataset.in_channels=4" in line
    assert np.allclose(printed["mean"], mean, atol=6e-5) and np.allclose(printed["std"], std, atol=6e-5)
    ok(seg.run("data", "show", *folder_of_bands(bands), f"out={tmp_path / 'grid.png'}", "n=2", "cell_size=32",
               f"hydra.run.dir={tmp_path / 'show'}"))
    assert Image.open(tmp_path / "grid.png").mode == "RGB"  # 4 bands shown by their RGB view


def test_info_counts_flops_for_the_dataset_channels(tmp_path):
    out = ok(run_seg("info", "dataset.in_channels=4", "height=32", "width=32", cwd=tmp_path))
    assert "1 x 4 x 32 x 32" in out


def test_band_count_mismatch_stops_training_with_one_line(tmp_path, bands):
    result = run_seg("train", *folder_of_bands(bands), "dataset.in_channels=3", *SMALL_UNET, *TINY, cwd=tmp_path)
    assert result.returncode == 1
    [line] = [x for x in result.stderr.splitlines() if x.startswith("seg: error:")]
    assert re.search(r"img_\d+\.tif has 4 bands but dataset.in_channels=3: set dataset.in_channels=4", line)
