"""Where `seg <command> --help` spends its time, and what memoising Hydra's group listing saves (issue #5).

    python scripts/bench_help.py --command train --repeats 7

Hydra's help lists every config group (its own hydra/* groups included) and, for each group, builds a new
CachingConfigRepository, which deep-copies the whole config repository: about 75 copies for `seg train`.
`--memoised` runs the command with one repository reused for all listings (same output), which is the
change this script measures. Prints best-of-N wall times, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def install_memoised_group_listing() -> None:
    """Make Hydra's ConfigLoaderImpl.get_group_options reuse one repository when given no overrides."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.object_type import ObjectType

    original = ConfigLoaderImpl.get_group_options

    def get_group_options(self, group_name, results_filter=ObjectType.CONFIG, config_name=None, overrides=None):
        if config_name is not None or overrides:
            return original(self, group_name, results_filter, config_name, overrides)
        if "_seg_listing_repo" not in self.__dict__:
            self._seg_listing_repo = self._parse_overrides_and_create_caching_repo(None, [])[1]
        return self._seg_listing_repo.get_group_options(group_name, results_filter)

    ConfigLoaderImpl.get_group_options = get_group_options


def best_wall_time(argv: list[str], repeats: int) -> float:
    """Best wall time in seconds of running `argv` (output discarded, must succeed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> dict[str, float | bool]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--command", default="train", help="seg command whose --help is timed")
    p.add_argument("--repeats", type=int, default=7, help="runs per timing (best kept)")
    p.add_argument("--memoised", nargs=argparse.REMAINDER, help="internal: run `seg ARGS` with the memo installed")
    args = p.parse_args(argv)
    if args.memoised is not None:
        install_memoised_group_listing()
        from seg_cli.cli import main as seg_main

        sys.exit(seg_main(args.memoised))
    python = sys.executable
    timings = {
        "python_startup_s": best_wall_time([python, "-c", "pass"], args.repeats),
        "seg_help_s": best_wall_time([python, "-m", "seg_cli", "--help"], args.repeats),
        "import_command_s": best_wall_time([python, "-c", "import importlib, seg_cli.cli as c; "
                                            f"importlib.import_module(c.COMMANDS['{args.command}'][0])"], args.repeats),
        "command_help_s": best_wall_time([python, "-m", "seg_cli", args.command, "--help"], args.repeats),
        "command_help_memoised_s": best_wall_time([python, __file__, "--memoised", args.command, "--help"],
                                                  args.repeats),
    }
    outputs = [subprocess.run(cmd, capture_output=True, text=True, check=True).stdout for cmd in (
        [python, "-m", "seg_cli", args.command, "--help"], [python, __file__, "--memoised", args.command, "--help"])]
    for key, value in timings.items():
        print(f"{key:<26} {value:6.3f}")
    timings["memoised_output_identical"] = outputs[0] == outputs[1]
    print(f"memoised output identical: {timings['memoised_output_identical']}")
    print(json.dumps(timings))
    return timings


if __name__ == "__main__":
    main()
