"""Wall time and peak memory of the README's demo campaign, per seed and noise level.

Run: `.venv/bin/python benchmarks/demo.py [--seeds 1 2 3] [--noise 0 0.01]`.
Each campaign runs as a child process (`run.py campaign start ... --json`), so
the peak resident memory is that of the campaign alone (ru_maxrss of the
child), on a fresh database in a temporary directory. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(seed: int, noise: float) -> dict[str, object]:
    """One demo campaign in a child process; its wall time, peak RSS and result."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(ROOT / "run.py"),
            "campaign",
            "start",
            "--backend",
            "core/Pendulum-v0",
            "--seed",
            str(seed),
            "--noise",
            str(noise),
            "--db",
            f"sqlite:///{tmp}/demo.db",
            "--json",
        ]
        # A fresh wrapper per run: its RUSAGE_CHILDREN peak is this campaign's alone.
        wrapper = (
            "import json, resource, subprocess, sys, time; t0 = time.perf_counter(); "
            "out = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True, check=True); "
            "print(json.dumps({'wall': time.perf_counter() - t0, "
            "'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'out': out.stdout}))"
        )
        done = subprocess.run(
            [sys.executable, "-c", wrapper, json.dumps(cmd)],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=True,
        )
    result = json.loads(done.stdout)
    summary = json.loads(result["out"])
    wall, peak_kib = result["wall"], result["peak_kib"]
    return {
        "seed": seed,
        "noise": noise,
        "wall_s": wall,
        "peak_rss_mib": peak_kib / 1024,
        "iterations": summary["iterations"],
        "measurements": summary["measurements"],
        "status": summary["stop_reason"],
        "law": (summary.get("best") or {}).get("expression"),
    }


def main() -> None:
    """Run the demo for each seed and noise level and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01])
    args = parser.parse_args()
    rows = [run_one(seed, noise) for noise in args.noise for seed in args.seeds]
    print(
        "| seed | noise | wall s | peak RSS MiB | iterations | measurements | stop | law |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['noise']:g} | {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} | {r['iterations']} "
            f"| {r['measurements']} | {r['status']} | `{r['law']}` |"
        )


if __name__ == "__main__":
    main()
