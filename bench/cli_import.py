"""How fast the command line answers: wall time of `polycrm --help` and `polycrm apikey list` (on a fresh store
of its own, in a temporary folder) against a bare `python -c pass`, and the import time `python -X importtime`
adds up for each, with the modules that cost most. Target: `--help` under 0.5 s.

    .venv/bin/python bench/cli_import.py [--runs 7] [--top 8]

Figures are medians over the runs; nothing is asserted (speed is measured here, never in tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLYCRM = str(Path(sys.executable).with_name("polycrm"))
HELP_TARGET_SECONDS = 0.5


def wall_time(command: list[str], env: dict[str, str], runs: int) -> float:
    """Median seconds a command takes from start to exit."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_times(arguments: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]]]:
    """Total seconds of imports (`-X importtime`: the top-level imports' cumulative times) and the
    modules imported directly by the command's code with the largest cumulative times."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "polycrm", *arguments], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    total, modules = 0.0, []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part for part in line.removeprefix("import time:").split("|"))
        seconds = int(cumulative) / 1e6
        if not name.startswith("  "):  # a top-level import: the others are inside its cumulative time
            total += seconds
            modules.append((seconds, name.strip()))
    return total, sorted(modules, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (the median is shown)")
    parser.add_argument("--top", type=int, default=8, help="costliest top-level imports to list per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="polycrm-cli-bench-") as data_dir:
        env = dict(os.environ, POLYCRM_DATA_DIR=data_dir, POLYCRM_LOG_LEVEL="warning")
        env.pop("POLYCRM_DATABASE_URL", None)
        env.pop("POLYCRM_SECRET_KEY", None)
        subprocess.run([POLYCRM, "init"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        floor = wall_time([sys.executable, "-c", "pass"], env, args.runs)
        print(f"python -c pass                 {floor * 1000:7.0f} ms  (the floor: the interpreter alone)")
        for arguments in (["--help"], ["apikey", "list"]):
            wall = wall_time([POLYCRM, *arguments], env, args.runs)
            total, modules = import_times(arguments, env)
            label = f"polycrm {' '.join(arguments)}"
            target = ""
            if arguments == ["--help"]:
                target = f"  target < {HELP_TARGET_SECONDS * 1000:.0f} ms: " + (
                    "met" if wall < HELP_TARGET_SECONDS else "MISSED")
            print(f"{label:<30} {wall * 1000:7.0f} ms  ({(wall - floor) * 1000:.0f} ms over the floor; "
                  f"imports {total * 1000:.0f} ms){target}")
            for seconds, name in modules[:args.top]:
                print(f"    {seconds * 1000:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
