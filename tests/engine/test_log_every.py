"""Issue 21 item 13: `train.log_every` gives log lines without a terminal, and the bar and the log count epochs
from 1 alike."""

import re

import pytest
import torch

from seg_cli.engine import loop
from seg_cli.engine.fit import fit
from seg_cli.engine.training import build_training
from tests.engine.test_run_schedule import config
from tests.helpers import FAST_TRAIN, run_dirs, run_seg

STEP_LINE = re.compile(r"epoch (\d+)/(\d+)  step (\d+)  loss (\d+\.\d{4})  lr \S+  [\d.]+ img/s")


def test_log_every_gives_a_line_every_n_optimizer_steps_with_1_based_epochs(tmp_path, caplog):
    cfg = config("train.epochs=2", "train.log_every=2", "train.tb_images=0")  # 4 steps an epoch
    training = build_training(cfg)
    with caplog.at_level("INFO", logger="seg_cli.engine"):
        fit(training, tmp_path, cfg)
    lines = [STEP_LINE.search(r.getMessage()) for r in caplog.records]
    seen = [(int(m[1]), int(m[2]), int(m[3])) for m in lines if m]
    assert seen == [(1, 2, 2), (1, 2, 4), (2, 2, 6), (2, 2, 8)]
    assert all(float(m[4]) > 0 for m in lines if m)


def test_the_progress_bar_counts_epochs_from_1_like_the_log(monkeypatch):
    descriptions = []

    class Bar:  # records what train_one_epoch draws
        def __init__(self, *args, desc="", **kwargs):
            descriptions.append(desc)

        def update(self, n): ...
        def set_postfix(self, **kwargs): ...
        def close(self): ...

    monkeypatch.setattr(loop, "tqdm", Bar)
    model = torch.nn.Conv2d(3, 2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    batches = [(torch.rand(2, 3, 4, 4), torch.randint(0, 2, (2, 4, 4)))] * 2
    loop.train_one_epoch(model, torch.nn.CrossEntropyLoss(), optimizer, batches, scheduler, torch.device("cpu"), 0,
                         progress=True, epochs=3)
    assert descriptions == ["epoch 1/3"]


@pytest.mark.slow
def test_a_run_without_a_terminal_logs_every_log_every_steps_and_rounds_the_final_line(tmp_path):
    result = run_seg("train", *FAST_TRAIN, "train.log_every=1", cwd=tmp_path)  # 4 steps, no terminal
    assert result.returncode == 0, result.stderr
    steps = [int(m[3]) for m in STEP_LINE.finditer(result.stdout)]
    assert steps == [1, 2, 3, 4]
    assert re.search(r"done: miou \d\.\d{4} \(best \d\.\d{4} at epoch 1\)", result.stdout), result.stdout[-500:]
    log = (run_dirs(tmp_path)[-1] / "train.log").read_text()
    assert [int(m[3]) for m in STEP_LINE.finditer(log)] == [1, 2, 3, 4]
