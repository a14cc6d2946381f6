"""Shell completion as the shell runs it: bash sources `seg -sc install=bash`, sets COMP_* and calls the function."""

import shlex
import shutil
import subprocess
import sys

import pytest

from seg_cli.data.download import DOWNLOADS
from tests.helpers import run_seg

# `seg` is this Python's seg_cli (CI pip-installs the package; the installed script may be another one).
SHIM = f'seg() {{ {shlex.quote(sys.executable)} -m seg_cli "$@"; }}\n'


def bash(script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", SHIM + script], cwd=cwd, capture_output=True, text=True, timeout=120)


def complete(line: str, cwd, install: str = "seg -sc install=bash") -> list[str]:
    """COMPREPLY after TAB at the end of `line`, with bash's own COMP_WORDBREAKS (which splits at = and :)."""
    script = f"""eval "$({install})"
COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=${{#COMP_WORDS[@]}}
[[ "$COMP_LINE" == *" " ]] || COMP_CWORD=$((COMP_CWORD - 1))
_seg_completion
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = bash(script, cwd)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_command_names_complete_without_a_program_name_of_hydras(tmp_path):
    assert complete("seg tr", tmp_path) == ["train"]
    assert complete("seg ", tmp_path) == ["data", "eval", "export", "info", "predict", "report", "train"]
    assert complete("seg e", tmp_path) == ["eval", "export"]


def test_config_groups_options_and_keys_come_from_the_commands_hydra_app(tmp_path):
    assert "model=" in complete("seg train mod", tmp_path)
    # bash replaces the text after its last `=`: the options come without `model=`
    assert {"unet", "unet_small"} <= set(complete("seg train model=unet", tmp_path))
    assert "optimizer.lr=" in complete("seg train optimizer.l", tmp_path)
    assert complete("seg train model=unet_small optimizer=sgd optimizer.mom", tmp_path) == ["optimizer.momentum="]
    assert "cosine" in complete("seg train -m scheduler=", tmp_path)


def test_checkpoint_commands_complete_model_and_dataset_but_not_training_groups(tmp_path):
    found = complete("seg predict ", tmp_path)
    assert {"model=", "dataset=", "ckpt=", "threshold="} <= set(found)
    assert not {"optimizer=", "scheduler=", "augment=", "experiment="} & set(found)
    assert "model.num_classes=" in complete("seg predict model=unet model.num", tmp_path)
    assert "voc" in complete("seg eval dataset=v", tmp_path)


def test_predict_completes_input_paths_beside_its_keys(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "chelsea.png").touch()
    assert complete("seg predict pho", tmp_path) == ["photos/"]
    assert complete("seg predict photos/ch", tmp_path) == ["photos/chelsea.png"]


def test_report_completes_run_folders(tmp_path):
    (tmp_path / "outputs" / "train").mkdir(parents=True)
    assert complete("seg report outp", tmp_path) == ["outputs/"]
    assert complete("seg report outputs/tr", tmp_path) == ["outputs/train/"]


def test_data_completes_its_words_then_its_groups(tmp_path):
    assert complete("seg data ", tmp_path) == ["check", "download", "show", "stats"]
    assert complete("seg data download ", tmp_path) == sorted(DOWNLOADS)
    assert "augment=" in complete("seg data show aug", tmp_path)
    assert "model=" not in complete("seg data show ", tmp_path)


def test_flags_and_their_values(tmp_path):
    assert complete("seg train --c", tmp_path) == ["--cfg", "--config-dir"]
    assert complete("seg train --cfg ", tmp_path) == ["all", "hydra", "job"]


@pytest.mark.parametrize("install", ["seg -sc install=bash", "seg train -sc install=bash",
                                     "seg --shell-completion install=bash", "seg eval --shell-completion install=zsh"])
def test_the_script_registers_seg_before_or_after_the_command(tmp_path, install):
    result = bash(f'eval "$({install})"\ncomplete -p seg\ncomplete -p seg-train || echo no-seg-train', tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-F _seg_completion seg\n" in result.stdout and "no-seg-train" in result.stdout
    assert complete("seg pre", tmp_path, install=install) == ["predict"]


def test_uninstall_removes_the_completion(tmp_path):
    result = bash('eval "$(seg -sc install=bash)"\ncomplete -p seg\neval "$(seg -sc uninstall=bash)"\n'
                  'complete -p seg || echo gone', tmp_path)
    assert result.stdout.endswith("-F _seg_completion seg\ngone\n")


def test_hydras_own_hint_names_seg_and_the_command(tmp_path):
    result = run_seg("train", "--hydra-help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'eval "$(seg train -sc install=bash)"' in result.stdout and "seg-train" not in result.stdout


def test_bad_requests_are_one_line(tmp_path):
    fish = run_seg("-sc", "install=fish", cwd=tmp_path)
    assert fish.returncode == 2 and fish.stderr.count("\n") == 1 and "bash, zsh" in fish.stderr
    query = run_seg("train", "-sc", "query=bash", cwd=tmp_path, env={"COMP_LINE": ""})
    assert query.returncode == 0
    no_line = subprocess.run([sys.executable, "-m", "seg_cli", "-sc", "query=bash"], cwd=tmp_path,
                             capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert no_line.returncode == 2 and "COMP_LINE" in no_line.stderr and no_line.stderr.count("\n") == 1


def test_install_imports_neither_hydra_nor_torch():
    code = ("import sys; from seg_cli.cli import main; main(['-sc', 'install=bash']); main(['--help']); "
            "print(sorted(m for m in ('hydra', 'torch', 'omegaconf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_runs_the_same_function_through_bashcompinit(tmp_path):
    script = SHIM + """eval "$(seg -sc install=zsh)"
COMP_LINE="seg tr"; COMP_POINT=6; COMP_WORDS=(seg tr); COMP_CWORD=1
emulate sh -c _seg_completion
print -l -- $COMPREPLY
"""
    result = subprocess.run(["zsh", "-f", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["train"]
