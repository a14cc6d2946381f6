"""Config checks name the key the user typed and the values that fit (no Python class names, no cut sentences)."""

import pytest
from omegaconf import OmegaConf

from seg_cli.commands.validation import inference_settings, loss_options, validate_loss
from seg_cli.errors import ConfigError, shorten


def infer_config(**keys) -> OmegaConf:
    infer = {"mode": "slide", "crop": [24, 24], "stride": [16, 16], "flip": False, "scales": [1.0], **keys}
    return OmegaConf.create({"infer": infer})


@pytest.mark.parametrize("keys,message", [
    ({"stride": [32, 32]}, "infer.stride=[32, 32] must not exceed infer.crop=[24, 24]"),
    ({"stride": 0}, "infer.stride=0 must be a positive integer"),
    ({"crop": [24, "x"]}, "infer.crop=[24, 'x'] must be a positive integer"),
    ({"scales": [1.0, -2.0]}, "infer.scales=[1.0, -2.0] must be a non-empty list of positive factors"),
])
def test_inference_settings_name_the_infer_keys(keys, message):
    with pytest.raises(ConfigError) as error:
        inference_settings(infer_config(**keys))
    assert str(error.value).startswith(message)


def test_valid_slide_settings_pass_as_pairs():
    assert inference_settings(infer_config())["stride"] == (16, 16)


@pytest.mark.parametrize("option,task,fits", [
    ("bce", "multiclass", ["loss=auto", "loss=cross_entropy", "loss=focal", "loss=ce_dice"]),
    ("focal", "binary", ["loss=auto", "loss=bce", "loss=bce_dice"]),
])
def test_a_loss_for_another_task_names_the_options_that_fit(option, task, fits):
    loss = OmegaConf.create({"_target_": loss_options()[option]})
    with pytest.raises(ConfigError) as error:
        validate_loss(loss, task)
    message = str(error.value)
    assert "Loss" not in message  # no Python class names
    # Outside a Hydra job the option is found by its target; bce and bce_dice share one class.
    assert message.startswith(f"loss={option}") and f"but dataset.task={task}" in message
    for name in fits:
        assert name in message
    assert f"loss={option}," not in message.split(";", 1)[1]


def test_shorten_keeps_the_first_sentence_and_marks_a_cut():
    assert shorten("Weights only load failed. This file can still be loaded, to do so ...") == \
        "Weights only load failed"
    cut = shorten("word " * 100, limit=23)
    assert cut == "word word word word ..."


@pytest.mark.parametrize("value", ["gpu", "cuda0", "cuda:x", "CPU"])
def test_device_spellings_outside_the_table_are_refused(value):
    from seg_cli.commands.validation import require_device

    with pytest.raises(ConfigError, match=f"device='{value}' is not allowed; choose from: auto, cpu, cuda, cuda:N"):
        require_device("device", value)


def test_a_stitch_device_the_machine_lacks_is_named(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="infer.stitch_device=cuda: .*choose from: auto, cpu"):
        inference_settings(infer_config(stitch_device="cuda"))


def test_eval_checks_its_config_before_looking_for_a_checkpoint(tmp_path):
    from tests.helpers import run_seg

    for args, message in ((["infer.mode=slide", "infer.stride=[600,600]"], "infer.stride=[600, 600] must not exceed"),
                          (["device=gpu"], "device='gpu' is not allowed")):
        result = run_seg("eval", *args, cwd=tmp_path)  # no run exists here: a lookup would fail differently
        assert result.returncode == 1 and message in result.stderr, result.stderr
