"""report.html: one self-contained page per run folder that says what the run did in ten seconds.

Headline metric first, then the metric table, the per-class table (multi-class) or the worst images'
rows (seg eval), every plot the run drew, the worst-N panels, the overrides and composed config, and the
environment the run ran on. Each file is optional: what is missing is left out (or named as missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seg_cli.reports import html
from seg_cli.reports import run_folder as rf
from seg_cli.reports.environment import device_of, run_environment

REPORT_FILE = "report.html"
# The plots seg writes into a run folder, in the order a reader wants them, with what each shows.
KNOWN_PLOTS = {
    "curves.png": "training: loss and learning rate over steps, validation metrics over evaluations",
    "confusion_matrix.png": "confusion matrix, each ground-truth row normalised to 1",
    "per_class.png": "IoU and accuracy per class, with each class's pixel share",
    "pr_curve.png": "precision-recall over thresholds",
    "f_curve.png": "F-measure over thresholds, the max-F threshold marked",
    "sad_hist.png": "per-image SAD distribution",
}
WORST_DIR = "worst"
WORST_ROWS = 10  # per_image.csv rows shown, worst first
PER_CLASS_PREFIX = "per_class_"


def write_run_report(run_dir: Path, out: Path | None = None, record_environment: bool = True) -> Path:
    """Write `run_dir`/report.html (or `out`) and return its path.

    `record_environment`: the caller is the run itself, so a missing environment.json is written from this
    process; `seg report` re-rendering a finished run passes False. Errors are raised: the run's caller turns
    them into one warning line."""
    run_dir = Path(run_dir)
    config = rf.read_yaml(run_dir / rf.HYDRA_DIR / "config.yaml")
    metrics = rf.metrics(run_dir)
    task = rf.task_name(metrics, config)
    command = rf.command_name(run_dir)
    sections = [
        summary_section(metrics, task),
        per_class_section(metrics),
        worst_rows_section(run_dir, task),
        history_section(rf.history(run_dir)),
        plots_section(run_dir),
        worst_panels_section(run_dir),
        config_section(run_dir, command),
        environment_section(run_environment(run_dir, config, record_environment), device_of(run_dir, config)),
    ]
    title = f"seg {command or 'run'}: {run_dir.name}"
    subtitle = f"{run_dir.resolve()}" + (f" | task: {task}" if task else "")
    path = Path(out) if out else run_dir / REPORT_FILE
    path.write_text(html.page(title, subtitle, [s for s in sections if s]), encoding="utf-8")
    return path


def summary_section(metrics: dict[str, Any], task: str | None) -> str:
    """The headline metric in large type, then every scalar of metrics.json, the headline first."""
    if not metrics:
        return html.section("Summary", html.note("no metrics.json in this folder (the run did not finish, "
                                                 "or stopped before its first evaluation)"))
    order = rf.metric_order(metrics, task)
    parts = []
    if order:
        head = order[0]
        parts.append(f'<p class="headline">{html.escape(head)} <b>{html.escape(html.number(metrics[head]))}</b>'
                     f"{html.escape(best_text(metrics))}</p>")
    parts.append(html.table(["metric", "value"], [[name, metrics[name]] for name in order], sortable=False))
    others = {k: v for k, v in metrics.items() if isinstance(v, str) and k != "best_metric"}
    if others:
        parts.append(html.table(["", ""], [[k, v] for k, v in others.items()], sortable=False))
    return html.section("Summary", "".join(parts))


def best_text(metrics: dict[str, Any]) -> str:
    """`(best 0.71 at epoch 3, step 120)` for a train run's metrics.json; '' for an eval run's."""
    if metrics.get("best_value") is None:
        return ""
    where = ", ".join(f"{key} {metrics[f'best_{key}']}" for key in ("epoch", "step")
                      if metrics.get(f"best_{key}") is not None)
    return f"  (best {html.number(metrics['best_value'])}" + (f" at {where})" if where else ")")


def per_class_section(metrics: dict[str, Any]) -> str:
    """Multi-class: one row per class with every per-class metric and its pixel share, sortable."""
    tables = {key.removeprefix(PER_CLASS_PREFIX): value for key, value in metrics.items()
              if key.startswith(PER_CLASS_PREFIX) and isinstance(value, dict)}
    if not tables:
        return ""
    pixels = tables.pop("pixels", {})
    classes = list(dict.fromkeys(name for values in tables.values() for name in values)) or list(pixels)
    total = sum(v for v in pixels.values() if isinstance(v, (int, float))) or None
    headers = ["class", *tables] + (["pixels", "pixel share"] if pixels else [])
    rows = []
    for name in classes:
        row = [name, *(values.get(name) for values in tables.values())]
        if pixels:
            count = pixels.get(name)
            row += [count, count / total if total and isinstance(count, (int, float)) else None]
        rows.append(row)
    return html.section("Per class", html.table(headers, rows) + html.note(
        "n/a: not defined, nothing to divide by (IoU of a class in neither the ground truth nor the prediction, "
        "precision of a class never predicted). Click a header to sort."))


def worst_rows_section(run_dir: Path, task: str | None) -> str:
    """seg eval's per_image.csv, the worst images first by the task's ranking column."""
    rows = rf.per_image_rows(run_dir)
    if not rows:
        return ""
    key, higher_is_worse = _worst_key(task, rows[0])
    if key:
        rows = sorted(rows, key=lambda row: _as_number(row.get(key)), reverse=higher_is_worse)
    # per-class pixel counts (one column per class) would drown the scores
    columns = [name for name in rows[0] if not name.startswith("pixels_")]
    body = [[_as_value(row.get(name)) for name in columns] for row in rows[:WORST_ROWS]]
    ranking = f", ranked by {key} ({'highest' if higher_is_worse else 'lowest'} first)" if key else ""
    return html.section("Worst images", html.note(f"{min(len(rows), WORST_ROWS)} of {len(rows)} images from "
                                                  f"per_image.csv{ranking}") + html.table(columns, body))


def _worst_key(task: str | None, row: dict[str, str]) -> tuple[str | None, bool]:
    if task is None:
        return None, False
    from seg_cli.tasks import get_task

    key, higher_is_worse = get_task(task).worst_key
    return (key, higher_is_worse) if key in row else (None, False)


def _as_number(text: str | None) -> float:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _as_value(text: str | None) -> Any:
    """A CSV cell as a number when it is one (so the table sorts and prints it as one)."""
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return text


def history_section(history: dict[str, Any]) -> str:
    """seg train's validations (history.json) as a table: the numbers behind curves.png."""
    evals = history["eval"]
    if not evals:
        return ""
    columns = list(dict.fromkeys(k for record in evals for k, v in rf.scalars(record).items()))
    best = history["best"]
    text = (f"best {best.get('metric')} {html.number(best.get('value'))} at step {best.get('step')}"
            if best.get("metric") else "")
    return html.section("Validations", (html.note(text) if text else "")
                        + html.table(columns, [[record.get(c) for c in columns] for record in evals]))


def plots_section(run_dir: Path) -> str:
    """Every picture in the run folder: seg's known plots first, then any other PNG/JPEG there."""
    known = [(run_dir / name, caption) for name, caption in KNOWN_PLOTS.items() if (run_dir / name).is_file()]
    others = sorted(p for p in run_dir.iterdir() if p.suffix.lower() in html.MIME and p.name not in KNOWN_PLOTS)
    figures = [html.figure(path, f"{path.name}: {caption}") for path, caption in known]
    figures += [html.figure(path, path.name) for path in others]
    return html.section("Plots", "".join(figures)) if figures else ""


def worst_panels_section(run_dir: Path) -> str:
    """The panels `eval.worst=N` drew (worst/rank01_*.png: image | ground truth | prediction)."""
    folder = run_dir / WORST_DIR
    panels = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not panels:
        return ""
    return html.section(f"Worst {len(panels)} images", "".join(html.figure(p, p.stem, "panel") for p in panels))


def config_section(run_dir: Path, command: str | None) -> str:
    """The command line's overrides and the composed config Hydra saved (.hydra/config.yaml)."""
    overrides = rf.overrides(run_dir)
    config_text = rf.read_text(run_dir / rf.HYDRA_DIR / "config.yaml")
    line = " ".join(["seg", command or "<command>", *overrides])
    body = "<h3>Command line</h3>" + html.preformatted(line)
    body += ("<h3>Composed config (.hydra/config.yaml)</h3>" + html.preformatted(config_text) if config_text
             else html.note("no .hydra/config.yaml in this folder"))
    return html.section("Config", body)


def environment_section(environment: dict[str, Any] | None, device: str | None) -> str:
    if environment is None:
        rows = [["device", device or "unknown"]]
        return html.section("Environment", html.table(["", ""], rows, sortable=False) + html.note(
            "the run recorded no environment.json (it ran before seg recorded one): versions unknown"))
    rows = [[key.replace("_", " "), "none" if value is None else value] for key, value in environment.items()]
    return html.section("Environment", html.table(["", ""], rows, sortable=False))
