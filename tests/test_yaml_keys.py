"""The README's rule, for every YAML of every group: a YAML's keys are its target's keyword arguments.

Model YAMLs add `weights` (a state dict every model can start from, loaded by seg_cli.models.build.build_model
once the builder has run); augment steps add `name` and `p` (read by the pipeline). Experiments and
searches set keys of those groups, so the config they compose obeys the same rule.
"""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import seg_cli.data.augment  # noqa: F401  (importing the package registers every step)
from seg_cli.commands import schema
from seg_cli.data.augment.registry import STEPS
from seg_cli.paths import config_dir
from seg_cli.utils import accepted_keywords, split_target

CONFIGS = Path(config_dir())
TARGET_GROUPS = ("model", "dataset", "optimizer", "scheduler", "loss")
ADDED_KEYS = {"model": {"weights"}}
schema.register()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def load_option(group: str, option: str) -> dict:
    """A group's YAML over the options its `defaults` list names (a named hub model on top of hf.yaml)."""
    own = OmegaConf.to_container(OmegaConf.load(CONFIGS / group / f"{option}.yaml"))
    merged: dict = {}
    for base in own.pop("defaults", []):
        if base != "_self_":
            merged.update(load_option(group, base))
    return {**merged, **own}


def keys_not_taken(group: str, section: dict) -> list[str]:
    """The keys of a group's config its `_target_` does not take."""
    target, kwargs = split_target(section)
    accepted = accepted_keywords(target)
    assert accepted is not None, f"{section['_target_']} takes **kwargs: its YAML keys cannot be checked"
    return sorted(set(kwargs) - set(accepted) - ADDED_KEYS.get(group, set()))


def steps_keys_not_taken(augment: dict) -> list[str]:
    return [f"{spec['name']}.{key}" for spec in augment["steps"]
            for key in sorted(set(spec) - {"name", "p"} - set(accepted_keywords(STEPS[spec["name"]])))]


def test_every_group_is_covered():
    covered = set(TARGET_GROUPS) | {"augment", "experiment", "hparams_search", "hydra"}
    assert {p.name for p in CONFIGS.iterdir() if p.is_dir()} == covered


@pytest.mark.parametrize("group,option", [(g, o) for g in TARGET_GROUPS for o in options(g)])
def test_every_key_of_a_yaml_is_a_keyword_argument_of_its_target(group, option):
    assert keys_not_taken(group, load_option(group, option)) == []


@pytest.mark.parametrize("option", options("augment"))
def test_every_augment_step_key_is_a_keyword_argument_of_its_step(option):
    augment = OmegaConf.to_container(OmegaConf.load(CONFIGS / "augment" / f"{option}.yaml"))
    assert steps_keys_not_taken(augment) == []


@pytest.mark.parametrize("group,option", [("experiment", o) for o in options("experiment")]
                         + [("hparams_search", o) for o in options("hparams_search")])
def test_presets_only_set_keys_their_targets_take(group, option):
    if group == "hparams_search":
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
        cfg = compose("train", overrides=[f"{group}={option}"] + (["dataset.root=/x"] if group == "experiment" else []))
    plain = OmegaConf.to_container(cfg)
    for target_group in TARGET_GROUPS:
        assert keys_not_taken(target_group, plain[target_group]) == [], target_group
    assert steps_keys_not_taken(plain["augment"]) == []


def test_a_key_no_target_takes_is_found():
    wrong = {"_target_": "seg_cli.models.unet.unet", "num_classes": 2, "base_chanels": 8, "weights": None}
    assert keys_not_taken("model", wrong) == ["base_chanels"]
