"""TensorBoard event files hold the sample grid, the confusion matrix image and the HParams entry."""

import torch
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from seg_cli.data.palette import colorize
from seg_cli.engine.tensorboard import confusion_image
from tests.helpers import FAST_TRAIN, run_seg


def test_confusion_image_is_row_normalised():
    image = confusion_image(torch.tensor([[3, 1], [0, 2]]))
    assert image.shape == (1, 32, 32)
    assert image[0, 0, 0] == 0.75 and image[0, 0, 16] == 0.25 and image[0, 16, 16] == 1.0


def test_colorize_uses_voc_colours_and_white_ignore():
    rgb = colorize(torch.tensor([[0, 1], [255, 2]]))
    assert rgb[:, 0, 0].tolist() == [0, 0, 0] and rgb[:, 1, 0].tolist() == [1, 1, 1]
    assert torch.allclose(rgb[:, 0, 1], torch.tensor([128 / 255, 0.0, 0.0]))


def test_sweep_writes_images_and_hparams(tmp_path):
    result = run_seg("train", "-m", "optimizer.lr=0.01,0.02", *FAST_TRAIN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = sorted(tmp_path.glob("multirun/train/*/*/[0-9]*"))
    assert len(jobs) == 2
    for job in jobs:
        tags = {}  # tag -> plugin, read back from every event file of the run
        for path in (job / "tb").glob("events.out.tfevents.*"):
            for event in EventFileLoader(str(path)).Load():
                tags.update({v.tag: v.metadata.plugin_data.plugin_name for v in event.summary.value})
        assert tags["val/samples"] == tags["val/confusion_matrix"] == "images"
        assert tags["val/miou"] == tags["val_iou/background"] == "scalars"
        assert tags["_hparams_/session_start_info"] == "hparams" and "hparam/miou" in tags
        overrides = (job / ".hydra/overrides.yaml").read_text()
        assert "optimizer.lr=0.0" in overrides
