"""The value shapes every config key takes: squares as one number, single items as lists."""

import pytest

from seg_cli.errors import ConfigError
from seg_cli.values import as_list, resume_setting, scale_range, size_pair


def test_size_pair_takes_a_square_or_a_pair():
    assert size_pair("infer.crop", 64) == (64, 64)
    assert size_pair("infer.crop", [48, 64]) == (48, 64)
    for bad in (0, [1, 2, 3], [4.5, 3], "64", True, None):
        with pytest.raises(ConfigError, match="infer.crop="):
            size_pair("infer.crop", bad)


def test_as_list_wraps_one_item_and_checks_types():
    assert as_list("save", "mask", str) == ["mask"]
    assert as_list("save", ["mask", "prob"], str) == ["mask", "prob"]
    assert as_list("infer.scales", 1, float) == [1.0]
    assert as_list("infer.scales", [0.5, 1], float) == [0.5, 1.0]
    with pytest.raises(ConfigError, match="infer.scales=.* must be a float"):
        as_list("infer.scales", ["big"], float)


def test_scale_range_takes_a_fixed_factor_or_an_ordered_pair():
    assert scale_range("dataset.scale_range", 1) == (1.0, 1.0)
    assert scale_range("dataset.scale_range", [0.5, 2.0]) == (0.5, 2.0)
    for bad in ([2.0, 0.5], [0, 1], [1, 2, 3]):
        with pytest.raises(ConfigError, match="dataset.scale_range"):
            scale_range("dataset.scale_range", bad)


def test_resume_takes_true_and_false_as_words():
    assert [resume_setting(v) for v in ("True", "false", "auto", None, "/runs/last.pt")] == \
        ["auto", None, "auto", None, "/runs/last.pt"]
