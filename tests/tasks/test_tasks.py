"""Every registered task (seg_cli.tasks): its facts, its decode rule on hand-made logits, and one tiny
train -> eval -> predict run through the real CLI."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.choices import DEFAULT_TASK, TASKS
from seg_cli.errors import ConfigError
from seg_cli.losses.binary import BinarySegmentationLoss
from seg_cli.losses.cross_entropy import SegmentationLoss, default_loss
from seg_cli.losses.matting import MattingLoss
from seg_cli.metrics.matting_scorer import MattingScorer
from seg_cli.metrics.names import resolve_best_metric
from seg_cli.metrics.scorers import BinaryScorer, MulticlassScorer, build_scorer
from seg_cli.tasks import get_task
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs

# What each task must answer, written out by hand; a new task needs its row here.
EXPECTED = {
    "multiclass": {"num_classes": 4, "channels": 4, "labels": 4, "loss": SegmentationLoss, "best": "miou",
                   "scorer": MulticlassScorer, "worst": ("miou", False), "save": ("mask", "overlay"),
                   "dataset": "synthetic"},
    "binary": {"num_classes": 1, "channels": 1, "labels": 2, "loss": BinarySegmentationLoss, "best": "max_f",
               "scorer": BinaryScorer, "worst": ("mae", True), "save": ("prob", "mask", "cutout"),
               "dataset": "synthetic_binary"},
    "matting": {"num_classes": 1, "channels": 1, "labels": 2, "loss": MattingLoss, "best": "sad",
                "scorer": MattingScorer, "worst": ("sad", True), "save": ("alpha", "cutout", "composite"),
                "dataset": "synthetic_binary"},  # with dataset.task=matting: the shapes' blurred masks
}
VIDEO_SAVE = {"multiclass": ("overlay", "color"), "binary": ("alpha", "composite"), "matting": ("alpha", "composite")}


def test_the_registry_is_the_choices_table():
    modules = {p.stem for p in Path(sys.modules["seg_cli.tasks"].__file__).parent.glob("*.py")} - {"__init__", "base"}
    assert modules == set(TASKS) == set(EXPECTED)
    assert DEFAULT_TASK == TASKS[0] and get_task(DEFAULT_TASK).name == DEFAULT_TASK


def test_an_unknown_task_is_a_config_error_naming_the_tasks():
    with pytest.raises(ConfigError, match="dataset.task='depth' is not allowed; choose from: multiclass, binary"):
        get_task("depth")


def test_tasks_load_without_torch():
    """Config validation asks tasks their metrics before torch loads."""
    code = ("import sys; from seg_cli.tasks import get_task; from seg_cli.choices import TASKS; "
            "[get_task(n).best_metrics for n in TASKS]; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", TASKS)
def test_task_facts(name):
    task, want = get_task(name), EXPECTED[name]
    assert task.name == name
    assert task.output_channels(want["num_classes"]) == want["channels"]
    assert task.label_count(want["num_classes"]) == want["labels"]
    task.check_classes(want["num_classes"])
    assert type(task.default_loss(255, 0.5)) is want["loss"] is type(default_loss(name))
    assert task.best_metrics[0] == want["best"] == resolve_best_metric(name, "auto")
    assert isinstance(build_scorer(name, want["num_classes"], 255, ["a"] * want["labels"]), want["scorer"])
    assert task.worst_key == want["worst"] and task.default_save == want["save"]
    assert task.default_video_save == VIDEO_SAVE[name]


@pytest.mark.parametrize("name, bad", [("multiclass", 1), ("binary", 3), ("matting", 2)])
def test_a_class_count_that_does_not_fit_names_the_task(name, bad):
    with pytest.raises(ConfigError, match=f"dataset.num_classes={bad} with dataset.task={name}"):
        get_task(name).check_classes(bad)


def test_multiclass_decode_takes_the_highest_logit():
    logits = torch.tensor([[[[2.0, 0.0]], [[1.0, 3.0]], [[0.0, 1.0]]]])  # (1, 3, 1, 2)
    task = get_task("multiclass")
    assert task.predicted_labels(logits).tolist() == [[0, 1]]
    prob, mask = task.decode(logits)
    assert mask.tolist() == [[0, 1]] and mask.dtype == np.uint8
    expected = [math.exp(2) / (math.exp(2) + math.e + 1), math.exp(3) / (1 + math.exp(3) + math.e)]
    assert np.allclose(prob[0], expected)


def test_binary_decode_cuts_the_sigmoid_at_the_threshold():
    logits = torch.tensor([[[[-1.0, 0.5, 2.0]]]])  # (1, 1, 1, 3): probabilities 0.27, 0.62, 0.88
    task = get_task("binary")
    assert task.predicted_labels(logits).tolist() == [[0, 1, 1]]
    prob, mask = task.decode(logits)
    assert np.allclose(prob, torch.sigmoid(logits)[0, 0].numpy()) and mask.tolist() == [[0, 1, 1]]
    assert task.decode(logits, threshold=0.7)[1].tolist() == [[0, 0, 1]]
    assert np.array_equal(np.asarray(task.mask_picture(mask)), mask * 255)


def test_matting_decodes_the_sigmoid_as_alpha_and_draws_truth_prediction_and_error():
    logits = torch.tensor([[[[-1.0, 0.0, 2.0]]]])
    task = get_task("matting")
    alpha, mask = task.decode(logits)
    assert np.allclose(alpha, torch.sigmoid(logits)[0, 0].numpy()) and mask.tolist() == [[0, 1, 1]]
    target = torch.tensor([[[0.0, 0.5, 1.0]], [[1.0, 1.0, 1.0]]])  # alpha, weight
    truth, predicted, error = task.pictures(logits, target)
    assert truth.shape == predicted.shape == error.shape == (3, 1, 3)
    assert truth[0].tolist() == [[0.0, 0.5, 1.0]]
    assert predicted[0][0].tolist() == pytest.approx([69 / 255, 128 / 255, 225 / 255])  # 8-bit, as saved
    assert error[0].tolist() == [[1.0, 1.0, 1.0]] and error[1, 0, 1] == pytest.approx(1 - (128 / 255 - 0.5))


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
def test_train_eval_predict(seg, name, tmp_path):
    want = EXPECTED[name]
    dataset = [f"dataset={want['dataset']}", f"dataset.task={name}", f"dataset.num_classes={want['num_classes']}"]
    trained = seg.run("train", *FAST_TRAIN, *dataset)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["best_metric"] == want["best"]
    evaluated = seg.run("eval", "workers=0")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert want["best"] in read_metrics(run_dirs(tmp_path, "eval")[-1])
    Image.new("RGB", (30, 22), (90, 120, 30)).save(tmp_path / "photo.jpg")
    predicted = seg.run("predict", str(tmp_path / "photo.jpg"), f"out={tmp_path / 'out'}")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    from seg_cli.predict.naming import output_path

    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(output_path(Path("photo"), kind).name for kind in want["save"])
    assert Image.open(output_path(tmp_path / "out" / "photo", want["save"][0])).size == (30, 22)


def test_a_task_deriving_from_another_takes_its_losses():
    from seg_cli.losses.binary import BinarySegmentationLoss
    from seg_cli.losses.cross_entropy import SegmentationLoss
    from seg_cli.tasks.binary import BinaryTask

    class Saliency(BinaryTask):
        name = "saliency"

    assert Saliency().fits_loss(BinarySegmentationLoss) and not Saliency().fits_loss(SegmentationLoss)
    assert not get_task("multiclass").fits_loss(BinarySegmentationLoss)
