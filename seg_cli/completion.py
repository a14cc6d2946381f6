"""Shell completion for `seg`: one bash function registered for `seg` (zsh runs it through bashcompinit).

The function hands the line to `seg -sc query=bash`. Command names, `seg data` words, flags and `seg predict`
paths are completed here; config groups, their options and config keys by the command's own Hydra app (Hydra's
completion engine), given the line as Hydra reads it: a program name, then only flags and overrides.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seg_cli.arguments import (
    COMMANDS,
    DATA_ACTIONS,
    PATH_COMMANDS,
    SHELL_COMPLETION_FLAGS,
    checkpoint_overrides,
    looks_like_override,
    run_hydra_app,
    split_arguments,
)
from seg_cli.help import CHECKPOINT_COMMANDS, command_groups
from seg_cli.paths import config_dir

SHELLS = ("bash", "zsh")
ACTIONS = ("install", "uninstall", "query")
TOP_FLAGS = ("--help", "--version", "--shell-completion")
COMMAND_FLAGS = ("--help", "--cfg", "--resolve", "--package", "--info", "--multirun", "--hydra-help",
                 "--config-dir", "--experimental-rerun", "-m")
FLAG_VALUES = {"--cfg": ("job", "hydra", "all"), "-c": ("job", "hydra", "all"),
               "--info": ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath"),
               "-sc": tuple(f"{a}={s}" for a in ACTIONS for s in SHELLS)}
FLAG_VALUES["-i"] = FLAG_VALUES["--info"]
FLAG_VALUES["--shell-completion"] = FLAG_VALUES["-sc"]

# Every candidate is one line; a single one that does not end in = . / gets the space that ends the word
# (`-o nospace` keeps `model=` open for its option). COMP_WORDBREAKS goes along: bash replaces only the
# text after its last break character (`=`, `:`), so the answers are cut to that (see `trim`).
_SCRIPT = r"""if [ -n "${ZSH_VERSION-}" ]; then  # zsh runs bash completion functions through bashcompinit
    (( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
    autoload -U +X bashcompinit && bashcompinit
fi
_seg_completion() {
    local line seg="${COMP_WORDS[0]/#\~/$HOME}"
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -n "$line" ]] && COMPREPLY+=("$line")
    done <<< "$(COMP_LINE="$COMP_LINE" COMP_POINT="$COMP_POINT" SEG_COMP_WORDBREAKS="$COMP_WORDBREAKS" \
        "$seg" -sc query=bash 2>/dev/null)"
    if [[ ${#COMPREPLY[@]} -eq 1 && "${COMPREPLY[0]}" != *[=./] ]] && type compopt &>/dev/null; then
        compopt +o nospace 2>/dev/null
    fi
    return 0
}
complete -o nospace -o default -F _seg_completion seg
"""


@dataclass
class Query:
    """What is being completed: `word`, with `found` known so far; `hydra_line` (if set) is the line that
    `command`'s Hydra app completes, as its `-sc query=bash` reads COMP_LINE."""

    word: str
    command: str | None = None
    found: list[str] = field(default_factory=list)
    hydra_line: str | None = None


def shell_completion(args: Sequence[str]) -> int:
    """`seg [COMMAND] -sc install|uninstall|query=bash|zsh` (the flag before or after the command)."""
    index = next(i for i, arg in enumerate(args) if arg in SHELL_COMPLETION_FLAGS)
    value = args[index + 1] if index + 1 < len(args) else ""
    action, _, shell = value.partition("=")
    if action not in ACTIONS or shell not in SHELLS:
        print(f"seg: error: {args[index]} takes {'|'.join(ACTIONS)}=SHELL with SHELL one of {', '.join(SHELLS)}, "
              f"e.g. eval \"$(seg -sc install=bash)\"; got '{value}'", file=sys.stderr)
        return 2
    if action == "install":
        print(install_script(), end="")
    elif action == "uninstall":
        print("complete -r seg 2>/dev/null\nunset -f _seg_completion")
    elif "COMP_LINE" not in os.environ:
        print("seg: error: -sc query=SHELL answers the shell's completion function, which sets COMP_LINE; "
              "to install that function: eval \"$(seg -sc install=bash)\"", file=sys.stderr)
        return 2
    else:
        comp_line = os.environ["COMP_LINE"]
        query = parse_line(comp_line, int(os.environ.get("COMP_POINT") or len(comp_line)))
        print("\n".join(answer(query, os.environ.get("SEG_COMP_WORDBREAKS", ""))))
    return 0


def install_script() -> str:
    """What `eval "$(seg -sc install=bash)"` runs, in bash or zsh (Hydra's own hint for zsh says install=bash)."""
    return _SCRIPT


def parse_line(comp_line: str, comp_point: int) -> Query:
    """Split the line up to the cursor into the words before it and the word being completed."""
    line = comp_line[:comp_point]
    words = line.split()
    word = "" if not line or line[-1].isspace() else words.pop()
    if len(words) <= 1:  # the command itself
        pool = TOP_FLAGS if word.startswith("-") else tuple(COMMANDS)
        return Query(word, found=list(pool))
    command, rest = words[1], words[2:]
    if command not in COMMANDS:
        return Query(word)
    if rest and rest[-1] in FLAG_VALUES:
        return Query(word, command, list(FLAG_VALUES[rest[-1]]))
    if word.startswith("-"):
        return Query(word, command, list(COMMAND_FLAGS))
    flags, overrides, _ = split_arguments(rest, takes_inputs=False)
    positional = [o for o in overrides if not looks_like_override(o)]
    data = data_words(positional) if command == "data" and "=" not in word else None
    if data is not None:
        return Query(word, command, data)
    overrides = [o for o in overrides if looks_like_override(o)]
    if command in CHECKPOINT_COMMANDS:
        overrides = checkpoint_overrides(overrides)
    found = paths(word) if command in PATH_COMMANDS and not looks_like_override(word) else []
    return Query(word, command, found, " ".join(["seg", *flags, *overrides, word]))


def data_words(positional: Sequence[str]) -> list[str] | None:
    """`seg data ACTION [NAME]`: the actions, then after `download` the downloadable names; None past them."""
    if not positional:
        return list(DATA_ACTIONS)
    if positional == ["download"]:
        from seg_cli.data.download import DOWNLOADS  # stdlib only

        return list(DOWNLOADS)
    return None


def paths(word: str) -> list[str]:
    """Files and folders starting with `word` (folders end in /), for `seg predict` / `seg report` inputs and
    `@lists`."""
    at, word = ("@", word[1:]) if word.startswith("@") else ("", word)
    stem = word.rpartition("/")[2]
    head = word[: len(word) - len(stem)]  # the folder part as typed, with its trailing /
    base = Path(os.path.expanduser(head or "."))
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    return [f"{at}{head}{e.name}{'/' if e.is_dir() else ''}" for e in entries
            if e.name.startswith(stem) and (stem.startswith(".") or not e.name.startswith("."))]


def hydra_candidates(command: str, hydra_line: str) -> list[str]:
    """What `command`'s Hydra app suggests for the end of `hydra_line` (its own completion engine)."""
    saved = os.environ.get("COMP_LINE")
    os.environ["COMP_LINE"] = hydra_line
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            run_hydra_app(command, ["-sc", "query=bash"])
    except SystemExit:  # Hydra could not read the line (it said why on stderr, which the shell hides)
        return []
    finally:
        if saved is not None:
            os.environ["COMP_LINE"] = saved
    return out.getvalue().split()


def answer(query: Query, wordbreaks: str) -> list[str]:
    """The candidates for `query.word`, as the shell inserts them."""
    found = list(query.found)
    if query.hydra_line is not None:
        assert query.command is not None
        found += allowed(query.command, hydra_candidates(query.command, query.hydra_line))
    matches = sorted({c for c in found if c.startswith(query.word)})
    return trim(matches, query.word, wordbreaks)


def allowed(command: str, candidates: Sequence[str]) -> list[str]:
    """Drop config groups that exist in configs/ but that `command` does not take (predict: optimizer=)."""
    others = {p.name for p in Path(config_dir()).iterdir() if p.is_dir()} - set(command_groups(command)) - {"hydra"}
    return [c for c in candidates if _group_of(c) not in others]


def _group_of(candidate: str) -> str:
    name = candidate.lstrip("+~")
    for sep in ("=", "/", "."):
        name = name.split(sep)[0]
    return name


def trim(candidates: Sequence[str], word: str, wordbreaks: str) -> list[str]:
    """Cut what bash keeps before its last word-break character in `word` (`model=un` -> it replaces `un`)."""
    cut = max((word.rfind(c) for c in wordbreaks if not c.isspace() and c not in "'\""), default=-1) + 1
    return [c[cut:] for c in candidates]
