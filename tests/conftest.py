"""Fixtures shared by every test folder."""

import pytest

from tests.seg_process import SegProcess


@pytest.fixture
def seg(tmp_path):
    """`seg.run(*args)`: `seg ARGS` in tmp_path, answered like `tests.helpers.run_seg`, with every command of
    the test in one process (its imports paid once; see tests/seg_process.py)."""
    with SegProcess(tmp_path) as process:
        yield process
