"""torchrun on CPU (gloo): one run dir, exact distributed evaluation, resume on another world size."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg

# 5 validation images: an odd count split over 2 ranks.
DDP_TRAIN = [*FAST_TRAIN, "dataset.val_size=5", "train.eval_every=1"]


def torchrun(*args: str, cwd: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "seg_cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_torchrun_trains_into_one_run_dir_and_evaluates_exactly(tmp_path):
    result = torchrun("train", *DDP_TRAIN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    [run] = run_dirs(tmp_path)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert len(list(run.glob("**/.hydra"))) == 1
    trained = read_metrics(run)
    assert "2 process(es) x batch 2" in (run / "train.log").read_text()

    single = run_seg("eval", f"ckpt={run}/checkpoints/last.pt", "workers=0", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    evaluated = read_metrics(run_dirs(tmp_path, "eval")[-1])
    assert evaluated["pixels"] == trained["pixels"] > 0
    assert evaluated["per_class_iou"] == trained["per_class_iou"]
    assert evaluated["miou"] == trained["miou"] or (evaluated["miou"] is None and trained["miou"] is None)

    distributed = torchrun("eval", f"ckpt={run}/checkpoints/last.pt", "workers=0", cwd=tmp_path)
    assert distributed.returncode == 0, distributed.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path, "eval")[-1])["pixels"] == evaluated["pixels"]

    # resume the 2-process run in one process: the global step carries on
    resumed = run_seg("train", "train.resume=auto", "train.epochs=2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    ckpt = torch.load(run_dirs(tmp_path)[-1] / "checkpoints/last.pt", weights_only=True)
    assert ckpt["progress"]["global_step"] == 8 // (2 * 2) + 8 // 2


def test_gradient_accumulation_takes_one_optimizer_step_per_window(tmp_path):
    result = run_seg("train", *FAST_TRAIN, "train.accumulate_steps=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ckpt = torch.load(run_dirs(tmp_path)[-1] / "checkpoints/last.pt", weights_only=True)
    assert ckpt["progress"]["global_step"] == 8 // 2 // 2


def test_slurm_launcher_preset_composes_without_slurm():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra import compose, initialize_config_dir

    from seg_cli.commands import schema
    from seg_cli.paths import config_dir

    schema.register()
    with initialize_config_dir(config_dir=config_dir(), version_base=None):
        cfg = compose("train", overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                                          "hydra.launcher.gpus_per_node=4", "train.resume=auto"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.tasks_per_node) == ("gpu", 4, 4)
    assert launcher.max_num_timeout == 20 and launcher.timeout_min == 1440
    assert cfg.train.resume == "auto"


def test_run_dir_given_on_the_command_line_wins_and_uses_rank_0s_clock():
    from datetime import datetime

    from seg_cli.engine.distributed import run_dir_overrides

    when = datetime(2026, 1, 2, 3, 4, 5, 600000)
    given = ["train.epochs=1", "hydra.run.dir=/jobs/${now:%H-%M}/x"]
    assert run_dir_overrides("train", given, when, 0) == ["train.epochs=1", "hydra.run.dir=/jobs/03-04/x"]
    assert run_dir_overrides("eval", ["++hydra.run.dir=/r"], when, 1)[0] == "++hydra.run.dir=/r"
    default = run_dir_overrides("eval", ["ckpt=a.pt"], when, 1)
    assert default[:2] == ["ckpt=a.pt", "hydra.run.dir=${output_root}/eval/2026-01-02/03-04-05-600000"]
    assert "hydra.output_subdir=null" in default  # only rank 0 writes .hydra/ and logs


@pytest.mark.slow
def test_torchrun_honours_hydra_run_dir_for_train_and_eval(tmp_path):
    train_dir, eval_dir = tmp_path / "job" / "train", tmp_path / "job" / "eval"
    result = torchrun("train", *DDP_TRAIN, f"hydra.run.dir={train_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (train_dir / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert (train_dir / "train.log").is_file() and (train_dir / "metrics.json").is_file()
    assert not (tmp_path / "outputs").exists()

    ckpt = f"ckpt={train_dir}/checkpoints/last.pt"
    result = torchrun("eval", ckpt, "workers=0", f"hydra.run.dir={eval_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    two = read_metrics(eval_dir)
    assert (eval_dir / "evaluate.log").is_file() and not (tmp_path / "outputs").exists()
    single = run_seg("eval", ckpt, "workers=0", f"hydra.run.dir={tmp_path / 'one'}", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    one = read_metrics(tmp_path / "one")
    assert two["pixels"] == one["pixels"] > 0
    assert two["per_class_iou"] == one["per_class_iou"]


@pytest.mark.slow
def test_torchrun_trains_a_model_whose_configuration_leaves_parameters_unused(tmp_path):
    """SMP's PSPNet keeps ResNet stages its encoder_depth of 3 never runs: the family declares unused parameters,
    so DDP looks for them instead of failing at the second step."""
    from seg_cli.models.contract import spec_of
    from seg_cli.models.smp import smp

    assert spec_of(smp(2, arch="pspnet")).unused_parameters
    result = torchrun("train", *DDP_TRAIN, "model=smp", "model.arch=pspnet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["pixels"] > 0
