"""`seg <command> --help` without Hydra: the config groups with their options and the commented primary config.

Hydra's own app help composes every config group of Hydra and its plugins (about a second); this reads
the same facts straight from configs/ in milliseconds, and keeps the YAML comments that explain each key.
"""

from __future__ import annotations

import re
from pathlib import Path

from seg_cli.paths import config_dir

_DEFAULT_ENTRY = re.compile(r"^\s*-\s*(?:override\s+)?([\w/]+)\s*:\s*(\S+)\s*$")


def default_groups(primary_yaml: str) -> dict[str, str]:
    """Group -> default option, from the `defaults:` list of a primary config."""
    groups: dict[str, str] = {}
    in_defaults = False
    for line in primary_yaml.splitlines():
        if line.startswith("defaults:"):
            in_defaults = True
            continue
        if in_defaults and line and not line.startswith((" ", "-")):
            break
        match = _DEFAULT_ENTRY.match(line) if in_defaults else None
        if match and not match.group(1).startswith("hydra"):
            groups[match.group(1)] = match.group(2)
    return groups


def command_help(command: str, description: str) -> str:
    """Usage, config groups (default marked) and the primary YAML without its `hydra:` section."""
    root = Path(config_dir())
    text = (root / f"{command}.yaml").read_text()
    lines = [f"seg {command}: {description}", "",
             f"usage: seg {command} [-m] [--cfg job] [group=option ...] [key=value ...]", "",
             "== Config groups (choose with group=option) =="]
    for group, default in default_groups(text).items():
        options = sorted(p.stem for p in (root / group).glob("*.yaml"))
        shown = [f"{o} (default)" if o == default else o for o in options]
        lines.append(f"{group}: {', '.join(shown) or '-'}" + (" (none by default)" if default == "null" else ""))
    body = text.split("\nhydra:")[0].rstrip()
    lines += ["", f"== Config: {root / (command + '.yaml')} (override any key: section.key=value) ==", body, "",
              f"The composed config with all group values: seg {command} --cfg job",
              f"Hydra's flags: seg {command} --hydra-help"]
    return "\n".join(lines)
