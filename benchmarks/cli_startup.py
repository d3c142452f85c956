"""How fast the command line answers: `python run.py --help` against the 0.5 s target.

Each command runs as a fresh child process (`--repeats` times after one
untimed warm-up run that fills the OS file cache); the median wall time is
compared with the target of issue 7. `import lawloop` (the notebook API) is
timed the same way, since it must stay as cheap.

    .venv/bin/python benchmarks/cli_startup.py [--repeats 5] [--json FILE] [--check]

prints a markdown table; with `--check`, exits 1 when `run.py --help` misses
the target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.5

COMMANDS = {
    "python run.py --help": [sys.executable, str(ROOT / "run.py"), "--help"],
    "python run.py hypotheses list --help": [
        sys.executable,
        str(ROOT / "run.py"),
        "hypotheses",
        "list",
        "--help",
    ],
    "python -c 'import lawloop'": [sys.executable, "-c", "import lawloop"],
    "python -c 'pass' (interpreter alone)": [sys.executable, "-c", "pass"],
}


def wall_times(command: list[str], repeats: int) -> list[float]:
    """Wall seconds of `repeats` runs of `command`, after one untimed run."""
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        if i:  # the first run only warms the file cache
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    """Time each command and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument(
        "--check", action="store_true", help="Exit 1 when `run.py --help` misses."
    )
    args = parser.parse_args()
    rows = []
    for label, command in COMMANDS.items():
        times = wall_times(command, args.repeats)
        rows.append(
            {
                "command": label,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
                "repeats": len(times),
            }
        )
    print(f"| command | median s | min s | max s | target {TARGET_S} s |")
    print("|---|---|---|---|---|")
    for r in rows:
        verdict = (
            ""
            if "(" in r["command"]
            else ("met" if r["median_s"] < TARGET_S else "**missed**")
        )
        print(
            f"| `{r['command']}` | {r['median_s']:.3f} | {r['min_s']:.3f} "
            f"| {r['max_s']:.3f} | {verdict} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.check and rows[0]["median_s"] >= TARGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
