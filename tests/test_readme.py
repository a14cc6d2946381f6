"""Every command the README shows runs, in README order, on tiny fixtures.

README_COMMANDS maps each command line of the README to the argv the test runs: the same command
with fixture paths substituted and size overrides appended (and, where a line needs what a sandbox
cannot have — 8 GPUs, a second node, SLURM, downloads — the closest thing it can run, said in a
comment). A README command missing here fails the first test, so the README cannot show an untested command.
The `seg` commands run one after another in one process (tests/seg_process.py: the imports are paid once,
not sixty times); the others (git, venv, torchrun, scripts) run as their own processes.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.data.fixtures import dataset_config, write_ade20k, write_duts, write_folder, write_hk
from tests.data.matting_fixtures import write_p3m10k, write_ppm100
from tests.helpers import FAST_TRAIN, FAST_VOC, run_dirs, write_voc
from tests.models.fixtures import SMALLEST, write_published_cache
from tests.models.hub_cache import SEGFORMER_B0, tiny_segformer, write_hub_cache
from tests.seg_process import SegProcess
from tests.video_clips import write_clip

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FAST_BINARY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
               "dataset.base_size=32", "dataset.crop_size=32"]
VOC = "dataset.root={voc}"
FAST_ADE = ["train.batch_size=2", "train.workers=0", "train.progress=false", "train.eval_every=1",
            "dataset.base_size=48", "dataset.crop_size=40"]
FAST_STEPS = [arg for arg in FAST_TRAIN if not arg.startswith("train.epochs=")]  # train.max_steps sets the length
NO_DOWNLOAD = "model.pretrained_backbone=false"  # ImageNet weights cannot be downloaded in tests
SEG = "seg"
MATTING = "output_root=matting_runs"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]

README_COMMANDS: dict[str, list[str]] = {
    # the clone: of this checkout; the venv: created (CI installs into its own environment)
    "git clone <URL of this repository> seg && cd seg": ["git", "clone", "--quiet", str(REPO), "seg"],
    "python3 -m venv .venv && . .venv/bin/activate": [sys.executable, "-m", "venv", "--without-pip", ".venv"],
    'pip install -e ".[dev]" && seg train': [SEG, "train", *FAST_TRAIN],  # the install is CI's own step
    "seg --help": [SEG, "--help"],
    "seg train": [SEG, "train", *FAST_TRAIN],
    "seg eval": [SEG, "eval", "workers=0"],
    "seg predict photo.jpg more/": [SEG, "predict", "{photo}", "{more}"],
    # published weights: tests cannot download, so TORCH_HOME's cache holds a random LR-ASPP (the smallest of the
    # six) under its published file name, read through torchvision's real cache path
    "seg predict photo.jpg model=deeplabv3_resnet101 model.pretrained=true":
        [SEG, "predict", "{photo}", f"model={SMALLEST}", "model.pretrained=true", "dataset.base_size=64"],
    "seg eval model=deeplabv3_resnet50 model.pretrained=true dataset=voc dataset.root=/data/VOCdevkit "
    "eval.resolution=resized":
        [SEG, "eval", f"model={SMALLEST}", "model.pretrained=true", "dataset=voc", VOC, "eval.resolution=resized",
         "workers=0", "dataset.base_size=64"],
    "seg predict photo.jpg model=fcn_resnet50 model.weights=path/to/weights.pth":
        [SEG, "predict", "{photo}", f"model={SMALLEST}", "model.weights={published_file}", "dataset.base_size=64"],
    # Hugging Face checkpoints: tests cannot download, so HF_HOME's hub cache holds a tiny random SegFormer with
    # ADE20K's classes under the hub id (and under nvidia/mit-b0 for the recipe), read through the real cache
    "seg predict photo.jpg model=segformer_b0 model.pretrained=true":
        [SEG, "predict", "{photo}", "model=segformer_b0", "model.pretrained=true", "out=hub_masks/"],
    "seg eval model=segformer_b0 model.pretrained=true dataset=ade20k dataset.root=/data/ADEChallengeData2016":
        [SEG, "eval", "model=segformer_b0", "model.pretrained=true", "dataset=ade20k", "dataset.root={ade}",
         "workers=0"],
    "seg train model=smp model.arch=upernet model.encoder=tu-convnext_tiny model.pretrained_backbone=true":
        [SEG, "train", "model=smp", "model.arch=upernet", "model.encoder=tu-convnext_tiny", NO_DOWNLOAD, *FAST_TRAIN],
    "seg train model=hf model.name=nvidia/segformer-b0-finetuned-ade-512-512 model.pretrained=true":
        [SEG, "train", "model=hf", "model.name=nvidia/segformer-b0-finetuned-ade-512-512", "model.pretrained=true",
         *FAST_TRAIN],
    "seg train experiment=ade20k_segformer_b0 dataset.root=/data/ADEChallengeData2016":
        [SEG, "train", "experiment=ade20k_segformer_b0", "dataset.root={ade}", *FAST_ADE, "train.max_steps=2",
         "output_root=recipe_runs"],  # kept apart: later commands pick the newest run under outputs/
    "seg train model=fcn_resnet50 dataset=voc dataset.root=/data/VOCdevkit":
        [SEG, "train", "model=fcn_resnet50", "dataset=voc", VOC, *FAST_VOC],
    "seg train -m optimizer.lr=0.01,0.02 model=fcn_resnet50,deeplabv3_resnet50":
        [SEG, "train", "-m", "optimizer.lr=0.01,0.02", "model=fcn_resnet50,deeplabv3_resnet50", *FAST_TRAIN],
    "seg train experiment=voc_fcn_resnet50 dataset.root=/data/VOCdevkit":
        [SEG, "train", "experiment=voc_fcn_resnet50", VOC, *FAST_VOC, NO_DOWNLOAD],
    "seg train --help": [SEG, "train", "--help"],
    'eval "$(seg -sc install=bash)"': [SEG, "-sc", "install=bash"],  # the completion itself: tests/test_completion.py
    "seg train --cfg job optimizer.lr=0.05": [SEG, "train", "--cfg", "job", "optimizer.lr=0.05"],
    "seg train train.epochs=30 train.batch_size=16 optimizer=sgd optimizer.lr=0.02":
        [SEG, "train", *FAST_TRAIN, "dataset.train_size=16", "train.epochs=30", "train.batch_size=16",
         "optimizer=sgd", "optimizer.lr=0.02"],
    "seg eval ckpt=outputs/train/2026-01-01/12-00-00-000000/checkpoints/best.pt dataset.root=/data/VOCdevkit":
        [SEG, "eval", "ckpt={voc_run}/checkpoints/best.pt", VOC, "workers=0"],
    "seg predict photos/ out=masks/ ckpt=path/to/best.pt": [SEG, "predict", "{more}", "out=masks/", "ckpt={best}"],
    "seg train loss=weighted_cross_entropy": [SEG, "train", "loss=weighted_cross_entropy", *FAST_TRAIN],
    "seg train loss=focal loss.gamma=2": [SEG, "train", "loss=focal", "loss.gamma=2", *FAST_TRAIN],
    "seg eval eval.metrics=[iou,dice,f1,fwiou] eval.worst=8":
        [SEG, "eval", "eval.metrics=[iou,dice,f1,fwiou]", "eval.worst=8", "workers=0"],
    "seg train dataset=duts dataset.root=/data/DUTS model=u2net_lite":
        [SEG, "train", "dataset=duts", "dataset.root={duts}", "model=u2net_lite", *FAST_BINARY],
    "seg predict photo.jpg": [SEG, "predict", "{photo}", "out=cutouts/"],
    "seg predict photo.jpg threshold=0.4": [SEG, "predict", "{photo}", "threshold=0.4", "out=thresholded/"],
    # matting: kept under their own output_root, so that later commands (train.resume=auto) pick the synthetic runs
    "seg train experiment=hk_matting_unet_mobilenet_v2 dataset.root=/data/HK":
        [SEG, "train", "experiment=hk_matting_unet_mobilenet_v2", "dataset.root={hk}", NO_DOWNLOAD, *FAST_BINARY,
         MATTING],
    "seg eval eval.worst=4": [SEG, "eval", "eval.worst=4", "workers=0", MATTING],
    "seg predict photo.jpg predict.background=beach.jpg": [SEG, "predict", "{photo}", "predict.background={beach}",
                                                           MATTING],
    "seg predict photo.jpg save=[alpha,cutout] predict.alpha_bits=16 predict.foreground=estimate":
        [SEG, "predict", "{photo}", "save=[alpha,cutout]", "predict.alpha_bits=16", "predict.foreground=estimate",
         MATTING],
    "seg train dataset=p3m10k dataset.root=/data/P3M-10k model=smp model.encoder=mobilenet_v2":
        [SEG, "train", "dataset=p3m10k", "dataset.root={p3m}", "model=smp", "model.encoder=mobilenet_v2",
         *FAST_BINARY, MATTING],
    "seg eval dataset=ppm100 dataset.root=/data/PPM-100": [SEG, "eval", "dataset=ppm100", "dataset.root={ppm}",
                                                           "workers=0", MATTING],
    # video: a clip made by the test (65x47, 30000/1001 fps, AAC); the multi-class run is the first one trained
    "seg predict clip.mp4": [SEG, "predict", "{clip}", "ckpt={first_best}", "out=video_out/"],
    "seg predict clip.mp4 predict.frames=true": [SEG, "predict", "{clip}", "ckpt={first_best}", "predict.frames=true",
                                                 "out=video_frames/"],
    "seg predict clip.mp4 ckpt=matting.pt predict.alpha_video=webm":
        [SEG, "predict", "{clip}", "ckpt={matting_best}", "predict.alpha_video=webm", "out=video_alpha/"],
    "seg predict clip.mp4 predict.every_n_frames=2 predict.max_frames=3":
        [SEG, "predict", "{clip}", "ckpt={first_best}", "predict.every_n_frames=2", "predict.max_frames=3",
         "out=video_look/"],
    "seg train experiment=duts_u2net dataset.root=/data/DUTS":
        [SEG, "train", "experiment=duts_u2net", "dataset.root={duts}", *FAST_BINARY],
    "seg train dataset=folder dataset.root=/data/mine model=unet":
        [SEG, "train", "dataset=folder", "dataset.root={mine}", "model=unet", *FAST_BINARY],
    "seg eval infer.mode=slide infer.crop=[512,512] infer.stride=[341,341]":
        [SEG, "eval", "infer.mode=slide", "infer.crop=[24,24]", "infer.stride=[16,16]", "workers=0"],
    "seg predict photo.jpg infer.flip=true infer.scales=[0.75,1.0,1.25]":
        [SEG, "predict", "{photo}", "infer.flip=true", "infer.scales=[0.75,1.0,1.25]"],
    "seg predict @list.txt save=[mask,color,prob]": [SEG, "predict", "@{list}", "save=[mask,color,prob]"],
    "seg train train.epochs=20 train.resume=auto": [SEG, "train", "train.epochs=2", "train.resume=auto"],
    "seg train train.resume=outputs/train/2026-01-01/12-00-00-000000/checkpoints/last.pt":
        [SEG, "train", "train.epochs=3", "train.resume={last_run}/checkpoints/last.pt"],
    "seg train train.checkpoint_every=500 data.on_error=skip":
        [SEG, "train", *FAST_TRAIN, "train.checkpoint_every=500", "data.on_error=skip"],
    "seg report outputs/train/DATE/TIME": [SEG, "report", "{last_run}"],
    "seg report multirun/train": [SEG, "report", "multirun/train"],
    "seg report outputs/train/DATE/TIME1 outputs/train/DATE/TIME2 out=compare.html":
        [SEG, "report", "{first_best}/../..", "{last_run}", "out=compare.html"],
    "seg train -m optimizer.lr=0.01,0.02": [SEG, "train", "-m", "optimizer.lr=0.01,0.02", *FAST_TRAIN],
    "seg train -m hparams_search=lr_wd hydra.sweeper.n_trials=20":
        [SEG, "train", "-m", "hparams_search=lr_wd", "hydra.sweeper.n_trials=2", *FAST_TRAIN],
    "seg train train.max_steps=80000 train.eval_every_steps=8000":
        [SEG, "train", *FAST_STEPS, "train.max_steps=6", "train.eval_every_steps=3"],
    "seg train train.early_stopping.patience=5 train.early_stopping.min_delta=0.001":
        [SEG, "train", *FAST_TRAIN, "train.epochs=3", "train.early_stopping.patience=1",
         "train.early_stopping.min_delta=0.001"],
    "seg train model=deeplabv3_resnet50 model.pretrained_backbone=true train.freeze=[backbone] train.freeze_epochs=2":
        [SEG, "train", "model=deeplabv3_resnet50", NO_DOWNLOAD, "train.freeze=[backbone]", "train.freeze_epochs=1",
         *FAST_TRAIN, "train.epochs=2"],  # ImageNet weights cannot be downloaded here
    "seg train train.ema.decay=0.999 train.backbone_lr_mult=0.1":
        [SEG, "train", "train.ema.decay=0.999", "train.backbone_lr_mult=0.1", *FAST_TRAIN],
    # 8 GPUs -> 2 CPU processes (gloo)
    "torchrun --nproc_per_node=8 -m seg_cli train experiment=voc_deeplabv3_resnet50 dataset.root=/data/VOCdevkit":
        [*TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "seg_cli", "train",
         "experiment=voc_deeplabv3_resnet50", VOC, *FAST_VOC, NO_DOWNLOAD],
    # two nodes -> one node with the same c10d rendezvous on a free local port
    "torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=node0:29500 -m seg_cli train "
    "experiment=voc_deeplabv3_resnet50 dataset.root=/data/VOCdevkit":
        [*TORCHRUN, "--nnodes=1", "--nproc_per_node=2", "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:{port}",
         "-m", "seg_cli", "train", "experiment=voc_deeplabv3_resnet50", VOC, *FAST_VOC, NO_DOWNLOAD],
    # the [slurm] extra is part of [dev]: check that the launcher plugin it installs is importable
    'pip install -e ".[slurm]"': [sys.executable, "-c", "import hydra_plugins.hydra_submitit_launcher"],
    # no SLURM here: compose the job (launcher included) and print it instead of submitting
    "seg train -m hydra/launcher=slurm hydra.launcher.partition=gpu train.resume=auto "
    "experiment=voc_deeplabv3_resnet50 dataset.root=/data/VOCdevkit":
        [SEG, "train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "train.resume=auto",
         "experiment=voc_deeplabv3_resnet50", VOC, "--cfg", "hydra"],
    "seg export out=model.onnx": [SEG, "export", "out=model.onnx", "ckpt={first_best}"],
    "seg export format=torchscript out=model.pt": [SEG, "export", "format=torchscript", "out=model.pt",
                                                   "ckpt={first_best}"],
    "seg export format=hf out=my-segformer": [SEG, "export", "format=hf", "out=my-segformer", "ckpt={hf_best}"],
    "seg export format=smp out=my-smp-model": [SEG, "export", "format=smp", "out=my-smp-model", "ckpt={smp_best}"],
    "seg predict photo.jpg backend=onnx model_file=model.onnx":
        [SEG, "predict", "{photo}", "backend=onnx", "model_file=model.onnx"],
    "seg info model=fcn_resnet50 dataset=voc height=520 width=520":
        [SEG, "info", "model=fcn_resnet50", "dataset=voc", "height=520", "width=520", VOC],
    "seg data check dataset=voc dataset.root=/data/VOCdevkit": [SEG, "data", "check", "dataset=voc", VOC],
    # the fixture is already unpacked under root, so nothing is fetched
    "seg data download voc root=/data": [SEG, "data", "download", "voc", "root={data}"],
    "seg data show dataset=voc dataset.root=/data/VOCdevkit n=8": [SEG, "data", "show", "dataset=voc", VOC, "n=8"],
    "seg data show dataset=voc dataset.root=/data/VOCdevkit augment=strong":
        [SEG, "data", "show", "dataset=voc", VOC, "augment=strong", "dataset.crop_size=40"],
    "seg train augment=strong augment.steps.3.p=0.2": [SEG, "train", "augment=strong", "augment.steps.3.p=0.2",
                                                      *FAST_TRAIN],
    "python scripts/bench.py --model lraspp_mobilenet_v3_large --batch 4 --crop 256 --device cpu":
        [sys.executable, str(REPO / "scripts/bench.py"), "--model", "lraspp_mobilenet_v3_large", "--batch", "4",
         "--crop", "256", "--device", "cpu", "--steps", "2", "--warmup", "1", "--eval-images", "2",
         "--predict-images", "1", "--repeats", "1", "--rounds", "1", "--startup", "none"],
    # the library families' bench, shortened like the one above
    "python scripts/bench.py --model smp --batch 4 --crop 256 --device cpu --steps 3 --rounds 12 --train-only "
    "model.encoder=resnet34":
        [sys.executable, str(REPO / "scripts/bench.py"), "--model", "smp", "--batch", "2", "--crop", "64", "--device",
         "cpu", "--steps", "1", "--warmup", "1", "--rounds", "2", "--train-only", "model.encoder=resnet34"],
    "python scripts/bench.py --model hf --batch 4 --crop 256 --device cpu --steps 3 --rounds 12 --train-only":
        [sys.executable, str(REPO / "scripts/bench.py"), "--model", "hf", "--batch", "2", "--crop", "64", "--device",
         "cpu", "--steps", "1", "--warmup", "1", "--rounds", "2", "--train-only"],
}


def readme_commands() -> list[str]:
    """Command lines inside ```bash blocks, without trailing comments."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        commands += [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    return commands


def test_every_readme_command_is_exercised_here():
    assert sorted(readme_commands()) == sorted(README_COMMANDS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_fixtures(root: Path) -> dict[str, str]:
    voc = write_voc(root / "data")
    (root / "more").mkdir()
    for path in (root / "photo.jpg", root / "more" / "a.jpg", root / "more" / "b.png"):
        Image.new("RGB", (30, 20), (120, 40, 200)).save(path)
    (root / "list.txt").write_text("photo.jpg\nmore/a.jpg\n")
    Image.new("RGB", (50, 10), (240, 200, 120)).save(root / "beach.jpg")
    return {"voc": str(voc), "data": str(root / "data"), "photo": str(root / "photo.jpg"), "more": str(root / "more"),
            "list": str(root / "list.txt"), "duts": str(write_duts(root / "DUTS")),
            "mine": str(write_folder(root / "mine")), "port": str(free_port()), "torch_home": str(root / "torch"),
            "published_file": str(write_published_cache(root / "torch")), "ade": str(write_ade20k(root / "ade")),
            "hf_home": str(write_hub_caches(root / "hf-home")), "hk": str(write_hk(root / "HK")),
            "p3m": str(write_p3m10k(root / "P3M-10k")), "ppm": str(write_ppm100(root / "PPM-100")),
            "beach": str(root / "beach.jpg"), "clip": str(write_clip(root / "clip.mp4"))}


def write_hub_caches(hf_home: Path) -> Path:
    """SegFormer-B0's ADE20K id and nvidia/mit-b0, both a tiny random SegFormer with ADE20K's 150 classes."""
    names = dataset_config("ade20k")["class_names"]
    for repo_id in (SEGFORMER_B0, "nvidia/mit-b0"):
        write_hub_cache(hf_home, repo_id, tiny_segformer(names))
    return hf_home


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_readme_commands_run_in_order(tmp_path):
    fixtures = make_fixtures(tmp_path)
    env = {"TORCH_HOME": fixtures["torch_home"], "HF_HOME": fixtures["hf_home"], "HF_HUB_OFFLINE": "1"}
    with SegProcess(tmp_path, env) as seg:
        for command in readme_commands():
            run_readme_command(command, fixtures, tmp_path, seg, env)
    assert_readme_outputs(tmp_path)


def run_readme_command(command: str, fixtures: dict[str, str], tmp_path: Path, seg: SegProcess,
                       env: dict[str, str]) -> None:
    """Run one README command (`seg ...` in `seg`'s process, anything else as its own process) and note the
    runs that later commands refer to."""
    runs = run_dirs(tmp_path)
    fixtures["last_run"] = str(runs[-1]) if runs else ""
    fixtures["best"] = f"{fixtures['last_run']}/checkpoints/best.pt"
    argv = [a.format(**fixtures) for a in README_COMMANDS[command]]
    if argv[0] == SEG:
        result = seg.run(*argv[1:], timeout=900)
    else:
        result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                                env={**os.environ, **env})
    assert result.returncode == 0, f"{command}\n{result.stdout[-1500:]}\n{result.stderr[-3000:]}"
    if command.startswith("seg train model=fcn_resnet50 dataset=voc"):
        fixtures["voc_run"] = str(run_dirs(tmp_path)[-1])
    for family in ("hf", "smp"):  # the checkpoints `seg export format=hf|smp` exports
        if command.startswith(f"seg train model={family} "):
            fixtures[f"{family}_best"] = str(run_dirs(tmp_path)[-1] / "checkpoints" / "best.pt")
    if command.startswith("seg train experiment=hk_matting"):
        fixtures["matting_best"] = str(sorted((tmp_path / "matting_runs" / "train").glob("*/*"))[-1]
                                       / "checkpoints" / "best.pt")
    if "first_best" not in fixtures and run_dirs(tmp_path):
        fixtures["first_best"] = str(run_dirs(tmp_path)[0] / "checkpoints" / "best.pt")


def assert_readme_outputs(tmp_path: Path) -> None:
    assert (tmp_path / "masks" / "a.png").is_file() and (tmp_path / "cutouts" / "photo_cutout.png").is_file()
    assert (tmp_path / "model.onnx").is_file() and (tmp_path / "model.pt").is_file()
    assert (tmp_path / "my-segformer" / "config.json").is_file() and (tmp_path / "my-smp-model" / "config.json").is_file()
    assert len(list(tmp_path.glob("matting_runs/predict/*/*/photo_composite.jpg"))) == 1
    assert (tmp_path / "compare.html").is_file() and (tmp_path / "multirun" / "train" / "report.html").is_file()
    assert (tmp_path / "video_out" / "clip_overlay.mp4").is_file() and (tmp_path / "video_alpha" / "clip_alpha.webm").is_file()
    assert (tmp_path / "seg" / "pyproject.toml").is_file() and (tmp_path / ".venv" / "bin" / "python").exists()
    # 4 grid jobs, 2 learning rates, 2 Optuna trials
    assert len(list(tmp_path.glob("multirun/train/*/*/[0-9]*/metrics.json"))) == 8
    assert len(list(tmp_path.glob("multirun/train/*/*/optimization_results.yaml"))) == 1
