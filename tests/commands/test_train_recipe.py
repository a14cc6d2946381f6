"""`seg train` with the recipe keys: step budgets, early stopping, freezing, EMA, Optuna search, bad values."""

import json

import pytest
import yaml

from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg

NO_EPOCHS = [arg for arg in FAST_TRAIN if not arg.startswith("train.epochs=")]


@pytest.mark.parametrize("args, message", [
    (["train.max_steps=10", "train.epochs=3"],
     "train.max_steps=10 and train.epochs=3 both set the length of the run; give one of them"),
    (["train.max_steps=0"], "train.max_steps=0 must be > 0"),
    (["train.ema.decay=1.5"], "train.ema.decay=1.5 must lie in [0, 1)"),
    (["train.freeze_epochs=2"], "train.freeze_epochs=2 without train.freeze"),
    (["train.early_stopping.patience=-1"], "train.early_stopping.patience=-1 must be >= 0"),
    (["train.backbone_lr_mult=0"], "train.backbone_lr_mult=0.0 must be > 0"),
    (["train.freeze=[encoderx]"], "train.freeze: 'encoderx' matches no module of UNet; its top-level modules are: "
                                  "stem, downs, ups, classifier"),
])
def test_bad_recipe_values_fail_with_one_line_naming_the_key(tmp_path, args, message):
    result = run_seg("train", *NO_EPOCHS, *args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"seg: error: {message}"), result.stderr


@pytest.mark.slow
def test_max_steps_with_step_evaluations_and_early_stopping_through_the_cli(tmp_path):
    # 8 images / batch 2 = 4 steps an epoch: 10 steps end mid-way through epoch 3
    result = run_seg("train", *NO_EPOCHS, "train.max_steps=10", "train.eval_every_steps=4", "train.ema.decay=0.5",
                     "train.freeze=[backbone]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = run_dirs(tmp_path)[-1]
    metrics = read_metrics(run)
    assert metrics["step"] == 10 and metrics["epoch"] == 3 and metrics["stopped_early"] is None
    assert metrics["best_step"] in (4, 8, 10)
    log = (run / "train.log").read_text()
    assert log.count(" validation\n") == 3  # steps 4, 8 and the end (10)


@pytest.mark.slow
def test_a_two_trial_optuna_search_runs_and_reports_the_best_configuration(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    result = run_seg("train", "-m", "hparams_search=lr_wd", "hydra.sweeper.n_trials=2",
                     "hydra.sweeper.sampler.n_startup_trials=1", *FAST_TRAIN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Best parameters" in result.stdout + result.stderr
    results = list(tmp_path.glob("multirun/train/*/*/optimization_results.yaml"))
    assert len(results) == 1
    best = yaml.safe_load(results[0].read_text())
    assert set(best["best_params"]) == {"optimizer.lr", "optimizer.weight_decay"}
    assert 1e-5 <= best["best_params"]["optimizer.lr"] <= 1e-1
    trials = sorted(results[0].parent.glob("[0-9]*/metrics.json"))
    values = [json.loads(p.read_text())["best_value"] for p in trials]
    assert len(values) == 2 and best["best_value"] == pytest.approx(max(values))


@pytest.mark.slow
def test_training_draws_the_worst_validation_images_and_prints_the_chosen_metrics(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run_seg("train", *FAST_TRAIN, "eval.worst=2", "eval.metrics=[iou,dice]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = run_dirs(tmp_path)[-1]
    assert "mDice" in (run / "train.log").read_text()
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    assert "val/worst" in events.Tags()["images"]
    assert "mdice" in read_metrics(run)


def test_hparams_search_without_the_search_extra_is_one_line(monkeypatch, capsys):
    import importlib.util

    from seg_cli import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hydra_plugins.hydra_optuna_sweeper" else real(name, *a))
    assert cli.dispatch(["train", "-m", "hparams_search=lr_wd"]) == 1
    assert capsys.readouterr().err.strip() == ('seg: error: hparams_search needs Hydra\'s Optuna sweeper: '
                                               'pip install -e ".[search]" (or pip install hydra-optuna-sweeper)')
    assert not cli.missing_sweeper(["hparams_search=null"])
