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
