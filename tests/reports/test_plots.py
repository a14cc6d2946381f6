"""The run-folder plots (seg_cli.reports) and the data each task hands them: the confusion matrix of the metrics,
the binary curve whose maximum is best_threshold, the per-image SAD, the run history behind curves.png; and
that no drawing failure fails a run."""

import json
import logging
import math
import sys
import types

import pytest
import torch

from seg_cli.engine.history import HISTORY_FILE, RunHistory, RunRecord
from seg_cli.engine.step_log import StepLog
from seg_cli.metrics.binary import BinaryMetrics
from seg_cli.metrics.scorers import BinaryScorer, MulticlassScorer
from seg_cli.reports import curves
from seg_cli.reports.class_bars import per_class_data
from seg_cli.reports.confusion_plot import MAX_ANNOTATED, confusion_data, draw_confusion, tick_step
from seg_cli.reports.curves import curves_data
from seg_cli.reports.matting_plots import sad_data
from seg_cli.reports.plot import Plot
from seg_cli.reports.safe import draw_safely, task_plots, write_plots, write_report_safely
from seg_cli.tasks import get_task

PNG = b"\x89PNG\r\n\x1a\n"
NAMES = ["background", "cat", "dog", "bird"]


def is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


def one_hot_logits(labels: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, classes).permute(2, 0, 1)[None].float()


def multiclass_metrics() -> dict:
    """Ground truth 0 0 1 1 / 2 2 255 1 predicted 0 1 1 1 / 2 0 0 1: the 255 pixel is never counted, class 3
    (bird) is in neither."""
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 0, 1]])
    scorer = MulticlassScorer(4, 255, NAMES)
    scorer.update(one_hot_logits(pred, 4), target)
    return scorer.compute()


def test_multiclass_metrics_hold_the_raw_confusion_matrix_without_ignored_pixels():
    metrics = multiclass_metrics()
    assert metrics["confusion_matrix"] == [[1, 1, 0, 0], [0, 3, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    assert json.loads(json.dumps(metrics))["confusion_matrix"] == metrics["confusion_matrix"]  # plain JSON data


def test_the_confusion_plot_gets_the_metrics_matrix_row_normalised(tmp_path):
    metrics = multiclass_metrics()
    plots = {p.filename: p for p in get_task("multiclass").plots(metrics, None, NAMES)}
    assert set(plots) == {"confusion_matrix.png", "per_class.png"}
    data = plots["confusion_matrix.png"].data
    assert data["matrix"] == metrics["confusion_matrix"] and data["class_names"] == NAMES
    assert data["normalised"][0] == [0.5, 0.5, 0.0, 0.0] and data["normalised"][2] == [0.5, 0.0, 0.5, 0.0]
    assert data["normalised"][3] == [0.0] * 4  # no ground truth: an empty row, not NaN
    assert [sum(row) for row in data["normalised"][:3]] == [1.0, 1.0, 1.0]
    assert write_plots(plots.values(), tmp_path) == [tmp_path / "confusion_matrix.png", tmp_path / "per_class.png"]
    assert all(is_png(tmp_path / name) for name in plots)


def test_many_classes_get_no_cell_numbers_and_every_kth_tick(tmp_path, monkeypatch):
    n = MAX_ANNOTATED + 10
    assert tick_step(30) == 1 and tick_step(60) == 1 and tick_step(150) == 3
    texts = []
    from matplotlib.axes import Axes

    real = Axes.text
    monkeypatch.setattr(Axes, "text", lambda self, *a, **k: texts.append(a) or real(self, *a, **k))
    draw_confusion(confusion_data([[int(i == j) for j in range(n)] for i in range(n)],
                                  [f"c{i}" for i in range(n)]), tmp_path / "big.png")
    assert texts == [] and is_png(tmp_path / "big.png")
    draw_confusion(confusion_data([[1, 0], [0, 1]], ["a", "b"]), tmp_path / "small.png")
    assert len(texts) == 4  # one number per cell


def test_a_matrix_that_does_not_fit_the_names_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        confusion_data([[1, 0], [0, 1]], ["a", "b", "c"])


def test_per_class_bars_are_sorted_by_iou_with_absent_classes_last_and_pixel_shares():
    metrics = multiclass_metrics()
    data = per_class_data(metrics)
    # IoU: background 1/3, cat 3/4, dog 1/2; bird is in neither ground truth nor prediction
    assert data["class_names"] == ["background", "dog", "cat", "bird"]
    assert data["iou"] == pytest.approx([1 / 3, 1 / 2, 3 / 4, None])
    assert data["acc"] == pytest.approx([1 / 2, 1 / 2, 1.0, None])
    assert data["pixel_share"] == pytest.approx([2 / 7, 2 / 7, 3 / 7, 0.0])


def test_per_class_bars_say_n_a_for_a_class_without_iou(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    texts = []
    real = Axes.text
    monkeypatch.setattr(Axes, "text", lambda self, x, y, s, *a, **k: texts.append(s) or real(self, x, y, s, *a, **k))
    plots = get_task("multiclass").plots(multiclass_metrics(), None, NAMES)
    assert write_plots([p for p in plots if p.filename == "per_class.png"], tmp_path)
    assert "n/a" in texts and "0.33" in texts and " 42.9%" in texts


def binary_scorer() -> BinaryScorer:
    torch.manual_seed(0)
    scorer = BinaryScorer(255)
    for _ in range(3):
        target = (torch.rand(12, 12) > 0.6).long()
        logits = (target.float() * 2 - 1 + torch.randn(12, 12)) * 2
        target[0, :3] = 255
        scorer.update(logits[None, None], target)
    return scorer


def test_the_binary_curve_is_the_one_max_f_and_best_threshold_come_from(tmp_path):
    metrics = binary_scorer().compute()
    curve = metrics["curve"]
    assert len(curve["threshold"]) == 256 and curve["threshold"][0] == 0 and curve["threshold"][-1] == 1
    for p, r, f in zip(curve["precision"], curve["recall"], curve["f"]):
        assert f == pytest.approx(1.3 * p * r / (0.3 * p + r) if p + r else 0.0)
    plots = {p.filename: p for p in get_task("binary").plots(metrics, None, ["background", "foreground"])}
    assert set(plots) == {"pr_curve.png", "f_curve.png"}
    data = plots["f_curve.png"].data
    assert data is plots["pr_curve.png"].data
    assert data["best_threshold"] == metrics["best_threshold"] and data["max_f"] == pytest.approx(metrics["max_f"])
    assert data["f"] == curve["f"] and data["precision"] == curve["precision"]
    assert len(write_plots(plots.values(), tmp_path)) == 2 and is_png(tmp_path / "f_curve.png")


def test_the_marked_threshold_is_the_lowest_on_ties_as_binary_metrics_picks_it():
    m = BinaryMetrics()
    m.update(torch.tensor([[0.2, 0.9]]), torch.tensor([[0, 1]]))  # F = 1 for every threshold in (0.2, 0.9]
    metrics = {**m.compute(), "curve": m.curve()}
    assert get_task("binary").plots(metrics, None, [])[0].data["best_threshold"] == metrics["best_threshold"]
    assert metrics["best_threshold"] == pytest.approx(52 / 255)
    assert BinaryMetrics().curve() is None and get_task("binary").plots({"curve": None}, None, []) == []


def test_sad_hist_gets_each_image_sad_and_the_split_mean(tmp_path):
    rows = [{"sad": 1.5}, {"sad": None}, {"sad": 0.5}, {"sad": 4.0}]
    metrics = {"sad": 2.0}
    (plot,) = get_task("matting").plots(metrics, rows, ["background", "foreground"])
    assert plot.filename == "sad_hist.png" and plot.data == sad_data(rows, metrics)
    assert plot.data["sad"] == [1.5, 0.5, 4.0] and plot.data["mean"] == sum(plot.data["sad"]) / 3
    assert write_plots([plot], tmp_path) and is_png(tmp_path / "sad_hist.png")
    assert get_task("matting").plots(metrics, None, []) == []  # no per-image rows: nothing to draw


def test_history_keeps_one_eval_point_each_and_scalar_metrics_only(tmp_path):
    history = RunHistory("miou")
    history.add_train(2, 1, 1.5, 0.01)
    history.add_eval(4, 1, {**multiclass_metrics(), "miou": 0.25, "mdice": math.nan})
    history.add_eval(8, 2, {"miou": 0.5, "pixel_acc": 0.9, "images": 4})
    history.set_best(8, 0.5)
    history.write(tmp_path, draw=False)
    saved = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert saved["train"] == [{"step": 2, "epoch": 1, "loss": 1.5, "lr": 0.01}]
    assert saved["best"] == {"metric": "miou", "step": 8, "value": 0.5}
    first, second = saved["eval"]
    assert first["step"] == 4 and first["miou"] == 0.25 and first["mdice"] is None
    assert "confusion_matrix" not in first and "per_class_iou" not in first and "pixels" not in first
    assert second == {"step": 8, "epoch": 2, "miou": 0.5, "pixel_acc": 0.9}
    data = curves_data(saved)
    assert data["eval"]["step"] == [4, 8] and data["eval"]["metrics"]["miou"] == [0.25, 0.5]
    assert data["eval"]["metrics"]["pixel_acc"][0] == first["pixel_acc"]
    assert data["train"] == {"step": [2], "loss": [1.5], "lr": [0.01]} and data["best"]["step"] == 8
    assert not (tmp_path / "curves.png").exists()
    history.write(tmp_path)
    assert is_png(tmp_path / "curves.png")


def test_a_resumed_history_continues_up_to_the_checkpoint_step(tmp_path, caplog):
    old = RunHistory("miou")
    for step in (2, 4, 6):
        old.add_train(step, 1, 1.0 / step, 0.1)
        old.add_eval(step, 1, {"miou": step / 10})
    old.write(tmp_path, draw=False)
    resumed = RunHistory.resume("miou", tmp_path, step=4)
    assert [e["step"] for e in resumed.train] == [2, 4] and [e["step"] for e in resumed.evals] == [2, 4]
    assert RunHistory.resume("miou", tmp_path / "elsewhere", 4).evals == []
    assert RunHistory.resume("miou", None, 4).train == []
    (tmp_path / HISTORY_FILE).write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert RunHistory.resume("miou", tmp_path, 4).evals == []
    assert "starts afresh" in caplog.text


def test_step_log_returns_each_logged_mean_and_the_rest_of_the_epoch():
    options = types.SimpleNamespace(log_every=2, epochs=1, max_steps=None)
    step_log = StepLog(0, options, 2)
    assert step_log.add(1, 1.0, 0.1) is None
    assert step_log.add(2, 3.0, 0.2) == 2.0
    assert step_log.rest() is None  # nothing since that line
    assert step_log.add(3, 5.0, 0.3) is None
    assert step_log.rest() == (3, 5.0, 0.3)


def test_a_plot_that_cannot_be_drawn_is_one_warning_and_the_others_are_written(tmp_path, caplog):
    def broken(data, path):
        raise RuntimeError("no fonts")

    good = Plot("sad_hist.png", get_task("matting").plots({"sad": 1.0}, [{"sad": 1.0}], [])[0].draw,
                {"sad": [1.0], "mean": 1.0})
    with caplog.at_level(logging.WARNING):
        written = write_plots([Plot("broken.png", broken, None), good], tmp_path)
    assert written == [tmp_path / "sad_hist.png"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["could not draw broken.png: RuntimeError: no fonts"]
    assert draw_safely(Plot("x.png", broken, None), tmp_path) is None


def test_bad_metrics_are_one_warning_not_an_error(caplog):
    with caplog.at_level(logging.WARNING):
        assert task_plots(get_task("multiclass"), {"confusion_matrix": [[1]], "per_class_iou": None}, None,
                          ["a", "b"]) == []
    assert "could not draw the multiclass plots" in caplog.text


def test_a_training_record_survives_a_broken_curve_and_still_writes_its_history(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(curves, "draw_curves", lambda data, path: 1 / 0)
    monkeypatch.setattr(sys.modules["seg_cli.engine.history"], "draw_curves", curves.draw_curves)
    record = RunRecord(tmp_path, RunHistory("miou"), get_task("multiclass"))
    with caplog.at_level(logging.WARNING):
        record.evaluated(4, 1, {"miou": 0.5}, 4, 0.5)
        record.finish(multiclass_metrics(), None, NAMES, 4, 0.5)
    assert json.loads((tmp_path / HISTORY_FILE).read_text())["eval"] == [{"step": 4, "epoch": 1, "miou": 0.5}]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["could not draw curves.png: ZeroDivisionError: division by zero"] * 2
    assert is_png(tmp_path / "confusion_matrix.png") and is_png(tmp_path / "per_class.png")


def test_curves_are_redrawn_at_most_every_30_s_and_always_at_the_end(tmp_path, monkeypatch):
    history_module = sys.modules["seg_cli.engine.history"]
    drawn, clock = [], [100.0]
    monkeypatch.setattr(history_module, "draw_curves", lambda data, path: drawn.append(data["eval"]["step"]))
    monkeypatch.setattr(history_module.time, "monotonic", lambda: clock[0])
    record = RunRecord(tmp_path, RunHistory("miou"), get_task("multiclass"))
    for step, seconds in ((1, 0), (2, 29.9), (3, 30.0), (4, 10)):
        clock[0] += seconds
        record.evaluated(step, step, {"miou": step / 10}, step, step / 10)
        assert json.loads((tmp_path / HISTORY_FILE).read_text())["eval"][-1]["step"] == step  # every time
    record.finish({}, None, NAMES, 4, 0.4)
    assert drawn == [[1], [1, 2, 3], [1, 2, 3, 4]]


def test_the_report_page_is_called_quietly_absent_and_its_errors_are_one_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.delitem(sys.modules, "seg_cli.reports.page", raising=False)
    calls = []
    page = types.ModuleType("seg_cli.reports.page")

    def write_run_report(run_dir):
        calls.append(run_dir)
        return run_dir / "report.html"

    page.write_run_report = write_run_report
    monkeypatch.setitem(sys.modules, "seg_cli.reports.page", page)
    assert write_report_safely(tmp_path) == tmp_path / "report.html" and calls == [tmp_path]
    page.write_run_report = lambda run_dir: 1 / 0
    with caplog.at_level(logging.WARNING):
        assert write_report_safely(tmp_path) is None
    assert caplog.messages == ["could not write report.html: ZeroDivisionError: division by zero"]


def test_metrics_json_keeps_a_matrix_row_or_a_curve_on_one_line(tmp_path):
    from seg_cli.utils import write_json

    data = {"confusion_matrix": [[1, 2], [3, 4]], "curve": {"f": [0.5, math.nan, -1e-07]}, "names": ["a", "b"],
            "path": "[1,\n2]", "rows": [{"step": 1}], "empty": []}
    write_json(data, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    assert "    [1, 2],\n    [3, 4]\n" in text and '"f": [0.5, null, -1e-07]' in text
    assert '"names": [\n    "a",' in text  # strings keep json's layout
    assert json.loads(text) == {**data, "curve": {"f": [0.5, None, -1e-07]}}
