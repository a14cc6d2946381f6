"""The allowed values of the config keys that take one of a fixed set: one table, read by the config checks
(before torch loads, hence no imports here) and by the library code that checks the value again."""

from __future__ import annotations

from pathlib import Path


def package_modules(folder: str, first: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The module names of the seg_cli package `folder` (such as "tasks"), its __init__ and base left out:
    `first`, then the others in alphabetical order. Listed from the files, importing nothing, so that a new
    task or output kind is its module alone."""
    here = Path(__file__).parent / folder
    names = sorted(path.stem for path in here.glob("*.py") if path.stem not in ("__init__", "base"))
    return (*first, *(name for name in names if name not in first))


DEFAULT_TASK = "multiclass"  # dataset.task when a config or checkpoint names none
TASKS = package_modules("tasks", first=(DEFAULT_TASK,))  # dataset.task: the modules of seg_cli/tasks/
PAIR_BY = ("path", "name")  # dataset.pair_by (folder datasets): match images and masks by sub-folder path or name
RESIZE_MODES = ("shorter", "square")  # dataset.resize: shorter side to base_size (aspect kept), or both sides
ON_ERROR = ("raise", "skip")  # data.on_error
EVAL_RESOLUTIONS = ("original", "resized")  # eval.resolution: metrics at the label's size, or at the eval resize
SOD_NORMALIZE = ("none", "minmax")  # eval.sod_normalize (binary tasks), see seg_cli.metrics.scorers.BinaryScorer
# eval.metrics: the columns of the multi-class table (all are always in metrics.json), see
# seg_cli.metrics.confusion.TABLE_METRICS
EVAL_METRICS = ("iou", "acc", "dice", "f1", "precision", "recall", "fwiou")
INFER_MODES = ("whole", "slide")  # infer.mode
AMP_DTYPES = ("float16", "bfloat16")  # train.amp_dtype
SWITCHES = ("auto", "true", "false")  # train.progress, train.sync_bn
EXPORT_FORMATS = package_modules("export/formats", first=("onnx",))  # seg export format=: its modules
ONNX_EXPORTERS = ("auto", "dynamo", "legacy")  # seg export onnx_exporter=
PREDICT_BACKENDS = ("torch", "onnx")  # seg predict backend=
# seg predict save=: the modules of seg_cli/predict/writers/
PREDICT_SAVE = package_modules("predict/writers", first=("mask",))
ALPHA_BITS = (8, 16)  # predict.alpha_bits: <stem>_alpha.png's depth
FOREGROUND = ("photo", "estimate")  # predict.foreground: the colours of cut-outs and composites
ALPHA_VIDEOS = ("webm", "prores", "png")  # predict.alpha_video: VP9 yuva420p, ProRes 4444 .mov, RGBA PNG frames
DEVICES = ("auto", "cpu", "cuda", "cuda:N")  # train.device, device= (cuda = cuda:LOCAL_RANK; N any GPU index)
DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?"  # the spellings DEVICES stands for (re.fullmatch)
DATA_ACTIONS = ("check", "download", "show", "stats")  # seg data ACTION
