"""Issue-7 options through the CLI: inference modes, predict outputs and list files, ONNX backend, losses."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("infer")
    result = run_seg("train", *FAST_TRAIN, "loss=weighted_cross_entropy", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "class_weights=auto (median frequency)" in result.stdout + result.stderr
    return root


@pytest.mark.slow
def test_eval_slide_and_tta_modes_score_every_pixel(trained):
    plain = run_seg("eval", "workers=0", cwd=trained)
    assert plain.returncode == 0, plain.stderr
    slide = run_seg("eval", "workers=0", "infer.mode=slide", "infer.crop=[32,32]", "infer.stride=[24,24]",
                    "infer.flip=true", "infer.scales=[0.75,1.0]", cwd=trained)
    assert slide.returncode == 0, slide.stderr
    first, second = (read_metrics(r) for r in run_dirs(trained, "eval")[-2:])
    assert first["pixels"] == second["pixels"] > 0
    assert "slide inference" in slide.stdout + slide.stderr


def test_unknown_inference_mode_is_refused(trained):
    result = run_seg("eval", "infer.mode=tiles", cwd=trained)
    assert result.returncode == 1 and "infer.mode='tiles' is not allowed" in result.stderr


def test_predict_save_selection_and_list_file(trained, tmp_path):
    Image.new("RGB", (30, 22), (10, 200, 30)).save(tmp_path / "a.jpg")
    Image.new("RGB", (18, 26), (200, 10, 30)).save(tmp_path / "b.png")
    (tmp_path / "list.txt").write_text("a.jpg\n# a comment\n\nb.png\n")
    out = tmp_path / "out"
    result = run_seg("predict", f"@{tmp_path / 'list.txt'}", "save=[mask,color,prob]", f"out={out}", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "a_color.png", "a_prob.png",
                                                      "b.png", "b_color.png", "b_prob.png"]
    assert Image.open(out / "a_color.png").mode == "RGB" and Image.open(out / "a_prob.png").mode == "L"
    bad = run_seg("predict", str(tmp_path / "a.jpg"), "save=[mask,gif]", cwd=trained)
    assert bad.returncode == 1 and "save='gif' is not allowed" in bad.stderr


@pytest.mark.slow
def test_predict_with_exported_onnx_matches_torch(trained, tmp_path):
    pytest.importorskip("onnxruntime")
    model_file = tmp_path / "model.onnx"
    exported = run_seg("export", f"out={model_file}", cwd=trained)
    assert exported.returncode == 0, exported.stderr
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (41, 37, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    torch_out, onnx_out = tmp_path / "t", tmp_path / "o"
    assert run_seg("predict", str(tmp_path / "x.png"), f"out={torch_out}", "save=[mask]", cwd=trained).returncode == 0
    result = run_seg("predict", str(tmp_path / "x.png"), "backend=onnx", f"model_file={model_file}",
                     f"out={onnx_out}", "save=[mask]", cwd=trained)
    assert result.returncode == 0, result.stderr
    same = np.asarray(Image.open(torch_out / "x.png")) == np.asarray(Image.open(onnx_out / "x.png"))
    assert same.mean() > 0.99


@pytest.mark.slow
def test_focal_loss_trains(seg, tmp_path):
    result = seg.run("train", *FAST_TRAIN, "loss=focal", "loss.gamma=1.0", "loss.class_weights=[1,2,2,2]")
    assert result.returncode == 0, result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 1
    wrong = seg.run("train", *FAST_TRAIN, "loss=focal", "loss.class_weights=[1,2]")
    assert wrong.returncode == 1 and "loss.class_weights lists 2 weights" in wrong.stderr


def test_square_sizes_and_single_items_are_one_value(trained, tmp_path):
    """`infer.crop=64`, `save=mask`, `infer.scales=1.0`: what users type, not a Hydra type error."""
    Image.new("RGB", (70, 52), (10, 200, 30)).save(tmp_path / "a.jpg")
    out = tmp_path / "out"
    result = run_seg("predict", str(tmp_path / "a.jpg"), "infer.mode=slide", "infer.crop=32", "infer.stride=24",
                     "infer.scales=1.0", "save=mask", f"out={out}", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["a.png"]
    bad = run_seg("predict", str(tmp_path / "a.jpg"), "infer.mode=slide", "infer.crop=[32,32,3]", cwd=trained)
    assert bad.returncode == 1
    assert "infer.crop=[32, 32, 3] must be a positive integer (a square) or a [height, width] pair" in bad.stderr
    assert "HYDRA_FULL_ERROR" not in bad.stderr


@pytest.mark.slow
def test_rectangular_train_crop_and_single_split(seg, tmp_path):
    result = seg.run("train", *FAST_TRAIN, "dataset.crop_size=[32,40]")
    assert result.returncode == 0, result.stderr
    checked = seg.run("data", "check", "splits=val", "dataset.val_size=3")
    assert checked.returncode == 0, checked.stderr
    assert "val" in checked.stdout and "train" not in checked.stdout.replace("trained", "")
