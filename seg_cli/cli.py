"""The `seg` entrypoint: picks the command and hands the rest of the line to its Hydra app.

Kept free of torch and Hydra imports so `seg --help` is instant.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from seg_cli.errors import SegError, one_line
from seg_cli.help import CHECKPOINT_COMMANDS, CHECKPOINT_GROUPS

COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("seg_cli.commands.train", "train a model (default: small UNet on the built-in synthetic set)"),
    "eval": ("seg_cli.commands.evaluate", "evaluate a checkpoint (default: the newest run's best.pt)"),
    "predict": ("seg_cli.commands.predict", "write masks and overlays for image files and folders"),
    "export": ("seg_cli.commands.export", "export a checkpoint to ONNX or TorchScript and check it against PyTorch"),
    "info": ("seg_cli.commands.info", "parameter count and FLOPs of a model at a given input size"),
    "data": ("seg_cli.commands.data", "dataset tools: seg data check|download|show|stats"),
}
DATA_ACTIONS = ("check", "download", "show", "stats")

# Hydra flags that take a value; everything else starting with '-' is a bare switch.
_FLAGS_WITH_VALUE = {
    "--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
    "--config-dir", "-cd", "--experimental-rerun", "--shell-completion", "-sc",
}
_INFO_VALUES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
SHELL_COMPLETION_FLAGS = ("-sc", "--shell-completion")


def usage() -> str:
    from seg_cli.data.download import DOWNLOADS  # stdlib only: keeps --help instant

    lines = ["usage: seg <command> [hydra flags] [key=value overrides]", "", "commands:"]
    lines += [f"  {name:<8} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += [
        "",
        "Each command is a Hydra app: `seg train --help` shows its config groups and options,",
        "`seg train --cfg job` prints the composed config, `seg train -m optimizer.lr=0.01,0.02` sweeps.",
        "`seg predict IMG|DIR ...` takes image files and folders as positional arguments.",
        "`seg predict photo.jpg model=deeplabv3_resnet50 model.pretrained=true` uses torchvision's published weights.",
        f"`seg data check|show|stats dataset=NAME` and `seg data download NAME` ({', '.join(DOWNLOADS)}) "
        "take words first.",
        "",
        "Shell completion (commands, config groups, options and keys): eval \"$(seg -sc install=bash)\"",
        "(zsh: the same line; it loads zsh's bashcompinit).",
    ]
    return "\n".join(lines)


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


def prefetch_published_weights(flags: Sequence[str], overrides: Sequence[str]) -> None:
    """`model=NAME model.pretrained=true` without a ckpt: download torchvision's weights into torch.hub's cache
    before the Hydra job starts, so that an offline failure leaves no run dir behind (the job then reads the
    cached file). Flags (`--cfg`, `-m`, ...) run nothing here: a sweep's jobs fetch for themselves."""
    values = dict(o.lstrip("+~").split("=", 1) for o in overrides if "=" in o)
    unset = ("", "null", "None")
    if flags or values.get("model.pretrained", "").lower() != "true" or values.get("ckpt", "") not in unset \
            or values.get("model.weights", "") not in unset:
        return
    from seg_cli.models.published import ensure_cached  # torch and torchvision: only on this path

    ensure_cached(values.get("model", ""))


def inputs_override(inputs: Sequence[str]) -> str:
    """Hydra override carrying absolute input paths, quoted so spaces and commas survive."""

    def quote(path: str) -> str:
        escaped = os.path.abspath(path).replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${")
        return f"'{escaped}'"

    return "inputs=[" + ",".join(quote(p) for p in inputs) + "]"


def data_overrides(words: Sequence[str]) -> list[str]:
    """`seg data ACTION [NAME]`: the words become the overrides `action=ACTION` and `name=NAME`.

    No words at all is left to the command, which says what it needs (and `seg data --help` works)."""
    if not words:
        return []
    if len(words) > 2:
        raise ValueError(f"`seg data` takes an action ({'|'.join(DATA_ACTIONS)}) and, for download, a dataset "
                         f"name, then key=value overrides; got the words: {' '.join(words)}")
    if words[0] not in DATA_ACTIONS:
        raise ValueError(f"unknown action '{words[0]}'; choose from: {', '.join(DATA_ACTIONS)}")
    return [f"action={words[0]}"] + [f"name={word}" for word in words[1:]]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return dispatch(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `seg ... | head` closed the pipe: not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def missing_sweeper(overrides: list[str]) -> bool:
    """`hparams_search=...` without the search extra (Hydra's own message spans many lines)."""
    if not any(o.lstrip("+").startswith("hparams_search=") and not o.endswith("=null") for o in overrides):
        return False
    import importlib.util

    return importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None


def dispatch(args: list[str]) -> int:
    """Run the command named by args[0] with the rest of the line."""
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if any(flag in args for flag in SHELL_COMPLETION_FLAGS):
        from seg_cli.completion import shell_completion

        return shell_completion(args)
    if args[0] in ("-V", "--version"):
        from seg_cli import __version__

        print(f"seg {__version__}")
        return 0
    command = args[0]
    if command not in COMMANDS:
        print(f"seg: error: unknown command '{command}'; choose from: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    flags, overrides, inputs = split_arguments(args[1:], takes_inputs=command in ("predict", "data"))
    if "--help" in flags or "-h" in flags:
        from seg_cli.help import command_help

        print(command_help(command, COMMANDS[command][1]))
        return 0
    if command == "data":
        try:
            overrides = data_overrides(inputs) + overrides
        except ValueError as exc:
            print(f"seg: error: {exc}", file=sys.stderr)
            return 2
    elif inputs:
        overrides.append(inputs_override(inputs))
    if command == "train" and missing_sweeper(overrides):
        print("seg: error: hparams_search needs Hydra's Optuna sweeper: pip install -e \".[search]\" "
              "(or pip install hydra-optuna-sweeper)", file=sys.stderr)
        return 1
    if command in CHECKPOINT_COMMANDS:
        overrides = checkpoint_overrides(overrides)
        try:
            prefetch_published_weights(flags, overrides)
        except SegError as exc:
            print(f"seg: error: {one_line(exc)}", file=sys.stderr)
            return 1
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and "-m" not in flags and "--multirun" not in flags:
        from seg_cli.engine.distributed import shared_run_dir_overrides  # torch only under torchrun

        overrides = shared_run_dir_overrides(command, overrides)
    # Flags first because Hydra 1.3 stops reading flags after overrides.
    run_hydra_app(command, [*flags, *overrides])
    return 0


def run_hydra_app(command: str, hydra_args: Sequence[str]) -> None:
    """Run the command's Hydra app on `hydra_args` (Hydra reads sys.argv itself).

    The program name is `seg COMMAND`, the words a user types: Hydra prints it in its help and completion hints."""
    module = importlib.import_module(COMMANDS[command][0])
    sys.argv = [f"seg {command}", *hydra_args]
    module.main()


if __name__ == "__main__":
    sys.exit(main())
