"""`seg data check|download|show` on the synthetic set and on VOC fixtures; offline downloads."""

import numpy as np
import pytest
from PIL import Image

from seg_cli.cli import data_overrides
from tests.helpers import run_seg, write_voc

SMALL_SYNTHETIC = ["dataset.train_size=6", "dataset.val_size=3", "dataset.min_side=40", "dataset.max_side=56"]


def test_data_words_become_overrides():
    assert data_overrides(["download", "voc"]) == ["action=download", "name=voc"]
    assert data_overrides(["check"]) == ["action=check"]
    assert data_overrides([]) == []
    with pytest.raises(ValueError, match="unknown action 'frob'"):
        data_overrides(["frob"])


def test_check_passes_on_the_synthetic_set(tmp_path):
    result = run_seg("data", "check", *SMALL_SYNTHETIC, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no problems found" in result.stdout
    for expected in ("train", "val", "circle", "triangle", "(ignore)"):
        assert expected in result.stdout


def test_check_reports_every_bad_file_of_a_voc_tree_and_fails(tmp_path):
    devkit = write_voc(tmp_path / "data", n_train=4, n_val=3)
    masks = devkit / "VOC2012" / "SegmentationClass"
    (masks / "2007_000001.png").write_bytes(b"\x89PNG truncated")
    (masks / "2007_000005.png").unlink()  # its image stays: an image without a mask
    result = run_seg("data", "check", "dataset=voc", f"dataset.root={devkit}", cwd=tmp_path)
    assert result.returncode == 1
    assert "problems (2):" in result.stdout
    assert f"[train] cannot read mask {masks / '2007_000001.png'}" in result.stdout
    assert f"[val] mask not found: {masks / '2007_000005.png'}" in result.stdout
    assert result.stderr.strip() == "seg: error: 2 problem(s) found in dataset voc (listed above)"
    assert "aeroplane" in result.stdout  # the histogram names the classes


def test_check_without_root_names_the_key(tmp_path):
    result = run_seg("data", "check", "dataset=voc", cwd=tmp_path)
    assert result.returncode == 1
    assert "dataset.root is required" in result.stderr and "Traceback" not in result.stderr


def test_download_offline_fails_with_one_line_naming_the_urls(tmp_path):
    # Port 9 on the loopback refuses at once (and the timeout bounds any host that does not answer).
    result = run_seg("data", "download", "voc", f"root={tmp_path / 'voc'}", "mirror=http://127.0.0.1:9",
                     "timeout=5", cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "http://127.0.0.1:9/VOCtrainval_11-May-2012.tar" in lines[0]
    assert "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar" in lines[0]
    assert f"unpack into {tmp_path / 'voc'}" in lines[0]


def test_download_skips_what_is_already_there(tmp_path):
    write_voc(tmp_path / "data", n_train=1, n_val=1)
    result = run_seg("data", "download", "voc", f"root={tmp_path / 'data'}", "mirror=http://127.0.0.1:9",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(already there)" in result.stdout


def test_trainaug_list_leaves_out_the_val_images(tmp_path):
    from seg_cli.data.download import write_trainaug_list

    voc = tmp_path / "VOC2012"
    (voc / "SegmentationClassAug").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    for name in ("2008_000001", "2008_000002", "2008_000003"):
        (voc / "SegmentationClassAug" / f"{name}.png").write_bytes(b"")
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text("2008_000002\n")
    assert write_trainaug_list(voc).read_text().split() == ["2008_000001", "2008_000003"]


def test_show_writes_a_grid_of_images_and_masks(tmp_path):
    out = tmp_path / "grid.png"
    result = run_seg("data", "show", *SMALL_SYNTHETIC, "n=3", "columns=2", "cell_size=32", f"out={out}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"to {out}" in result.stdout and "1 circle (128, 0, 0)" in result.stdout
    # 3 samples in rows of 2, each sample an image tile and a mask tile of 32 x 32
    assert Image.open(out).size == (2 * 2 * 32, 2 * 32)


def test_check_reports_stored_values_and_the_convention_they_look_like(seg, tmp_path):
    """Masks with 0 = unlabelled and classes 1..21: check names reduce_zero_label, and passes with it."""
    voc = write_voc(tmp_path / "data")
    for path in (voc / "VOC2012" / "SegmentationClass").glob("*.png"):
        mask = np.asarray(Image.open(path)).copy()
        mask[mask == 255] = 0
        mask[mask > 0] += 1
        mask[0, 0] = 21
        Image.fromarray(mask).save(path)
    result = seg.run("data", "check", "dataset=voc", f"dataset.root={voc}")
    assert result.returncode == 1
    assert "mask values read (as stored): 0, 2, 3, 4, 5, 6, 7, 8, 21" in result.stdout
    assert "looks like 0 as 'unlabelled' with classes 1..N: set dataset.reduce_zero_label=true" in result.stdout
    fixed = seg.run("data", "check", "dataset=voc", f"dataset.root={voc}", "dataset.reduce_zero_label=true")
    assert fixed.returncode == 0, fixed.stdout[-2000:]
    assert "looks like" not in fixed.stdout and "no problems found" in fixed.stdout
    assert "mask values read (after dataset.label_map / reduce_zero_label): 1, 2, 3, 4, 5, 6, 7, 20, 255" in fixed.stdout
