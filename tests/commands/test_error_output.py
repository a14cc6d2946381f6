"""Issue 21 item 15: a user error is one line on the terminal (not a log line too), stays in the run's log
file, and leaves no run folder that holds nothing but Hydra's own files."""

from tests.helpers import run_dirs, run_seg


def test_a_config_error_prints_once_and_leaves_no_run_folder(tmp_path):
    result = run_seg("train", "train.epochs=0", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "seg: error: train.epochs=0 must be > 0"
    assert "must be > 0" not in result.stdout  # Hydra's console log handler does not repeat it
    assert run_dirs(tmp_path) == [] and not (tmp_path / "outputs/train").exists()


def test_a_run_dir_named_on_the_command_line_is_kept_with_the_error_in_its_log(tmp_path):
    mine = tmp_path / "mine"
    result = run_seg("train", "train.epochs=0", f"hydra.run.dir={mine}", cwd=tmp_path)
    assert result.returncode == 1
    assert "must be > 0" not in result.stdout
    assert "[seg][ERROR] - train.epochs=0 must be > 0" in (mine / "train.log").read_text()


def test_a_multirun_job_stopped_by_a_config_error_leaves_no_job_folder(tmp_path):
    result = run_seg("train", "-m", "train.epochs=0", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("seg: error: train.epochs=0 must be > 0") == 1
    assert list(tmp_path.glob("multirun/train/*/*/multirun.yaml"))  # the sweep itself ran
    assert not list(tmp_path.glob("multirun/train/*/*/0"))


def test_a_command_whose_run_dir_is_the_working_directory_never_removes_it(tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    result = run_seg("info", "height=0", cwd=work)  # seg info runs in `.` with no .hydra/ and no log file
    assert result.returncode == 1 and "height=0" in result.stderr
    assert work.is_dir()
    assert "height=0" not in result.stdout
