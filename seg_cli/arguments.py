"""The words of a `seg` command line: the commands, how flags, overrides and input paths are told apart, and
how a command's Hydra app is started. Shared by the dispatcher (seg_cli.cli) and shell completion
(seg_cli.completion); free of torch and Hydra imports, so `seg --help` and completion stay instant.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from seg_cli.choices import DATA_ACTIONS  # the words `seg data` takes first (re-exported for seg_cli.cli)
from seg_cli.help import CHECKPOINT_GROUPS

COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("seg_cli.commands.train", "train a model (default: small UNet on the built-in synthetic set)"),
    "eval": ("seg_cli.commands.evaluate", "evaluate a checkpoint (default: the newest run's best.pt)"),
    "predict": ("seg_cli.commands.predict", "write masks and overlays for images, videos and folders"),
    "export": ("seg_cli.commands.export", "export a checkpoint to ONNX or TorchScript and check it against PyTorch"),
    "info": ("seg_cli.commands.info", "parameter count and FLOPs of a model at a given input size"),
    "data": ("seg_cli.commands.data", f"dataset tools: seg data {'|'.join(DATA_ACTIONS)}"),
    "report": ("seg_cli.commands.report", "report.html of a run, or one page comparing runs (RUN_DIR ... or a multirun)"),
}

# Commands whose positional words are paths (predict: images and folders; report: run folders), completed as
# paths, and all that take positional words (data: its action and a dataset name).
PATH_COMMANDS = ("predict", "report")
INPUT_COMMANDS = (*PATH_COMMANDS, "data")

# Hydra flags that take a value; everything else starting with '-' is a bare switch.
_FLAGS_WITH_VALUE = {
    "--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
    "--config-dir", "-cd", "--experimental-rerun", "--shell-completion", "-sc",
}
_INFO_VALUES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
SHELL_COMPLETION_FLAGS = ("-sc", "--shell-completion")


def split_arguments(args: Sequence[str], takes_inputs: bool) -> tuple[list[str], list[str], list[str]]:
    """Separate Hydra flags, overrides and (for predict) input paths, in any order on the line."""
    flags: list[str] = []
    overrides: list[str] = []
    inputs: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flags.append(arg)
            takes_value = arg in _FLAGS_WITH_VALUE or (
                arg in ("--info", "-i") and i + 1 < len(args) and args[i + 1] in _INFO_VALUES
            )
            if takes_value and i + 1 < len(args):
                flags.append(args[i + 1])
                i += 1
        elif takes_inputs and arg.startswith("@") and not os.path.exists(arg):
            inputs += read_list_file(arg[1:])
        elif takes_inputs and (os.path.exists(arg) or not looks_like_override(arg)):
            inputs.append(arg)
        else:
            overrides.append(arg)
        i += 1
    return flags, overrides, inputs


def read_list_file(path: str) -> list[str]:
    """`@list.txt`: one input path per line (blank lines and # comments skipped), relative to the list."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as exc:
        raise SystemExit(f"seg: error: cannot read input list {path}: {exc.strerror}") from None
    base = os.path.dirname(os.path.abspath(path))
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [entry if os.path.isabs(entry) else os.path.join(base, entry) for entry in entries]


def looks_like_override(arg: str) -> bool:
    """`key=value`, `+key=value`, `~key`: a Hydra override rather than a word or a path."""
    return "=" in arg or arg.startswith(("~", "+"))


def checkpoint_overrides(overrides: list[str]) -> list[str]:
    """eval/predict/export take their model and dataset from a checkpoint or from the command line, and their
    primary configs hold neither: `dataset.root=X` patches a config with Hydra's `++`, and a group choice
    (`model=NAME`, `dataset=NAME`) is appended to the defaults list with `+`."""
    rewritten = []
    for override in overrides:
        key = override.split("=", 1)[0]
        if key.split(".")[0] in CHECKPOINT_GROUPS and "." in key:
            override = "++" + override
        elif key in CHECKPOINT_GROUPS and "=" in override:
            override = "+" + override
        rewritten.append(override)
    return rewritten


# Config keys whose entries are another library's (an architecture's keywords, a transformers config's attributes):
# any name may be added under them, so `model.options.KEY=VALUE` needs no `+` from the user.
OPEN_SECTIONS = ("model.options.",)


def open_section_overrides(overrides: list[str]) -> list[str]:
    """`model.options.KEY=VALUE` as Hydra's add-or-override `++model.options.KEY=VALUE`; the builder checks the key
    (one line with the close matches), not Hydra's struct mode."""
    return [f"++{o}" if o.startswith(OPEN_SECTIONS) and "=" in o else o for o in overrides]


def run_hydra_app(command: str, hydra_args: Sequence[str]) -> None:
    """Run the command's Hydra app on `hydra_args` (Hydra reads sys.argv itself).

    The program name is `seg COMMAND`, the words a user types: Hydra prints it in its help and completion hints."""
    module = importlib.import_module(COMMANDS[command][0])
    sys.argv = [f"seg {command}", *hydra_args]
    module.main()
