"""Every SMP architecture and every Hugging Face head type, tiny, through the CLI: `seg train` a few steps,
`seg eval ckpt=`, `seg predict` of an odd-sized photo and `seg export` (ONNX, checked against PyTorch by the
command itself; a size-bound model at a fixed size, said in one line). One model of each family also exports
its own folder format. HF_HUB_OFFLINE=1 throughout: the HF models are tiny configs saved with save_pretrained.

The commands of one model run one after the other in one process (tests/seg_process.py): a process per
command would pay the imports of torch, timm and transformers four times a model, which is most of this
matrix's time. The models run two at a time, each process on one thread: tracing and exporting is mostly
single-threaded Python, so two share the CI machine's two cores better than one does."""

from __future__ import annotations

import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import FAST_TRAIN
from tests.seg_process import SegProcess

pytest.importorskip("onnxruntime")
SMP_ARCHS = ["unet", "unetplusplus", "manet", "linknet", "fpn", "pspnet", "deeplabv3", "deeplabv3plus", "pan",
             "upernet", "segformer", "dpt"]
HF_TYPES = ["segformer", "upernet", "dpt", "beit", "data2vec-vision", "mobilevit", "mask2former"]
SIZE_BOUND = {("smp", "pspnet"), ("smp", "upernet"), ("hf", "upernet"), ("hf", "beit"), ("hf", "dpt"),
              ("hf", "mask2former")}
FOLDER_FORMAT = {("smp", "fpn"): "smp", ("hf", "segformer"): "hf", ("hf", "mask2former"): "hf"}
CASES = [("smp", arch) for arch in SMP_ARCHS] + [("hf", kind) for kind in HF_TYPES]
PHOTO = (61, 37)  # width, height: odd, and no multiple of any stride
PARALLEL = 2


def hf_folder(model_type: str, root: Path) -> Path:
    """A tiny random `model_type` saved with save_pretrained (the configs of tests/models/test_hf.py)."""
    import torch
    import transformers

    from tests.models.test_hf import OTHERS, tiny_segformer, tiny_upernet
    from tests.models.test_hf_mask2former import tiny_mask2former

    torch.manual_seed(0)
    if model_type == "mask2former":  # trains with its own loss (loss=auto picks it)
        model = tiny_mask2former()
    elif model_type in ("segformer", "upernet"):
        model = {"segformer": tiny_segformer, "upernet": tiny_upernet}[model_type]()
    else:
        config = transformers.AutoConfig.for_model(model_type, **OTHERS[model_type][0])
        model = transformers.AutoModelForSemanticSegmentation.from_config(config)
    model.save_pretrained(root / model_type)
    return root / model_type


def model_overrides(family: str, name: str, root: Path) -> list[str]:
    if family == "smp":
        encoder = "tu-test_vit" if name == "dpt" else "tu-test_convnext"  # timm's test models; DPT takes ViTs
        return ["model=smp", f"model.arch={name}", f"model.encoder={encoder}"]
    return ["model=hf", f"model.name={hf_folder(name, root)}", "model.pretrained=true"]


def case_commands(family: str, name: str, root: Path) -> list[list[str]]:
    """train a few steps, eval, predict an odd-sized photo, export ONNX (and the family's folder format)."""
    ckpt = root / "run" / "checkpoints" / "best.pt"
    Image.new("RGB", PHOTO, (90, 140, 30)).save(root / "photo.png")
    commands = [
        ["train", *FAST_TRAIN, "train.tb_images=0", *model_overrides(family, name, root), f"hydra.run.dir={root / 'run'}"],
        ["eval", f"ckpt={ckpt}", "workers=0"],
        ["predict", str(root / "photo.png"), f"ckpt={ckpt}", f"out={root / 'pred'}"],
        # 64: from a 48-pixel sample torch.export guards SegFormer's H, W >= 33, which dynamic dims refuse
        ["export", f"ckpt={ckpt}", f"out={root / 'model.onnx'}", "height=64", "width=64"],
    ]
    fmt = FOLDER_FORMAT.get((family, name))
    if fmt:
        commands.append(["export", f"ckpt={ckpt}", f"format={fmt}", f"out={root / fmt}"])
    return commands


def run_case(commands: list[list[str]], root: Path) -> tuple[dict[str, str], Path]:
    """({command: its stdout}, root) after running `commands` in one process in `root`; fails on the first
    non-zero exit."""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(root / "hf-home"), "OMP_NUM_THREADS": "1"}
    outputs: dict[str, str] = {}
    with SegProcess(root, env) as seg:
        for command in commands:
            result = seg.run(*command)
            assert result.returncode == 0, f"seg {' '.join(command)}\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
            outputs[command[0]] = outputs.get(command[0], "") + result.stdout
    return outputs, root


@pytest.fixture(scope="module")
def started_cases(request, tmp_path_factory):
    """The cases this session selected, started in the background PARALLEL at a time, in test order. Their
    files (the HF models, seeded) are written here, in one thread, so they do not depend on the timing."""
    selected = [(item.callspec.params["family"], item.callspec.params["name"]) for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")]
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures: dict[tuple[str, str], Future] = {}
        for family, name in selected:
            root = tmp_path_factory.mktemp(f"{family}-{name}")
            futures[family, name] = pool.submit(run_case, case_commands(family, name, root), root)
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("family,name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_train_eval_predict_and_export(family, name, started_cases):
    outputs, root = started_cases[family, name].result(timeout=1200)
    onnx_file = root / "model.onnx"

    assert "mIoU" in outputs["eval"]
    written = list((root / "pred").rglob("*.png"))
    assert written and all(Image.open(path).size == PHOTO for path in written)
    assert float(re.search(r"max \|onnx - pytorch\| = (\S+)", outputs["export"]).group(1)) <= 1e-3
    fixed = "model.onnx takes 64x64 images only" in outputs["export"]
    # Size-bound models are fixed; torch.export may fix others itself (MobileViT), and the export then says so.
    assert fixed if (family, name) in SIZE_BOUND else (not fixed or "the exporter fixed" in outputs["export"])
    if fixed:
        from seg_cli.export.onnx_runtime import OnnxSegmenter

        assert OnnxSegmenter(onnx_file).metadata["fixed_size"] == [64, 64]
    fmt = FOLDER_FORMAT.get((family, name))
    if fmt:
        assert f"max |{fmt} - pytorch| = 0.00e+00" in outputs["export"]
        assert json.loads((root / fmt / "seg.json").read_text())["class_names"][1] == "circle"
