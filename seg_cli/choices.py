"""The allowed values of the config keys that take one of a fixed set: one table, read by the config checks
(before torch loads, hence no imports here) and by the library code that checks the value again."""

from __future__ import annotations

DEFAULT_TASK = "multiclass"  # dataset.task when a config or checkpoint names none
TASKS = (DEFAULT_TASK, "binary")  # dataset.task: the modules of seg_cli.tasks
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
EXPORT_FORMATS = ("onnx", "torchscript")  # seg export format=
ONNX_EXPORTERS = ("auto", "dynamo", "legacy")  # seg export onnx_exporter=
PREDICT_BACKENDS = ("torch", "onnx")  # seg predict backend=
PREDICT_SAVE = ("mask", "color", "overlay", "prob", "cutout")  # seg predict save=: modules of seg_cli.predict.writers
DEVICES = ("auto", "cpu", "cuda", "cuda:N")  # train.device, device= (cuda = cuda:LOCAL_RANK; N any GPU index)
DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?"  # the spellings DEVICES stands for (re.fullmatch)
DATA_ACTIONS = ("check", "download", "show", "stats")  # seg data ACTION
