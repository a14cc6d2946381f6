"""report.html and the comparison page on hand-made run folders: every image embedded as a data URI, the
metrics (headline first), tables, config and environment on the page, and missing or broken files tolerated."""

import base64
import json
import re
from pathlib import Path

import matplotlib
import pytest
import torch
from PIL import Image

from seg_cli.reports.compare import split_overrides, write_comparison
from seg_cli.reports.curves_overlay import overlay_series
from seg_cli.reports.html import SORT_SCRIPT
from seg_cli.reports.page import write_run_report
from seg_cli.reports.run_folder import find_runs, history

matplotlib.use("Agg")  # imported here so the drawing test does not pay for it
import matplotlib.pyplot  # noqa: E402,F401

CONFIG = "seed: 0\ntrain:\n  device: auto\ndataset:\n  task: {task}\n  name: synthetic <&>\n"
CLASSES = ["background", "circle", "square"]


def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (12, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    image.putpixel((0, 0), (255 - colour[0], 0, 0))
    image.save(path)
    return path


def hydra_files(run: Path, command: str, overrides: list[str], task: str = "multiclass", config: str = CONFIG):
    (run / ".hydra").mkdir(parents=True, exist_ok=True)
    (run / ".hydra" / "config.yaml").write_text(config.format(task=task))
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {item}\n" for item in overrides))
    (run / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    name: x\n    config_name: {command}\n")


def eval_run(root: Path) -> Path:
    """A multi-class `seg eval` folder as the contract describes it, every plot a small PNG."""
    run = root / "eval_run"
    hydra_files(run, "eval", ["workers=0", "eval.worst=2"])
    per_class = {"per_class_iou": dict(zip(CLASSES, [0.9, 0.25, None])),
                 "per_class_acc": dict(zip(CLASSES, [0.95, 0.5, 0.0])),
                 "per_class_pixels": dict(zip(CLASSES, [600, 300, 100]))}
    metrics = {"pixel_acc": 0.8, "miou": 0.575, "mean_acc": 0.48, **per_class, "pixels": 1000,
               "confusion_matrix": [[500, 100, 0], [50, 250, 0], [0, 100, 0]], "checkpoint": "/x/best.pt"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "per_image.csv").write_text("index,image,pixel_acc,miou,pixels_background\n0,a,0.9,0.7,10\n"
                                       "1,b,0.2,0.1,10\n2,c,0.5,0.4,10\n")
    (run / "evaluate.log").write_text("[x][seg.eval][INFO] - evaluating\n")
    for i, name in enumerate(["confusion_matrix.png", "per_class.png", "samples_val.png", "worst/rank01_b.png",
                              "worst/rank02_c.png"]):
        png(run / name, (40 * i, 200, 90))
    return run


def train_run(root: Path, name: str, lr: float, best: float) -> Path:
    run = root / name
    hydra_files(run, "train", ["train.epochs=2", f"optimizer.lr={lr}"])
    metrics = {"miou": best - 0.1, "pixel_acc": 0.7, "best_metric": "pixel_acc", "best_value": 0.75,
               "best_epoch": 1, "best_step": 4, "epoch": 2, "step": 8}
    (run / "metrics.json").write_text(json.dumps(metrics))
    hist = {"train": [{"step": s, "epoch": 1 + s // 5, "loss": 2.0 / s, "lr": lr} for s in range(1, 9)],
            "eval": [{"step": 4, "epoch": 1, "miou": best, "pixel_acc": 0.75},
                     {"step": 8, "epoch": 2, "miou": best - 0.1, "pixel_acc": 0.7}],
            "best": {"metric": "miou", "step": 4, "value": best}}
    (run / "history.json").write_text(json.dumps(hist))
    (run / "train.log").write_text("[t][seg.train][INFO] - device cpu | 1 process(es) x batch 2\n")
    png(run / "curves.png", (10, 20, 30))
    return run


def uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def assert_self_contained(page: str) -> None:
    """Nothing the page loads comes from elsewhere: every src is a data URI, no stylesheet or script file."""
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))
    assert "<link" not in page and "<script src" not in page and "http" not in page.replace("http-equiv", "")


def test_eval_page_holds_every_image_the_metrics_tables_and_config(tmp_path):
    run = eval_run(tmp_path)
    page = write_run_report(run, record_environment=False).read_text()
    assert_self_contained(page)
    for image in [*run.glob("*.png"), *run.glob("worst/*.png")]:
        assert uri(image) in page, image.name
    # known plots first, in their order; other pictures after them
    assert page.index(uri(run / "confusion_matrix.png")) < page.index(uri(run / "per_class.png")) \
        < page.index(uri(run / "samples_val.png"))
    headline = re.search(r'class="headline">(\w+) <b>([\d.]+)</b>', page)
    assert headline.groups() == ("miou", "0.5750")
    metric_rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\"", page.split("Per class")[0])
    assert metric_rows[:3] == ["miou", "pixel_acc", "mean_acc"]  # the task's order: headline first
    assert '<td>circle</td><td class="num" data-v="0.25">0.2500</td><td class="num" data-v="0.5">' in page
    assert '<td>square</td><td data-v="">n/a</td>' in page and 'data-v="0.3">0.3000</td>' in page  # share
    worst = re.findall(r"<tr><td class=\"num\" data-v=\"\d\">\d</td><td>(\w)</td>", page)
    assert worst == ["b", "c", "a"]  # lowest per-image mIoU first
    assert "pixels_background" not in page
    assert "seg eval workers=0 eval.worst=2" in page and "name: synthetic &lt;&amp;&gt;" in page
    assert 'class="sortable"' in page and SORT_SCRIPT in page


def test_environment_is_recorded_once_by_the_run_and_read_back_by_the_reporter(tmp_path):
    run = train_run(tmp_path, "run", 0.01, 0.6)
    page = write_run_report(run, record_environment=False).read_text()
    assert not (run / "environment.json").exists() and "versions unknown" in page and "<td>cpu</td>" in page
    write_run_report(run)  # the run's own process
    recorded = json.loads((run / "environment.json").read_text())
    assert recorded["torch"] == torch.__version__ and recorded["cuda"] == (torch.version.cuda or "none")
    assert recorded["device"] == "cpu"  # from train.log
    (run / "environment.json").write_text(json.dumps({**recorded, "torch": "1.0-of-the-run"}))
    page = write_run_report(run).read_text()  # later reports show the run's environment, not this process's
    assert "<td>1.0-of-the-run</td>" in page


def test_train_page_headline_is_the_run_best_metric_and_validations_are_listed(tmp_path):
    run = train_run(tmp_path, "run", 0.01, 0.6)
    page = write_run_report(run, record_environment=False).read_text()
    assert re.search(r'class="headline">pixel_acc <b>0.7000</b>\s+\(best 0.7500 at epoch 1, step 4\)', page)
    assert uri(run / "curves.png") in page and "best miou 0.6000 at step 4" in page
    assert "seg train train.epochs=2 optimizer.lr=0.01" in page


def test_binary_page_ranks_worst_images_by_highest_mae_and_orders_its_curves(tmp_path):
    run = tmp_path / "binary"
    hydra_files(run, "eval", [], config="device: auto\ndataset: {{}}\n")
    (run / "metrics.json").write_text(json.dumps({"mae": 0.1, "max_f": 0.8, "best_threshold": 0.4}))
    (run / "per_image.csv").write_text("index,image,mae\n0,a,0.05\n1,b,0.3\n2,c,0.1\n")
    for i, name in enumerate(("f_curve.png", "pr_curve.png")):
        png(run / name, (i, 2, 3))
    page = write_run_report(run, record_environment=False).read_text()
    assert "task: binary" in page and re.search(r'class="headline">max_f <b>0.8000', page)
    assert re.findall(r"</td><td>(\w)</td>", page) == ["b", "c", "a"]
    assert page.index(uri(run / "pr_curve.png")) < page.index(uri(run / "f_curve.png"))


@pytest.mark.parametrize("files", [{}, {"metrics.json": "{not json"}, {"history.json": "[1, 2]"},
                                   {"metrics.json": "{}", "per_image.csv": ""}])
def test_missing_and_broken_files_still_give_a_page(tmp_path, files):
    run = tmp_path / "run"
    run.mkdir()
    for name, text in files.items():
        (run / name).write_text(text)
    page = write_run_report(run, record_environment=False).read_text()
    assert "no metrics.json" in page and "no .hydra/config.yaml" in page and "Environment" in page


def test_runs_below_a_multirun_folder_are_found_in_job_order(tmp_path):
    for job in ("0", "2", "10"):
        train_run(tmp_path / "multi", job, 0.01, 0.5)
    (tmp_path / "multi" / "multirun.yaml").write_text("{}\n")
    assert [run.name for run in find_runs(tmp_path / "multi")] == ["0", "2", "10"]
    assert find_runs(tmp_path / "multi" / "2") == [tmp_path / "multi" / "2"]


def test_overlay_series_holds_each_runs_points_and_marks_its_best(tmp_path):
    runs = [train_run(tmp_path, "a", 0.01, 0.6), train_run(tmp_path, "b", 0.02, 0.4)]
    panels = overlay_series([history(run) for run in runs], ["a", "b"])
    assert list(panels) == ["train loss", "miou", "pixel_acc", "learning rate"]
    assert [line["label"] for line in panels["miou"]] == ["a", "b"]
    assert panels["miou"][1]["x"] == [4, 8] and panels["miou"][1]["y"] == [0.4, pytest.approx(0.3)]
    assert panels["miou"][0]["best"] == (4, 0.6) and panels["pixel_acc"][0]["best"] is None
    assert panels["learning rate"][1]["y"] == [0.02] * 8 and len(panels["train loss"][0]["x"]) == 8


def test_comparison_page_puts_differing_overrides_and_metrics_in_one_sortable_table(tmp_path):
    runs = [train_run(tmp_path / "multi", "0", 0.01, 0.6), train_run(tmp_path / "multi", "1", 0.02, 0.4)]
    write_run_report(runs[0], record_environment=False)
    page = write_comparison(runs, tmp_path / "multi" / "report.html").read_text()
    assert_self_contained(page)
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", header)[:4] == ["run", "optimizer.lr", "pixel_acc", "miou"]
    assert '<td><a href="0/report.html">0</a></td><td>0.01</td>' in page and "<td>1</td><td>0.02</td>" in page
    assert "overrides shared by every run: train.epochs=2" in page
    assert 'class="sortable"' in page and SORT_SCRIPT in page
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}" alt="curves of every run"', page)


def test_split_overrides_keeps_what_differs():
    shared, differing = split_overrides([["a=1", "b=2"], ["a=1", "b=3", "c=x"]])
    assert shared == ["a=1"] and differing == [{"b": "2"}, {"b": "3", "c": "x"}]


def test_overlay_keeps_every_runs_best_metric_among_a_few_metric_panels(tmp_path):
    runs = [train_run(tmp_path, name, 0.01, 0.5) for name in ("a", "b")]
    many = {"step": 4, "epoch": 1, **{f"m{i}": 0.1 * i for i in range(9)}}
    histories = [history(run) for run in runs]
    histories[0]["eval"] = [many]
    histories[1]["best"] = {"metric": "m8", "step": 4, "value": 0.8}
    histories[1]["eval"] = [many]
    panels = overlay_series(histories, ["a", "b"])
    # run a's best metric (miou) has no points left: no panel; run b's best (m8) comes before the others
    assert list(panels) == ["train loss", "m8", "m0", "m1", "m2", "m3", "m4", "learning rate"]
    assert panels["m8"][0]["best"] is None and panels["m8"][1]["best"] == (4, 0.8)


def test_a_metric_one_run_lacks_is_a_blank_cell_not_na(tmp_path):
    from seg_cli.reports.compare import comparison_rows

    runs = [train_run(tmp_path, "a", 0.01, 0.5), train_run(tmp_path, "b", 0.02, 0.5)]
    (runs[1] / "metrics.json").write_text(json.dumps({"max_f": 0.9, "mae": 0.1}))
    headers, rows, _ = comparison_rows(runs, ["a", "b"], tmp_path / "out.html")
    assert rows[1][headers.index("miou")] == "" and rows[0][headers.index("max_f")] == ""
    assert rows[1][headers.index("max_f")] == 0.9


def test_device_auto_is_recorded_as_what_the_run_resolved_it_to(monkeypatch):
    from seg_cli.reports.environment import resolved_device

    assert resolved_device("cpu") == "cpu" and resolved_device(None) is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Test GPU {index}")
    assert resolved_device("auto") == "cuda (Test GPU 0)" and resolved_device("cuda:1") == "cuda:1 (Test GPU 1)"
    assert resolved_device("cuda:5") == "cuda:5"  # not this machine's: said as the run named it
