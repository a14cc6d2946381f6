"""`seg report RUN_DIR [RUN_DIR ...]`: one run's report.html (re)written, or one page comparing runs."""

from __future__ import annotations

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import absolutize_paths, reports_errors
from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir
from seg_cli.reports.run_folder import find_runs, is_run_dir

schema.register()


def collect_runs(inputs: list[str]) -> list[Path]:
    """The run folders named, and those below the other folders named (a multirun folder's jobs), once each."""
    if not inputs:
        raise ConfigError("name the runs: seg report RUN_DIR [RUN_DIR ...] (run folders, or a multirun folder)")
    runs: list[Path] = []
    for text in inputs:
        path = Path(text)
        if not path.is_dir():
            raise ConfigError(f"{text} is not a folder; seg report takes run folders (outputs/train/DATE/TIME) "
                              "or folders holding runs (multirun/train/DATE/TIME)")
        found = find_runs(path)
        if not found:
            raise ConfigError(f"no run folders in {text} (a run folder holds .hydra/config.yaml or metrics.json)")
        runs += [run for run in found if run not in runs]
    return runs


def default_out(inputs: list[str]) -> Path:
    """report.html in the one folder named, or in the folder holding every folder named."""
    folders = [str(Path(text).resolve()) for text in inputs]
    return Path(os.path.commonpath(folders)) / "report.html"


def write_page(inputs: list[str], runs: list[Path], out: Path) -> Path:
    """One run folder named (maybe twice): its own page; several, or a folder of runs (even of one job): the
    comparison."""
    if len(runs) == 1 and all(is_run_dir(Path(text)) for text in inputs):
        from seg_cli.reports.page import write_run_report

        return write_run_report(runs[0], out, record_environment=False)
    from seg_cli.reports.compare import write_comparison

    return write_comparison(runs, out)


@hydra.main(version_base=None, config_path=config_dir(), config_name="report")
@reports_errors
def main(cfg: DictConfig) -> Path:
    absolutize_paths(cfg)
    inputs = [str(item) for item in cfg.inputs]
    runs = collect_runs(inputs)
    out = Path(cfg.out) if cfg.out else default_out(inputs)
    if out.is_dir():
        raise ConfigError(f"out={cfg.out} is a folder; give the page's file name (out=compare.html)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        path = write_page(inputs, runs, out)
    except OSError as exc:  # a read-only folder, a full disk
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"seg report: {len(runs)} run(s); page written to {path}")
    return path
