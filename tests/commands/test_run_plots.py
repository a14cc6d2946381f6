"""Issue 25 through the real CLI: `seg train` leaves history.json and curves.png (one point per evaluation,
continued by a resumed run) and the last validation's plots, `seg eval` the task's plots beside metrics.json,
drawn from the numbers metrics.json holds."""

import csv
import json

import pytest

from seg_cli.reports.curves import curves_data
from seg_cli.tasks import get_task
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg

PNG = b"\x89PNG\r\n\x1a\n"
TASKS = {  # task: (dataset overrides, the files its evaluations draw)
    "multiclass": ([], {"confusion_matrix.png", "per_class.png"}),
    "binary": (["dataset=synthetic_binary"], {"pr_curve.png", "f_curve.png"}),
    "matting": (["dataset=synthetic_binary", "dataset.task=matting"], {"sad_hist.png"}),
}


def ok(result) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "could not draw" not in result.stderr + result.stdout


def pngs(run, names) -> None:
    for name in names:
        assert (run / name).read_bytes()[:8] == PNG, name


def plot_data(run, task: str) -> dict:
    """{file: data} the task hands its draw functions for this run folder's metrics.json and per_image.csv."""
    metrics = read_metrics(run)
    rows = None
    if (run / "per_image.csv").is_file():
        rows = [{k: float(v) if k == "sad" and v else v for k, v in row.items()}
                for row in csv.DictReader(open(run / "per_image.csv"))]
    return {p.filename: p.data for p in get_task(task).plots(metrics, rows, list(metrics.get("per_class_iou", [])))}


def check_numbers(run, task: str) -> None:
    metrics, data = read_metrics(run), plot_data(run, task)
    if task == "multiclass":
        matrix = data["confusion_matrix.png"]["matrix"]
        assert matrix == metrics["confusion_matrix"]
        assert [sum(row) for row in matrix] == list(metrics["per_class_pixels"].values())  # ignore left out
    elif task == "binary":
        assert data["f_curve.png"]["best_threshold"] == metrics["best_threshold"]
        assert data["f_curve.png"]["max_f"] == pytest.approx(metrics["max_f"])


def train(tmp_path, *overrides: str):
    """`seg train` tiny with a history point every 2 optimizer steps (4 steps an epoch); its run folder."""
    fast = [o for o in FAST_TRAIN if o != "eval.plots=false"]
    ok(run_seg("train", *fast, "train.log_every=2", *overrides, cwd=tmp_path))
    return run_dirs(tmp_path)[-1]


def check_history(run, evaluations: int) -> dict:
    """history.json holds one train point per 2 steps and one eval point per evaluation, the best marked;
    curves.png shows those."""
    history = json.loads((run / "history.json").read_text())
    assert [e["step"] for e in history["train"]] == list(range(2, 4 * evaluations + 1, 2))
    assert [e["epoch"] for e in history["eval"]] == list(range(1, evaluations + 1))
    summary = read_metrics(run)
    assert history["best"] == {"metric": summary["best_metric"], "step": summary["best_step"],
                               "value": summary["best_value"]}
    assert curves_data(history)["eval"]["step"] == [4 * (i + 1) for i in range(evaluations)]  # one point each
    return history


def check_eval(tmp_path, task: str) -> None:
    ok(run_seg("eval", "workers=0", cwd=tmp_path))
    run = run_dirs(tmp_path, "eval")[-1]
    pngs(run, TASKS[task][1])
    assert not (run / "curves.png").exists() and not (run / "history.json").exists()
    check_numbers(run, task)
    if task == "matting":
        sad = plot_data(run, task)["sad_hist.png"]
        assert len(sad["sad"]) == read_metrics(run)["images"] and sad["mean"] == read_metrics(run)["sad"]


@pytest.mark.slow
def test_multiclass_runs_leave_their_plots_and_a_resumed_run_continues_the_history(tmp_path):
    first = train(tmp_path)
    second = train(tmp_path, "train.epochs=2", f"train.resume={first / 'checkpoints' / 'last.pt'}")
    assert second != first
    old, new = check_history(first, 1), check_history(second, 2)
    assert new["eval"][:1] == old["eval"] and new["train"][:2] == old["train"]
    pngs(second, TASKS["multiclass"][1] | {"curves.png"})
    check_numbers(second, "multiclass")
    check_eval(tmp_path, "multiclass")


@pytest.mark.slow
@pytest.mark.parametrize("task", ["binary", "matting"])
def test_binary_and_matting_runs_leave_their_plots(task, tmp_path):
    run = train(tmp_path, *TASKS[task][0])
    check_history(run, 1)
    pngs(run, TASKS[task][1] | {"curves.png"})
    check_numbers(run, task)
    check_eval(tmp_path, task)


@pytest.mark.slow
def test_eval_plots_false_draws_nothing_but_keeps_the_history(tmp_path):
    run = train(tmp_path, "eval.plots=false", "dataset.val_size=1")
    check_history(run, 1)
    assert not list(run.glob("*.png"))
