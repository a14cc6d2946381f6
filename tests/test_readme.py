"""Every `seg` command the README shows runs, in order, on tiny fixtures.

README_COMMANDS maps each command line of the README to the arguments the test runs: the same
command with fixture paths substituted and size overrides appended. A README command missing here
fails the first test, so the README cannot show an untested command.
"""

import re
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import FAST_TRAIN, FAST_VOC, run_dirs, run_seg, write_voc

README = Path(__file__).resolve().parents[1] / "README.md"
VOC = "{voc}"
FAST_EVAL = ["workers=0"]

README_COMMANDS: dict[str, list[str]] = {
    "seg --help": ["--help"],
    "seg train": ["train", *FAST_TRAIN],
    "seg eval": ["eval", *FAST_EVAL],
    "seg predict photo.jpg more/": ["predict", "{photo}", "{more}"],
    "seg train model=fcn_resnet50 dataset=voc dataset.root=/data/VOCdevkit":
        ["train", "model=fcn_resnet50", "dataset=voc", f"dataset.root={VOC}", *FAST_VOC],
    "seg train -m optimizer.lr=0.01,0.02 model=fcn_resnet50,deeplabv3_resnet50":
        ["train", "-m", "optimizer.lr=0.01,0.02", "model=fcn_resnet50,deeplabv3_resnet50", *FAST_TRAIN],
    "seg train experiment=voc_fcn_resnet50 dataset.root=/data/VOCdevkit":
        ["train", "experiment=voc_fcn_resnet50", f"dataset.root={VOC}", *FAST_VOC, "model.pretrained_backbone=false"],
    "seg train --help": ["train", "--help"],
    "seg train --cfg job optimizer.lr=0.05": ["train", "--cfg", "job", "optimizer.lr=0.05"],
    "seg train train.epochs=30 train.batch_size=16 optimizer=sgd optimizer.lr=0.02":
        ["train", *FAST_TRAIN, "train.epochs=30", "train.batch_size=4", "optimizer=sgd", "optimizer.lr=0.02"],
    "seg eval ckpt=outputs/train/2026-01-01/12-00-00/checkpoints/best.pt dataset.root=/data/VOCdevkit":
        ["eval", "ckpt={voc_run}/checkpoints/best.pt", f"dataset.root={VOC}", *FAST_EVAL],
    "seg predict photos/ out=masks/ ckpt=path/to/best.pt": ["predict", "{photos}", "out=masks/", "ckpt={best}"],
    "seg train train.epochs=20 train.resume=auto": ["train", *FAST_TRAIN, "train.epochs=2", "train.resume=auto"],
    "seg train train.resume=outputs/train/2026-01-01/12-00-00/checkpoints/last.pt":
        ["train", *FAST_TRAIN, "train.epochs=3", "train.resume={last_run}/checkpoints/last.pt"],
    "seg train -m optimizer.lr=0.01,0.02": ["train", "-m", "optimizer.lr=0.01,0.02", *FAST_TRAIN],
    "pip install -e \".[dev]\" && seg train": ["train", *FAST_TRAIN],
}


def readme_commands() -> list[str]:
    """Command lines inside ```bash blocks, without trailing comments."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(("seg ", "pip ")) or line == "seg":
                commands.append(line)
    return commands


def test_every_readme_command_is_exercised_here():
    assert set(readme_commands()) == set(README_COMMANDS)


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path):
    fixtures = {"voc": str(write_voc(tmp_path / "data")), "photo": str(tmp_path / "photo.jpg"),
                "more": str(tmp_path / "more"), "photos": str(tmp_path / "more")}
    (tmp_path / "more").mkdir()
    for path in (tmp_path / "photo.jpg", tmp_path / "more" / "a.jpg", tmp_path / "more" / "b.png"):
        Image.new("RGB", (30, 20), (120, 40, 200)).save(path)
    for command in readme_commands():
        runs = run_dirs(tmp_path)
        fixtures["last_run"] = fixtures["best_run"] = str(runs[-1]) if runs else ""
        fixtures["best"] = f"{fixtures['best_run']}/checkpoints/best.pt"
        args = [a.format(**fixtures) for a in README_COMMANDS[command]]
        result = run_seg(*args, cwd=tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
        if "dataset=voc" in command:
            fixtures["voc_run"] = str(run_dirs(tmp_path)[-1])
    assert (tmp_path / "masks" / "a.png").is_file()
    assert len(list(tmp_path.glob("multirun/train/*/*/[0-9]*/metrics.json"))) == 6
