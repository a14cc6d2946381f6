"""`seg <command> --help` lists every config group the command takes, and the downloadable names from one table."""

import re
from pathlib import Path

import pytest

from seg_cli.data.download import DOWNLOADS, MANUAL
from seg_cli.help import default_groups
from seg_cli.paths import config_dir
from tests.helpers import run_seg

MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))


def group_lines(command: str, cwd) -> dict[str, str]:
    result = run_seg(command, "--help", cwd=cwd)
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("== Config groups (choose with group=option) ==\n")[1].split("\n\n")[0]
    return dict(line.split(": ", 1) for line in block.splitlines())


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
def test_checkpoint_commands_list_model_and_dataset(tmp_path, command):
    groups = group_lines(command, tmp_path)
    assert set(groups) == {"model", "dataset"}
    assert groups["model"].startswith(", ".join(MODELS)) and groups["model"].endswith("(default: the checkpoint's)")
    assert "voc" in groups["dataset"].split(", ") and "(default)" not in groups["dataset"]


def test_info_lists_dataset_and_data_lists_augment(tmp_path):
    info = group_lines("info", tmp_path)
    assert list(info) == ["model", "dataset"] and "synthetic (default)" in info["dataset"]
    data = group_lines("data", tmp_path)
    assert list(data) == ["dataset", "augment"] and data["augment"] == "default, none, strong (none by default)"


def test_train_groups_are_unchanged(tmp_path):
    assert list(group_lines("train", tmp_path)) == [
        "model", "dataset", "optimizer", "scheduler", "loss", "augment", "experiment", "hparams_search"]


def test_defaults_entries_with_comments_and_keywords_are_read():
    yaml = ("defaults:\n  - schema\n  - _self_\n  - dataset: synthetic   # a comment\n"
            "  - optional augment: null\n  - override hydra/job_logging: stdout\n\nkey: 1\n")
    assert default_groups(yaml) == {"dataset": "synthetic", "augment": "null"}


def test_data_help_and_usage_name_every_downloadable_dataset(tmp_path):
    data_help = run_seg("data", "--help", cwd=tmp_path).stdout
    block = data_help.split("== Datasets for `seg data download NAME` ==\n")[1].split("\n\n")[0]
    listed = re.findall(r"\w+", " ".join(line.split(":")[1] for line in block.splitlines()))
    assert listed == [n for n in DOWNLOADS if n not in MANUAL] + [n for n in DOWNLOADS if n in MANUAL]
    usage = run_seg("--help", cwd=tmp_path).stdout
    assert f"seg data download NAME` ({', '.join(DOWNLOADS)})" in usage


def test_data_yaml_names_all_downloadable_datasets_or_none():
    """A comment listing some of the names goes stale (it listed 3 of 8): each line names all or none."""
    for line in (Path(config_dir()) / "data.yaml").read_text().splitlines():
        named = {n for n in DOWNLOADS if re.search(rf"(?<![\w.]){n}(?!\w)", line)}
        assert not named or named == set(DOWNLOADS), line


def test_report_help_names_its_run_folders_and_no_empty_group_list():
    from seg_cli.arguments import COMMANDS
    from seg_cli.help import command_help

    text = command_help("report", COMMANDS["report"][1])
    assert "usage: seg report RUN_DIR [RUN_DIR ...] [-m] [--cfg job] [key=value ...]" in text
    assert "Config groups" not in text and "out: null" in text
