"""The `seg` entrypoint: picks the command and hands the rest of the line to its Hydra app.

Kept free of torch and Hydra imports so `seg --help` is instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from seg_cli.arguments import (  # noqa: F401 - split_arguments is part of this module's interface for tests
    COMMANDS,
    DATA_ACTIONS,
    INPUT_COMMANDS,
    SHELL_COMPLETION_FLAGS,
    checkpoint_overrides,
    open_section_overrides,
    run_hydra_app,
    split_arguments,
)
from seg_cli.errors import SegError, one_line
from seg_cli.help import CHECKPOINT_COMMANDS
from seg_cli.models.weight_keys import PUBLISHED_KEY, WEIGHTS_KEY  # torch-free


def usage() -> str:
    from seg_cli.data.download import DOWNLOADS  # stdlib only: keeps --help instant

    lines = ["usage: seg <command> [hydra flags] [key=value overrides]", "", "commands:"]
    lines += [f"  {name:<8} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += [
        "",
        "Each command is a Hydra app: `seg train --help` shows its config groups and options,",
        "`seg train --cfg job` prints the composed config, `seg train -m optimizer.lr=0.01,0.02` sweeps.",
        "`seg predict IMG|VIDEO|DIR ...` takes image and video files and folders as positional arguments.",
        "`seg report RUN_DIR [RUN_DIR ...]` (re)writes a run's report.html, or one page comparing runs.",
        "`seg predict photo.jpg model=deeplabv3_resnet50 model.pretrained=true` uses torchvision's published weights.",
        f"`seg data check|show|stats dataset=NAME` and `seg data download NAME` ({', '.join(DOWNLOADS)}) "
        "take words first.",
        "",
        "Shell completion (commands, config groups, options and keys): eval \"$(seg -sc install=bash)\"",
        "(zsh: the same line; it loads zsh's bashcompinit).",
    ]
    return "\n".join(lines)


def prefetch_published_weights(flags: Sequence[str], overrides: Sequence[str]) -> None:
    """`model=NAME model.pretrained=true` without a ckpt: download the model's published weights (through
    seg_cli.models.published's providers) into their cache before the Hydra job starts, so that an offline
    failure leaves no run dir behind (the job then reads the cached file). Flags (`--cfg`, `-m`, ...) run nothing
    here: a sweep's jobs fetch for themselves."""
    values = {key: unquoted(value) for key, value in (o.lstrip("+~").split("=", 1) for o in overrides if "=" in o)}
    unset = ("", "null", "None")
    if flags or values.get(f"model.{PUBLISHED_KEY}", "").lower() not in ("true", "yes", "on") \
            or values.get("ckpt", "") not in unset or values.get(f"model.{WEIGHTS_KEY}", "") not in unset:
        return
    from seg_cli.models.published import ensure_cached  # torch and the providers: only on this path

    keys = {key.removeprefix("model."): value for key, value in values.items() if key.startswith("model.")}
    ensure_cached(values.get("model", ""), keys)


def unquoted(value: str) -> str:
    """An override's value without the quotes Hydra's grammar allows around it (`model.name='org/id'`)."""
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value


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
    flags, overrides, inputs = split_arguments(args[1:], takes_inputs=command in INPUT_COMMANDS)
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
    overrides = open_section_overrides(overrides)
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


if __name__ == "__main__":
    sys.exit(main())
