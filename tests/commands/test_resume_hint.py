"""Issue 21 item 4: after Ctrl-C the command to continue names the run's own last.pt; `train.resume=auto`
says which run it picked and refuses one that has finished its budget, unless the command line raises it."""

import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from seg_cli.checkpoint import save_checkpoint
from seg_cli.commands.train import refuse_finished_run
from seg_cli.engine.state import Progress
from seg_cli.errors import CheckpointError
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg

FAST = [a for a in FAST_TRAIN if not a.startswith("train.epochs=")]


def start_seg(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "seg_cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_epoch(root: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in root.glob("outputs/train/*/*/checkpoints/last.pt"):
            try:
                if torch.load(path, weights_only=True)["progress"]["epoch"] >= 1:
                    return
            except Exception:  # being replaced
                continue
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("no end-of-epoch checkpoint")


@pytest.mark.slow
def test_ctrl_c_names_the_runs_own_last_pt_and_auto_refuses_a_newer_finished_run(tmp_path):
    process = start_seg("train", *FAST, "train.epochs=200", cwd=tmp_path)
    wait_for_epoch(tmp_path, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    (interrupted,) = run_dirs(tmp_path)
    own = interrupted / "checkpoints/last.pt"
    hint = re.search(r"continue with: seg train (.*)$", stderr, flags=re.M)
    assert hint and shlex.split(hint[1]) == [f"train.resume={own}"], stderr
    assert "Traceback" not in stderr
    stopped_at = torch.load(own, weights_only=True)["progress"]["epoch"]

    # Meanwhile another run finished: it holds the newest last.pt.
    state = torch.load(own, weights_only=True)
    state["progress"] |= {"epoch": 200, "epoch_samples": 0}
    other = tmp_path / "outputs/train/2999-01-01/00-00-00-000000/checkpoints/last.pt"
    save_checkpoint(state, other)
    before = other.read_bytes()

    auto = run_seg("train", "train.resume=auto", cwd=tmp_path)
    assert auto.returncode == 1
    assert f"train.resume=auto picked {other}" in auto.stdout  # the log names its pick
    errors = [line for line in auto.stderr.splitlines() if line.strip()]
    assert errors == [f"seg: error: train.resume=auto picked {other}, a run that has finished (it trained all "
                      "train.epochs=200 epochs); pass train.resume=PATH of the run to continue, raise "
                      "train.epochs above 200 to train it further (e.g. train.epochs=400), or drop train.resume"]

    runs = set(run_dirs(tmp_path))
    resumed = run_seg("train", *shlex.split(hint[1]), f"train.epochs={stopped_at + 1}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {own}" in resumed.stdout
    (new,) = set(run_dirs(tmp_path)) - runs
    assert read_metrics(new)["epoch"] == stopped_at + 1
    assert other.read_bytes() == before  # the finished run is untouched


@pytest.mark.slow
def test_auto_refuses_a_finished_run_unless_the_budget_is_raised(seg, tmp_path):
    assert seg.run("train", *FAST_TRAIN).returncode == 0
    (first,) = run_dirs(tmp_path)
    refused = seg.run("train", *FAST_TRAIN, "train.resume=auto")
    assert refused.returncode == 1
    assert "(it trained all train.epochs=1 epochs); pass train.resume=PATH" in refused.stderr
    assert run_dirs(tmp_path) == [first]  # the refused job leaves no run dir behind
    further = seg.run("train", *FAST, "train.epochs=2", "train.resume=auto")
    assert further.returncode == 0, further.stderr
    assert f"train.resume=auto picked {first / 'checkpoints/last.pt'}" in further.stdout
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 2
    # A requeued cluster job comes back to its own, finished run dir: nothing to train, and no failure.
    second = run_dirs(tmp_path)[-1]
    requeued = seg.run("train", *FAST, "train.epochs=2", "train.resume=auto", f"hydra.run.dir={second}")
    assert requeued.returncode == 0, requeued.stderr
    assert f"this job's run in {second} has finished; nothing left to train" in requeued.stdout


def train_cfg(resume: str, epochs: int = 10, max_steps: int | None = None):
    return OmegaConf.create({"train": {"resume": resume, "epochs": epochs, "max_steps": max_steps}})


@pytest.mark.parametrize(("progress", "cfg", "expected"), [
    ({"epoch": 10}, train_cfg("/r/last.pt"),
     "train.resume=/r/last.pt: that run has finished (it trained all train.epochs=10 epochs); raise train.epochs "
     "above 10 to train it further (e.g. train.epochs=20), or drop train.resume"),
    ({"epoch": 2, "epoch_samples": 8, "global_step": 13}, train_cfg("/r/last.pt", max_steps=13),
     "train.resume=/r/last.pt: that run has finished (it took all train.max_steps=13 optimizer steps); raise "
     "train.max_steps above 13 to train it further (e.g. train.max_steps=26), or drop train.resume"),
    ({"epoch": 3, "stop_reason": "miou did not improve by more than 0 in 2 evaluations (best 0.5000)"},
     train_cfg("/r/last.pt"),
     "train.resume=/r/last.pt: that run has finished (it stopped early: miou did not improve by more than 0 in 2 "
     "evaluations (best 0.5000)); drop train.resume to start afresh"),
])
def test_a_finished_run_is_refused_with_the_key_that_would_continue_it(progress, cfg, expected):
    with pytest.raises(CheckpointError) as error:
        refuse_finished_run({"progress": progress}, Path("/r/last.pt"), cfg)
    assert str(error.value) == expected


@pytest.mark.parametrize(("progress", "cfg"), [
    ({"epoch": 10}, train_cfg("auto", epochs=11)),  # the command line raised the budget
    ({"epoch": 3, "epoch_samples": 4}, train_cfg("auto")),  # interrupted mid-epoch
    ({"epoch": 2, "global_step": 12}, train_cfg("auto", epochs=2, max_steps=13)),  # steps decide, not epochs
])
def test_a_run_with_budget_left_is_resumed(progress, cfg):
    refuse_finished_run({"progress": progress}, Path("/r/last.pt"), cfg)
    assert Progress(**progress).finished(cfg.train.epochs, cfg.train.max_steps) is None


@pytest.mark.slow
def test_auto_in_a_sweep_job_resumes_only_that_jobs_own_run(tmp_path):
    elsewhere = tmp_path / "outputs/train/2999-01-01/00-00-00-000000/checkpoints/last.pt"
    save_checkpoint({"config": {}, "progress": {"epoch": 99}}, elsewhere)  # another run's: not this job's
    result = run_seg("train", "-m", "train.resume=auto", *FAST_TRAIN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (job,) = tmp_path.glob("multirun/train/*/*/0")
    assert f"train.resume=auto: no last.pt under {job} yet, starting fresh" in result.stdout
    assert read_metrics(job)["epoch"] == 1


@pytest.mark.parametrize("path", ["/runs/a/last.pt", "/my runs/a,b/last.pt", "/tmp/josé/last.pt", "/tmp/a$b/last.pt",
                                  "/tmp/it's/last.pt", "/tmp/x${y}/last.pt", "/tmp/back\\slash/last.pt"])
def test_the_resume_hint_reads_back_as_the_path_in_the_shell_and_in_hydra(path):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from seg_cli.commands.train import resume_argument

    (word,) = shlex.split(resume_argument(path))
    (override,) = OverridesParser.create().parse_overrides([word])
    # the config node holds Hydra's value; OmegaConf turns an escaped \${ back into ${ when it is read
    assert override.key_or_group == "train.resume" and OmegaConf.create({"v": override.value()}).v == path
