"""Settings several commands share are written once: the run dir, the `infer:` section, the download keys."""

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from seg_cli import cli
from seg_cli.commands import schema
from seg_cli.paths import config_dir

CONFIGS = Path(config_dir())
COMMANDS = ["train", "eval", "predict", "export", "info", "data", "report"]
IN_PLACE = ("info", "report")  # commands that write no run dir (info prints; report writes the page it is told)
NOW = "${now:%Y-%m-%d}/${now:%H-%M-%S-%f}"
schema.register()


def compose_hydra(command: str, *overrides: str):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
        return compose(command, overrides=list(overrides), return_hydra_config=True)


def raw(cfg, key: str):
    """The value at `key` as written, `${hydra.job.config_name}` replaced by the command it names."""
    value = OmegaConf.to_container(cfg, resolve=False)
    for part in key.split("."):
        value = value[part]
    return value.replace("${hydra.job.config_name}", cfg.hydra.job.config_name) if isinstance(value, str) else value


@pytest.mark.parametrize("command", COMMANDS)
def test_every_primary_config_keeps_its_run_and_sweep_dirs(command):
    cfg = compose_hydra(command)
    assert cfg.hydra.job.config_name == command
    run_dir = "." if command in IN_PLACE else f"${{output_root}}/{command}/{NOW}"
    assert raw(cfg, "hydra.run.dir") == run_dir
    assert raw(cfg, "hydra.sweep.dir") == f"multirun/{command}/{NOW}"
    assert raw(cfg, "hydra.sweep.subdir") == "${hydra.job.num}"
    assert cfg.hydra.job.chdir is False
    assert cfg.hydra.output_subdir == (None if command in IN_PLACE else ".hydra")


@pytest.mark.parametrize("command", COMMANDS)
def test_the_run_dir_block_is_written_once(command):
    text = (CONFIGS / f"{command}.yaml").read_text()
    assert "sweep:" not in text and "chdir" not in text
    assert "  - hydra/run_dir" in text.split("\n\n")[0]


@pytest.mark.parametrize("command", ["train", "eval", "predict", "export", "data"])
def test_torchruns_default_run_dir_is_the_configs(command):
    from seg_cli.engine.distributed import pin_now, run_dir_overrides

    when = datetime(2026, 1, 2, 3, 4, 5, 600000)
    pattern = raw(compose_hydra(command), "hydra.run.dir")
    assert run_dir_overrides(command, [], when, 0) == [f"hydra.run.dir={pin_now(pattern, when)}"]


def test_eval_and_predict_share_one_infer_section():
    shared = yaml.safe_load((CONFIGS / "infer.yaml").read_text())["infer"]
    for command in ("eval", "predict"):
        assert "\ninfer:" not in (CONFIGS / f"{command}.yaml").read_text()
        assert OmegaConf.to_container(compose_hydra(command).infer) == shared
    assert shared == {"mode": "whole", "crop": [512, 512], "stride": [341, 341], "flip": False, "scales": [1.0],
                      "stitch_device": None}


def test_infer_keys_are_still_overridden_from_the_command_line():
    assert compose_hydra("eval", "infer.mode=slide").infer.mode == "slide"
    assert compose_hydra("predict", "infer.flip=true").infer.flip is True


def test_eval_and_predict_help_show_the_infer_keys():
    from seg_cli.help import command_help

    for command in ("eval", "predict"):
        text = command_help(command, "")
        assert "mode: whole" in text and "stitch_device: null" in text


def test_one_download_key_table_is_read_by_the_dispatcher_and_the_loaders():
    from seg_cli.engine import trained
    from seg_cli.models import weight_keys

    assert trained.without_downloads is weight_keys.without_downloads
    assert (cli.PUBLISHED_KEY, cli.WEIGHTS_KEY) == (weight_keys.PUBLISHED_KEY, weight_keys.WEIGHTS_KEY)
    assert weight_keys.PUBLISHED_KEY in weight_keys.DOWNLOAD_KEYS
    config = {"_target_": "x", "pretrained": True, "pretrained_backbone": True, "weights": "w.pt", "num_classes": 3}
    assert weight_keys.without_downloads(config) == {**config, "pretrained": False, "pretrained_backbone": False,
                                                     "weights": None}
    assert weight_keys.weights_in_config({"pretrained": True}) and weight_keys.weights_in_config({"weights": "w"})
    assert not weight_keys.weights_in_config({"pretrained": "true", "weights": None})


@pytest.mark.parametrize("path", sorted((CONFIGS / "model").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_model_key_that_names_pretrained_weights_is_in_the_table(path):
    from seg_cli.models.weight_keys import DOWNLOAD_KEYS

    keys = yaml.safe_load(path.read_text())
    assert {key for key in keys if key.startswith("pretrained")} <= set(DOWNLOAD_KEYS)
