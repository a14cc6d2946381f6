"""Every YAML of every config group composes, validates and (for cheap models) instantiates."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from seg_cli.commands import schema
from seg_cli.paths import config_dir

CONFIGS = Path(config_dir())
GROUPS = ["model", "dataset", "optimizer", "scheduler", "augment", "experiment"]
schema.register()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def compose_train(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
        return compose("train", overrides=list(overrides))


def test_every_yaml_starts_with_a_comment_showing_its_command():
    for path in CONFIGS.rglob("*.yaml"):
        first = next(line for line in path.read_text().splitlines() if not line.startswith("# @package"))
        assert first.startswith("# seg "), path


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes_and_resolves(group, option):
    overrides = [f"{group}={option}"]
    if group == "dataset" and not option.startswith("synthetic") or group == "experiment":
        overrides.append("dataset.root=/tmp/somewhere")
    cfg = compose_train(*overrides)
    plain = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    assert plain["model"]["num_classes"] == plain["dataset"]["num_classes"]
    from seg_cli.commands.validation import validate_train_config

    validate_train_config(cfg)


@pytest.mark.parametrize("option", [o for o in options("experiment") if o.startswith("voc_") and "plus" not in o])
def test_experiments_reproduce_the_torchvision_recipe(option):
    cfg = compose_train(f"experiment={option}", "dataset.root=/x")
    model = option.removeprefix("voc_")
    assert cfg.model._target_.endswith(model)
    assert cfg.optimizer.lr == 0.02 and cfg.optimizer.momentum == 0.9
    assert cfg.optimizer.weight_decay == (1e-6 if "mobilenet" in model else 1e-4)
    assert cfg.train.epochs == 30 and cfg.train.batch_size == 4
    assert (cfg.dataset.base_size, cfg.dataset.crop_size) == (520, 480)
    assert cfg.scheduler.power == 0.9 and cfg.model.pretrained_backbone is True


def test_experiment_values_win_over_primary_config_and_cli_wins_over_experiment():
    cfg = compose_train("experiment=voc_fcn_resnet50", "dataset.root=/x", "train.epochs=2")
    assert cfg.train.epochs == 2 and cfg.train.batch_size == 4


@pytest.mark.parametrize("option", ["sgd", "adam", "adamw"])
def test_optimizer_partials_build_with_param_groups(option):
    import torch
    from hydra.utils import instantiate

    cfg = compose_train(f"optimizer={option}")
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = instantiate(cfg.optimizer)([{"params": params}])
    assert isinstance(optimizer, torch.optim.Optimizer)
    assert optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


def test_wrong_type_fails_at_composition_naming_the_key():
    with pytest.raises(Exception, match="train.epochs"):
        compose_train("train.epochs=many")


def test_u2net_preset_matches_the_issue_recipe():
    cfg = compose_train("experiment=duts_u2net", "dataset.root=/x")
    assert cfg.optimizer._target_ == "torch.optim.AdamW" and cfg.optimizer.lr == 1e-3
    assert cfg.train.norm_bias_weight_decay == 0.0 and cfg.scheduler.warmup_epochs == 1
    assert cfg.scheduler._target_.endswith("cosine_lr") and cfg.train.best_metric == "max_f"
    assert (cfg.dataset.resize, cfg.dataset.base_size, cfg.dataset.crop_size) == ("square", 320, 288)


@pytest.mark.parametrize("option,images,global_batch,crop", [
    ("cityscapes_deeplabv3plus_resnet50", 2975, 8, [512, 1024]), ("ade20k_deeplabv3plus_resnet50", 20210, 16, 512)])
def test_benchmark_presets_follow_mmsegmentations_80k_recipes(option, images, global_batch, crop):
    cfg = compose_train(f"experiment={option}", "dataset.root=/x")
    assert cfg.model.output_stride == 8 and cfg.model.pretrained_backbone
    assert (cfg.optimizer.lr, cfg.optimizer.weight_decay, cfg.scheduler.warmup_epochs) == (0.01, 5.0e-4, 0)
    assert cfg.dataset.crop_size == crop and list(cfg.dataset.scale_range) == [0.5, 2.0]
    assert cfg.train.batch_size * 4 == global_batch
    iterations = cfg.train.epochs * (images // global_batch)
    assert 0.98 * 80_000 < iterations < 1.02 * 80_000


@pytest.mark.parametrize("option", options("hparams_search"))
def test_every_hparams_search_composes_with_optuna_and_searches_existing_keys(option):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
        cfg = compose("train", overrides=[f"hparams_search={option}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert "OptunaSweeper" in sweeper._target_ and sweeper.n_trials > 0
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, f"{option} searches {key}, which the config lacks"


@pytest.mark.parametrize("option,images,processes", [("ade20k_segformer_b0", 20210, 8),
                                                     ("cityscapes_segformer_b0", 2975, 8)])
def test_segformer_recipes_give_the_papers_rates_and_warm_up(option, images, processes):
    """AdamW 6e-5 with the head at 10x, 160k iterations, a 1500-iteration warm-up at the recipe's global batch."""
    cfg = compose_train(f"experiment={option}", "dataset.root=/x")
    assert cfg.model.name == "nvidia/mit-b0" and cfg.model.pretrained is True
    assert cfg.optimizer.lr == pytest.approx(6e-4) and cfg.optimizer.lr * cfg.train.backbone_lr_mult == pytest.approx(6e-5)
    assert cfg.train.max_steps == 160000 and cfg.scheduler.power == 1.0
    steps_per_epoch = images // (processes * cfg.train.batch_size)
    assert cfg.scheduler.warmup_epochs * steps_per_epoch == pytest.approx(1500, rel=0.01)
