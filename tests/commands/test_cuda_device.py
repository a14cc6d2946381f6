"""Each command's device choice on a faked CUDA machine (no GPU is lent to CI: these are that path's only check),
a CUDA device this machine lacks as one line through the real CLI, and `seg eval`'s last line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from PIL import Image

from seg_cli.checkpoint import save_checkpoint
from seg_cli.commands import evaluate, export, predict
from seg_cli.engine import distributed
from seg_cli.engine.training import build_training
from seg_cli.models.build import build_model
from seg_cli.paths import config_dir
from tests.engine.test_device import fake_cuda
from tests.helpers import run_seg

TINY = ["dataset.train_size=4", "dataset.val_size=2", "dataset.min_side=40", "dataset.max_side=48",
        "dataset.base_size=40", "dataset.crop_size=32", "model.base_channels=4", "train.batch_size=2",
        "train.workers=0", "train.progress=false", "train.channels_last=false"]
RUN = "outputs/train/2026-01-01/00-00-00-000000"


class DeviceChosen(Exception):
    """Stops a command right after it chose its device: what comes next needs a real GPU."""


def composed(command: str, *overrides: str):
    with initialize_config_dir(config_dir(), version_base=None):
        return compose(command, overrides=list(overrides))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder holding a tiny seg checkpoint where `seg train` puts one, and a photo to predict."""
    root = tmp_path_factory.mktemp("device")
    config = OmegaConf.to_container(composed("train", *TINY), resolve=True)
    save_checkpoint({"config": config, "model": build_model(config["model"]).state_dict(), "epoch": 1},
                    root / RUN / "checkpoints" / "best.pt")
    Image.fromarray(np.full((36, 44, 3), 120, np.uint8)).save(root / "photo.png")
    return root


def command_call(command: str, root: Path, device: str):
    """A callable running `command` in-process as `seg COMMAND ... device=DEVICE` would, up to its device choice."""
    ckpt = f"ckpt={root / RUN / 'checkpoints' / 'best.pt'}"
    if command == "train":
        config = OmegaConf.to_container(composed("train", *TINY, f"train.device={device}"), resolve=True)
        return lambda: build_training(config)
    if command == "eval":
        return lambda: evaluate.main(composed("eval", ckpt, f"device={device}", "workers=0"))
    if command == "predict":
        return lambda: predict.main(composed("predict", ckpt, f"device={device}", f"inputs=[{root / 'photo.png'}]",
                                             f"out={root / 'predicted'}"))
    return lambda: export.main(composed("export", ckpt, "format=torchscript"))  # export traces on the CPU always


def spy_on_device_choice(monkeypatch) -> list[tuple[tuple, torch.device]]:
    """Record each local_device call (arguments, device returned), then stop the command."""
    chosen: list[tuple[tuple, torch.device]] = []
    real = distributed.local_device

    def spy(*args, **kwargs):
        chosen.append((args + tuple(kwargs.values()), real(*args, **kwargs)))
        raise DeviceChosen

    monkeypatch.setattr(distributed, "local_device", spy)
    monkeypatch.setattr(distributed, "init_distributed", lambda: None)  # a faked torchrun has no process group
    return chosen


@pytest.mark.parametrize("command", ["train", "eval", "predict", "export"])
@pytest.mark.parametrize(("env", "count", "index"), [({}, 1, 0), ({"WORLD_SIZE": "2", "LOCAL_RANK": "1"}, 2, 1)],
                         ids=["one-gpu", "torchrun-local-rank-1"])
def test_each_command_asks_for_an_indexed_cuda_device(monkeypatch, workdir, command, env, count, index):
    run = command_call(command, workdir, "auto")
    calls = fake_cuda(monkeypatch, count)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    chosen = spy_on_device_choice(monkeypatch)
    with pytest.raises(DeviceChosen):
        run()
    [(args, device)] = chosen
    if command == "export":  # ONNX / TorchScript export and its check run on the CPU, GPU or not
        assert args == ("cpu",) and device == torch.device("cpu") and calls == []
    else:
        key = "train.device" if command == "train" else "device"
        assert args[0] == "auto" and (args[1:] or ("device",)) == (key,)
        assert device == torch.device("cuda", index) and calls == [torch.device("cuda", index)]


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_a_gpu_index_the_machine_lacks_is_one_line_naming_device(monkeypatch, capsys, workdir, command):
    calls = fake_cuda(monkeypatch, 1)
    with pytest.raises(SystemExit) as stop:
        command_call(command, workdir, "cuda:5")()
    assert stop.value.code == 1 and calls == []
    assert capsys.readouterr().err == ("seg: error: device=cuda:5: needs cuda:5 but this machine has 1 CUDA device(s); "
                                       "choose from: auto, cpu, cuda, cuda:0\n")


def test_train_device_past_the_last_gpu_names_train_device(monkeypatch, workdir):
    from seg_cli.errors import ConfigError

    fake_cuda(monkeypatch, 1)
    with pytest.raises(ConfigError, match=r"^train\.device=cuda:5: needs cuda:5 but this machine has 1 CUDA"):
        command_call("train", workdir, "cuda:5")()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
@pytest.mark.parametrize(("command", "args"), [
    ("train", ["train.device=cuda", *TINY]),
    ("eval", ["device=cuda:0", "workers=0"]),
    ("predict", ["photo.png", "device=cuda:3"]),
])
def test_cuda_without_a_gpu_is_one_line_through_the_cli(workdir, tmp_path, command, args):
    ckpt = [] if command == "train" else [f"ckpt={workdir / RUN / 'checkpoints' / 'best.pt'}"]
    args = [str(workdir / a) if a == "photo.png" else a for a in args]
    result = run_seg(command, *args, *ckpt, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    key, value = args[0 if command != "predict" else 1].split("=")
    assert line.startswith(f"seg: error: {key}={value}: ") and line.endswith("; choose from: auto, cpu"), line


def test_argument_less_eval_ends_with_the_checkpoint_it_chose(workdir):
    result = run_seg("eval", "workers=0", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    ckpt = workdir / RUN / "checkpoints" / "best.pt"
    [metrics] = (workdir / "outputs" / "eval").glob("*/*/metrics.json")
    assert last.startswith("seg eval: miou ") and last.endswith(f" on 2 val image(s) with {ckpt}; metrics in {metrics}")
