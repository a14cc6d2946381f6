"""The `predict:` section: its defaults are configs/predict.yaml's, and a bad value is one line naming the key."""

import pytest
from omegaconf import OmegaConf

from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir
from seg_cli.predict.options import PredictOptions


def test_the_yaml_defaults_are_the_options_defaults():
    section = OmegaConf.to_container(OmegaConf.load(f"{config_dir()}/predict.yaml").predict)
    assert PredictOptions.from_config(section) == PredictOptions()


@pytest.mark.parametrize("section,message", [
    ({"alpha_bits": 12}, r"predict.alpha_bits=12 is not allowed; choose from: 8, 16"),
    ({"foreground": "guess"}, r"predict.foreground='guess' is not allowed; choose from: photo, estimate"),
    ({"alpha_video": "gif"}, r"predict.alpha_video='gif' is not allowed; choose from: webm, prores, png"),
    ({"every_n_frames": 0}, r"predict.every_n_frames=0 must be a whole number >= 1"),
    ({"max_frames": 2.5}, r"predict.max_frames=2.5 must be a whole number >= 1 \(or null for all\)"),
    ({"fps": 3}, r"predict.fps is not a predict key; choose from: alpha_bits, background"),
])
def test_a_bad_value_names_its_key_and_the_allowed_ones(section, message):
    with pytest.raises(ConfigError, match=message):
        PredictOptions.from_config(section)
