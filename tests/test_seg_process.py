"""tests/seg_process.py answers like a `python -m seg_cli` process: the same output, streams and exit status."""

from tests.helpers import run_seg
from tests.seg_process import SegProcess


def test_each_command_gets_its_own_output_and_exit_status(tmp_path):
    with SegProcess(tmp_path) as seg:
        unknown = seg.run("fly")
        version = seg.run("--version")
    alone = run_seg("fly", cwd=tmp_path)
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert unknown.returncode == 2 and "unknown command 'fly'" in unknown.stderr
    assert version.returncode == 0 and version.stdout.startswith("seg ") and version.stderr == ""
