"""The binary mask threshold: read from a checkpoint through one function, or given as threshold=."""

import logging
import math

import pytest

from seg_cli.errors import ConfigError
from seg_cli.metrics.threshold import checkpoint_threshold, parse_threshold, resolve_threshold


def state(**metrics):
    return {"progress": {"last_metrics": metrics}}


def test_checkpoint_threshold_is_the_stored_max_f_threshold():
    assert checkpoint_threshold(state(best_threshold=0.3, sod_normalize="none")) == 0.3
    assert checkpoint_threshold(state(best_threshold=1)) == 1.0


@pytest.mark.parametrize("stored", [
    {}, {"progress": {}}, state(miou=0.5), state(best_threshold=None), state(best_threshold=math.nan),
    state(best_threshold=True), state(best_threshold="0.3"),
    state(best_threshold=0.3, sod_normalize="minmax"),  # found on normalised maps, not raw probabilities
])
def test_checkpoint_without_a_usable_threshold_gives_none(stored):
    assert checkpoint_threshold(stored) is None


def test_parse_and_resolve():
    assert parse_threshold("threshold", "auto") is None
    assert parse_threshold("threshold", 0.25) == 0.25 and parse_threshold("threshold", 0) == 0.0
    assert resolve_threshold(None, 0.3)[0] == 0.3 and resolve_threshold(None, None)[0] == 0.5
    assert resolve_threshold(0.7, 0.3)[0] == 0.7


@pytest.mark.parametrize("bad", [1.5, -0.1, "high", True, [0.5]])
def test_bad_threshold_is_one_line_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"^threshold=.* is not allowed; use auto or a number in \[0, 1\]$"):
        parse_threshold("threshold", bad)


@pytest.mark.parametrize("stored", [0.0, 1.0, 1.5, -0.2])
def test_stored_threshold_outside_0_1_falls_back_to_half_with_one_warning(stored, caplog):
    """A short run's validation can store 0.0000: its masks would be all foreground."""
    assert checkpoint_threshold(state(best_threshold=stored)) == stored  # kept as found; resolving decides
    with caplog.at_level(logging.INFO):
        threshold, origin = resolve_threshold(None, stored)
    assert threshold == 0.5 and "not inside (0, 1)" in origin
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"max-F threshold {stored:.4f}" in warning.getMessage() and "threshold=VALUE" in warning.getMessage()


def test_usable_and_given_thresholds_give_no_warning(caplog):
    with caplog.at_level(logging.INFO):
        assert resolve_threshold(None, 0.3)[0] == 0.3
        assert resolve_threshold(0.0, 0.3)[0] == 0.0 and resolve_threshold(1.0, None)[0] == 1.0  # the user's word
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
