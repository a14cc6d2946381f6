"""The page `seg report RUN RUN ...` writes: runs side by side (overrides and final metrics in one sortable
table) and their training curves overlaid, what a sweep needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seg_cli.reports import html
from seg_cli.reports import run_folder as rf
from seg_cli.reports.curves_overlay import draw_overlay, overlay_series
from seg_cli.reports.page import REPORT_FILE


def run_labels(runs: list[Path]) -> list[str]:
    """Each run's path below the folder holding them all (a multirun's `0`, `1`, ...), or its name."""
    if len(runs) == 1:
        return [runs[0].name]
    common = Path(os.path.commonpath([str(run.resolve()) for run in runs]))
    return [str(run.resolve().relative_to(common)) for run in runs]


def split_overrides(per_run: list[list[str]]) -> tuple[list[str], list[dict[str, str]]]:
    """(overrides every run shares, each run's other overrides as key -> value): the table shows what differs."""
    shared = [o for o in per_run[0] if all(o in run for run in per_run[1:])] if per_run else []
    differing = []
    for run in per_run:
        values = {}
        for item in run:
            if item not in shared:
                key, _, value = item.partition("=")
                values[key] = value
        differing.append(values)
    return shared, differing


def comparison_rows(runs: list[Path], labels: list[str], out: Path) -> tuple[list[str], list[list[Any]], list[str]]:
    """(headers, rows, shared overrides) of the comparison table: run, differing overrides, final metrics."""
    shared, differing = split_overrides([rf.overrides(run) for run in runs])
    metrics = [rf.metrics(run) for run in runs]
    keys = list(dict.fromkeys(key for values in differing for key in values))
    names: list[str] = []
    for values in metrics:
        task = rf.task_name(values, None)
        names += [n for n in rf.metric_order(values, task) if n not in names]
    rows = []
    for run, label, values, result in zip(runs, labels, differing, metrics):
        rows.append([run_link(run, label, out), *(values.get(k, "") for k in keys), *(result.get(n, "") for n in names)])  # "": not measured
    return ["run", *keys, *names], rows, shared


def run_link(run: Path, label: str, out: Path) -> str:
    """The run's label, linked to its own report.html when it has one (relative: the folders travel together)."""
    page = run / REPORT_FILE
    if not page.is_file():
        return html.escape(label)
    href = os.path.relpath(page.resolve(), out.resolve().parent)
    return f'<a href="{html.escape(Path(href).as_posix())}">{html.escape(label)}</a>'


def write_comparison(runs: list[Path], out: Path) -> Path:
    """Write the page comparing `runs` to `out` and return it."""
    labels = run_labels(runs)
    headers, rows, shared = comparison_rows(runs, labels, out)
    table = html.table(headers, rows, raw_first_column=True)
    common = html.note("overrides shared by every run: " + (" ".join(shared) or "none"))
    sections = [html.section("Runs", common + table + html.note("Click a header to sort."))]
    series = overlay_series([rf.history(run) for run in runs], labels)
    if series:
        image = draw_overlay(series)
        sections.append(html.section("Curves", f'<figure><img src="{image}" alt="curves of every run">'
                                     "<figcaption>every run's curves overlaid (* marks each run's best)"
                                     "</figcaption></figure>"))
    else:
        sections.append(html.section("Curves", html.note("no history.json in these runs (seg train writes one)")))
    title = f"seg report: {len(runs)} run{'s' if len(runs) != 1 else ''}"
    subtitle = str(Path(os.path.commonpath([str(r.resolve()) for r in runs])))
    out.write_text(html.page(title, subtitle, sections), encoding="utf-8")
    return out
