"""`seg data show` prints the colour legend of the dataset's own palette and class names (the grid's colours)."""

import numpy as np
import pytest
from PIL import Image

from seg_cli.commands.data import colour_legend
from tests.data.fixtures import write_cityscapes, write_folder
from tests.helpers import run_seg


def legend(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("colours: "))


@pytest.mark.slow
def test_cityscapes_legend_follows_its_official_colours(tmp_path):
    root = write_cityscapes(tmp_path / "cityscapes")
    out = tmp_path / "grid.png"
    result = run_seg("data", "show", "dataset=cityscapes", f"dataset.root={root}", "n=2", f"out={out}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    line = legend(result.stdout)
    assert line.startswith("colours: 0 road (128, 64, 128), 1 sidewalk (244, 35, 232), 2 building (70, 70, 70)")
    assert line.endswith("13 car (0, 0, 142), 14 truck (0, 0, 70), 15 bus (0, 60, 100), 16 train (0, 80, 100), "
                         "17 motorcycle (0, 0, 230), 18 bicycle (119, 11, 32)")
    drawn = {tuple(c) for c in np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3).tolist()}
    assert (0, 0, 142) in drawn  # the car block is drawn in the colour the legend gives


def test_a_folder_palette_and_class_names_make_the_legend(tmp_path):
    root = write_folder(tmp_path / "mine", n=4, values="multiclass")
    result = run_seg("data", "show", "dataset=folder", f"dataset.root={root}", "dataset.task=multiclass",
                     "dataset.num_classes=3", "dataset.class_names=[sky,tree,road]",
                     "dataset.palette=[[10,20,30],[200,100,50],[0,255,0]]", "n=2", f"out={tmp_path / 'g.png'}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert legend(result.stdout) == "colours: 0 sky (10, 20, 30), 1 tree (200, 100, 50), 2 road (0, 255, 0)"


def test_without_a_palette_the_legend_is_vocs_colour_map():
    assert colour_legend(["background", "plane"], None) == "0 background (0, 0, 0), 1 plane (128, 0, 0)"
    assert colour_legend(["a", "b"], [(1, 2, 3)]) == "0 a (1, 2, 3), 1 b (128, 0, 0)"  # VOC's past the palette
