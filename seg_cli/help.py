"""`seg <command> --help` without Hydra: the config groups with their options and the commented primary config.

Hydra's own app help composes every config group of Hydra and its plugins (about a second); this reads
the same facts straight from configs/ in milliseconds, and keeps the YAML comments that explain each key.
"""

from __future__ import annotations

import re
from pathlib import Path

from seg_cli.paths import config_dir

# `- group: option`, `- override group: option`, `- optional group: option`, each with an optional `# comment`.
_DEFAULT_ENTRY = re.compile(r"^\s*-\s*(?:(?:override|optional)\s+)?([\w/]+)\s*:\s*([^\s#]+)\s*(?:#.*)?$")
# eval / predict / export take model and dataset from a checkpoint, so their primary configs name neither;
# `model=NAME` / `dataset=NAME` still choose one (seg_cli.cli.checkpoint_overrides appends it to the defaults).
CHECKPOINT_COMMANDS = ("eval", "predict", "export")
CHECKPOINT_GROUPS = ("model", "dataset")
FROM_CHECKPOINT = "checkpoint"  # the "default" of a checkpoint group


# `- name`, a whole config rather than a group choice (a schema, `_self_`, configs/infer.yaml, hydra/run_dir).
_CONFIG_ENTRY = re.compile(r"^\s*-\s*([\w/]+)\s*(?:#.*)?$")


def defaults_lines(primary_yaml: str) -> list[str]:
    """The lines of the `defaults:` list of a primary config."""
    lines: list[str] = []
    in_defaults = False
    for line in primary_yaml.splitlines():
        if line.startswith("defaults:"):
            in_defaults = True
            continue
        if in_defaults and line and not line.startswith((" ", "-")):
            break
        if in_defaults:
            lines.append(line)
    return lines


def default_groups(primary_yaml: str) -> dict[str, str]:
    """Group -> default option, from the `defaults:` list of a primary config."""
    groups: dict[str, str] = {}
    for line in defaults_lines(primary_yaml):
        match = _DEFAULT_ENTRY.match(line)
        if match and not match.group(1).startswith("hydra"):
            groups[match.group(1)] = match.group(2)
    return groups


def included_configs(primary_yaml: str) -> list[Path]:
    """The YAML files of configs/ that a primary config's defaults take whole (`- infer`), Hydra's own aside:
    their keys are the command's keys as much as the primary config's."""
    names = [m.group(1) for m in map(_CONFIG_ENTRY.match, defaults_lines(primary_yaml)) if m]
    paths = [Path(config_dir()) / f"{name}.yaml" for name in names if not name.startswith("hydra")]
    return [path for path in paths if path.is_file()]


def config_body(path: Path) -> str:
    """A config's text without its leading comment lines (the command line that uses it)."""
    lines = path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "\n".join(lines[start:]).strip("\n")


def command_groups(command: str) -> dict[str, str]:
    """The config groups `seg COMMAND group=option` accepts -> default option ("null": none,
    FROM_CHECKPOINT: the checkpoint's). Help and shell completion both list these."""
    groups = default_groups((Path(config_dir()) / f"{command}.yaml").read_text())
    if command in CHECKPOINT_COMMANDS:
        groups.update({group: FROM_CHECKPOINT for group in CHECKPOINT_GROUPS if group not in groups})
    return groups


def group_options(group: str) -> list[str]:
    """The options of a config group: its YAML files' names."""
    return sorted(p.stem for p in (Path(config_dir()) / group).glob("*.yaml"))


def group_line(group: str, default: str) -> str:
    """`group: a, b (default), c`, saying where the value comes from when no option is the default."""
    shown = [f"{o} (default)" if o == default else o for o in group_options(group)]
    note = {"null": " (none by default)", FROM_CHECKPOINT: " (default: the checkpoint's)"}.get(default, "")
    return f"{group}: {', '.join(shown) or '-'}{note}"


def download_lines() -> list[str]:
    """`seg data download NAME`: the names, from the table the download reads."""
    from seg_cli.data.download import DOWNLOADS, MANUAL  # stdlib only: keeps --help instant

    fetched = [name for name in DOWNLOADS if name not in MANUAL]
    return ["", "== Datasets for `seg data download NAME` ==",
            f"fetched and unpacked: {', '.join(fetched)}",
            f"by hand (the command says where to get them): {', '.join(n for n in DOWNLOADS if n in MANUAL)}"]


# The words a command takes before its overrides, for its usage line.
POSITIONAL = {"report": "RUN_DIR [RUN_DIR ...]"}


def command_help(command: str, description: str) -> str:
    """Usage, config groups (default marked), the primary YAML without its `hydra:` section and the configs it
    takes whole (configs/infer.yaml)."""
    path = Path(config_dir()) / f"{command}.yaml"
    groups = command_groups(command)
    words = f"{POSITIONAL[command]} " if command in POSITIONAL else ""
    choices = "[group=option ...] " if groups else ""
    lines = [f"seg {command}: {description}", "", f"usage: seg {command} {words}[-m] [--cfg job] {choices}[key=value ...]"]
    if groups:  # `seg report` has none
        lines += ["", "== Config groups (choose with group=option) =="]
        lines += [group_line(group, default) for group, default in groups.items()]
    if command == "data":
        lines += download_lines()
    primary = path.read_text()
    lines += ["", f"== Config: {path} (override any key: section.key=value) ==", primary.split("\nhydra:")[0].rstrip()]
    for included in included_configs(primary):
        lines += ["", f"# {included}", config_body(included)]
    lines += ["",
              f"The composed config with all group values: seg {command} --cfg job",
              f"Hydra's flags: seg {command} --hydra-help"]
    return "\n".join(lines)
