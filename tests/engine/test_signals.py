"""A signal stops a run with its state in last.pt, whenever in the epoch it arrives (issue 21 item 4: the
command printed after Ctrl-C names that file, so it must exist)."""

import os
import signal

import pytest
import torch

from seg_cli.engine import fit as fit_module
from seg_cli.engine.fit import TrainingInterrupted, fit
from seg_cli.engine.training import build_training
from tests.engine.test_run_schedule import config


def test_a_signal_after_the_last_step_of_an_epoch_stops_after_saving_that_epoch(tmp_path, monkeypatch):
    real = fit_module.train_one_epoch

    def epoch_then_sigint(*args, **kwargs):
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # after the epoch's last after_step: no step is left to notice it
        return result

    monkeypatch.setattr(fit_module, "train_one_epoch", epoch_then_sigint)
    cfg = config("train.epochs=3")  # 4 steps an epoch, last.pt only at the end of an epoch
    training = build_training(cfg)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where pytest was started in the background by a shell
    with pytest.raises(TrainingInterrupted) as stop:
        fit(training, tmp_path, cfg)
    assert stop.value.signum == signal.SIGINT and stop.value.checkpoint == tmp_path / "checkpoints/last.pt"
    saved = torch.load(stop.value.checkpoint, weights_only=True)["progress"]
    assert (saved["epoch"], saved["epoch_samples"], saved["global_step"]) == (1, 0, 4)
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_a_signal_during_the_last_epoch_lets_the_run_finish(tmp_path, monkeypatch):
    real = fit_module.train_one_epoch

    def epoch_then_sigterm(*args, **kwargs):
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(fit_module, "train_one_epoch", epoch_then_sigterm)
    cfg = config("train.epochs=1")
    summary = fit(build_training(cfg), tmp_path, cfg)  # finished: nothing is left to resume
    assert summary["epoch"] == 1 and (tmp_path / "metrics.json").is_file()
