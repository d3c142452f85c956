"""Simulation throughput: pendulum RK4 steps per second, and measurements per second per backend.

Run: `.venv/bin/python benchmarks/executor_throughput.py [--sizes 1000 10000 100000]
[--steps 256] [--repeats 5] [--batches 1000 10000] [--exec-repeats 3] [--json FILE]`.

Prints the machine (CPU model, logical CPUs, load, torch and NumPy versions,
torch's thread count, GPU), then two markdown tables:

* RK4 steps per second (samples x steps / wall seconds) of the dimensionless
  pendulum theta'' = -sin(theta) - beta theta' with `core/Pendulum-v0`'s step
  size, integrated by a plain NumPy float64 RK4 written here, by the
  pendulum's reference step `_rk4` in torch, and by the block integrator
  `_rk4_block` the backend runs; on the CPU with torch's default thread count
  and with one thread, and on CUDA when torch sees a GPU.
* Measurements per second through the `Executor` (chunked, seeded, with the
  campaign's default time limit per chunk, so in a watched thread as in a
  campaign) for every built-in backend that needs no options, plus
  `core/Formula-v0` on one problem of a problem file.

Every figure is the best and the median over `--repeats` timed runs, after one
untimed warm-up run (a short one for the RK4 loops). Timings on a shared
machine are noisy: the best is the machine's speed, the median what a run
met. `--json FILE` also writes the machine and every row as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lawloop import experiments
from lawloop.experiments.builtin import pendulum

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROBLEMS = ROOT / "benchmarks" / "problems" / "feynman_dev.json"
H = 1.0 / pendulum.STEPS_PER_RADIAN
"""The pendulum's RK4 step in units of sqrt(L/g)."""
RUN_TIMEOUT_S = 600.0
"""The campaign's default `run_timeout_s`: chunks run in a watched thread."""
NOT_AVAILABLE = "not available on this machine"

Row = dict[str, Any]


def numpy_rk4(
    theta: np.ndarray, omega: np.ndarray, beta: np.ndarray, steps: int
) -> np.ndarray:
    """Plain NumPy RK4 of theta'' = -sin(theta) - beta theta' (a temporary per operation); final theta."""

    def accel(th: np.ndarray, om: np.ndarray) -> np.ndarray:
        a: np.ndarray = -np.sin(th) - beta * om
        return a

    h = H
    for _ in range(steps):
        a1 = accel(theta, omega)
        th2, om2 = theta + 0.5 * h * omega, omega + 0.5 * h * a1
        a2 = accel(th2, om2)
        th3, om3 = theta + 0.5 * h * om2, omega + 0.5 * h * a2
        a3 = accel(th3, om3)
        th4, om4 = theta + h * om3, omega + h * a3
        a4 = accel(th4, om4)
        theta = theta + (h / 6) * (omega + 2 * om2 + 2 * om3 + om4)
        omega = omega + (h / 6) * (a1 + 2 * a2 + 2 * a3 + a4)
    return np.asarray(theta)


def torch_rk4(
    theta: torch.Tensor, omega: torch.Tensor, beta: torch.Tensor, steps: int
) -> torch.Tensor:
    """`steps` calls of the pendulum's reference step `_rk4`; final theta."""
    for _ in range(steps):
        theta, omega = pendulum._rk4(theta, omega, beta, H)
    return theta


def torch_rk4_block(
    theta: torch.Tensor, omega: torch.Tensor, beta: torch.Tensor, steps: int
) -> torch.Tensor:
    """`steps` steps of the backend's `_rk4_block`, `BLOCK` rows at a time; final theta."""
    rows = min(steps, pendulum.BLOCK) + 1
    buf_theta = torch.empty(
        (rows, theta.numel()), dtype=theta.dtype, device=theta.device
    )
    buf_omega = torch.empty_like(buf_theta)
    buf_theta[0], buf_omega[0] = theta, omega
    done = 0
    while done < steps:
        k = min(steps - done, rows - 1)
        pendulum._rk4_block(buf_theta[: k + 1], buf_omega[: k + 1], beta, H)
        buf_theta[0], buf_omega[0] = buf_theta[k], buf_omega[k]
        done += k
    return buf_theta[0]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` intra-op torch threads, restoring the count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _sync_cuda() -> None:
    """Wait for the GPU, so that the clock sees its work."""
    torch.cuda.synchronize()


def _no_sync() -> None:
    """Nothing to wait for on the CPU."""


def timed(
    run: Callable[[], Any], repeats: int, sync: Callable[[], None]
) -> tuple[list[float], Any]:
    """Wall seconds of `repeats` calls of `run`, each ended by `sync`; the last result."""
    walls, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = run()
        sync()
        walls.append(time.perf_counter() - began)
    return walls, result


def rates(work: float, walls: list[float]) -> tuple[float, float]:
    """Best and median of `work / wall` over the timed runs."""
    per_s = [work / w for w in walls]
    return max(per_s), statistics.median(per_s)


def rk4_cases(
    n: int, beta_max: float, thread_counts: list[int]
) -> list[tuple[str, str, int | None, Callable[[int], Any]]]:
    """(implementation, device, threads, run `steps`) for `n` samples from the same start."""
    rng = np.random.default_rng(0)
    theta0 = rng.uniform(0.01, 3.0, n)
    beta = rng.uniform(0.0, beta_max, n)
    # NumPy's element-wise loops run on the calling thread only.
    cases: list[tuple[str, str, int | None, Callable[[int], Any]]] = [
        ("numpy", "cpu", 1, functools.partial(numpy_rk4, theta0, np.zeros(n), beta))
    ]
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    for device in devices:
        th = torch.as_tensor(theta0, device=device)
        be = torch.as_tensor(beta, device=device)
        for name, fn in (
            ("torch _rk4", torch_rk4),
            ("torch _rk4_block", torch_rk4_block),
        ):
            run = functools.partial(fn, th, torch.zeros_like(th), be)
            for threads in thread_counts if device == "cpu" else [None]:
                cases.append((name, device, threads, run))
    return cases


def rk4_rows(sizes: list[int], steps: int, repeats: int, beta_max: float) -> list[Row]:
    """Part (a): RK4 steps per second per implementation, device, thread count and size."""
    thread_counts = sorted({torch.get_num_threads(), 1}, reverse=True)
    rows: list[Row] = []
    for n in sizes:
        reference = np.zeros(n)
        for name, device, threads, run in rk4_cases(n, beta_max, thread_counts):
            sync = _sync_cuda if device == "cuda" else _no_sync
            use_threads = threads if threads and name != "numpy" else None
            with (
                torch_threads(use_threads) if use_threads else contextlib.nullcontext()
            ):
                # warm-up: lazy initialisation, allocator, CUDA context
                run(min(steps, 8))
                sync()
                walls, final = timed(functools.partial(run, steps), repeats, sync)
            theta = np.asarray(
                final.cpu() if isinstance(final, torch.Tensor) else final, dtype=float
            )
            if name == "numpy":
                reference = theta
            best, median = rates(n * steps, walls)
            rows.append(
                {
                    "implementation": name,
                    "device": device,
                    "threads": threads,
                    "samples": n,
                    "steps": steps,
                    "best_steps_per_s": best,
                    "median_steps_per_s": median,
                    # Same start, same steps: max |theta - theta_numpy| / max |theta_numpy|
                    # checks that every implementation integrates the same pendulum.
                    "diff_vs_numpy": float(
                        np.max(np.abs(theta - reference)) / np.max(np.abs(reference))
                    ),
                }
            )
        if not torch.cuda.is_available():
            rows.append(
                {
                    "implementation": "torch",
                    "device": "cuda",
                    "samples": n,
                    "note": NOT_AVAILABLE,
                }
            )
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r["implementation"] == "numpy" and r["samples"] == row["samples"]
            ),
            None,
        )
        if "best_steps_per_s" in row and base:
            row["vs_numpy"] = row["best_steps_per_s"] / base["best_steps_per_s"]
    return rows


def backend_cases(problems: Path, problem_id: str) -> list[tuple[str, dict[str, str]]]:
    """Every built-in backend with the options it is measured with (none where it needs none)."""
    cases = []
    for spec in experiments.list_backends():
        if spec.id == "core/Formula-v0":
            cases.append(
                (spec.id, {"problem_file": str(problems), "problem_id": problem_id})
            )
        else:
            cases.append((spec.id, {}))
    return cases


def executor_rows(
    batches: list[int], repeats: int, problems: Path, problem_id: str
) -> list[Row]:
    """Part (b): measurements per second through the `Executor`, per backend, device and batch."""
    rows: list[Row] = []
    for backend_id, options in backend_cases(problems, problem_id):
        label = backend_id + (f" ({problem_id})" if "problem_id" in options else "")
        try:
            backend = experiments.make(
                backend_id, options=options, device="cpu", blind=False
            )
        except experiments.ExperimentError as exc:
            note = f"skipped: {str(exc).splitlines()[0]}"
            rows.append({"backend": label, "device": "cpu", "note": note})
            continue
        rows += backend_rows(label, backend, batches, repeats)
        devices = backend.metadata.get("devices", ("cpu",))
        if "cuda" not in devices:
            rows.append(
                {"backend": label, "device": "cuda", "note": "CPU-only backend"}
            )
        elif not torch.cuda.is_available():
            rows.append({"backend": label, "device": "cuda", "note": NOT_AVAILABLE})
        else:
            on_gpu = experiments.make(
                backend_id, options=options, device="cuda", blind=False
            )
            rows += backend_rows(label, on_gpu, batches, repeats)
    return rows


def backend_rows(
    label: str, backend: experiments.ExperimentBackend, batches: list[int], repeats: int
) -> list[Row]:
    """Measurements per second of one backend on its device, one row per batch size."""
    rows: list[Row] = []
    executor = experiments.Executor(backend, timeout_s=RUN_TIMEOUT_S)
    cuda = torch.device(backend.device).type == "cuda"
    sync = _sync_cuda if cuda else _no_sync
    with backend:
        for n in batches:
            inputs = backend.sample_inputs(np.random.default_rng(0), n)
            executor.run(inputs, seed=0)  # warm-up
            runs: list[list[experiments.Chunk]] = []
            run = functools.partial(_run_batch, executor, inputs, runs)
            walls, _ = timed(run, repeats, sync)
            best, median = rates(n, walls)
            statuses = {c.result.status.code.name for chunks in runs for c in chunks}
            rows.append(
                {
                    "backend": label,
                    "device": backend.device,
                    "points": n,
                    "chunks": len(runs[0]),
                    "status": ",".join(sorted(statuses)),
                    "best_per_s": best,
                    "median_per_s": median,
                }
            )
    return rows


def _run_batch(
    executor: experiments.Executor,
    inputs: dict[str, np.ndarray],
    runs: list[list[experiments.Chunk]],
) -> None:
    """One executor run of a batch; its chunks go to `runs`."""
    runs.append(executor.run(inputs, seed=0))


def machine() -> dict[str, Any]:
    """Part (c): what the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _si(x: float) -> str:
    """A rate with three significant digits and an SI prefix (12.3M)."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def print_tables(info: dict[str, Any], rk4: list[Row], executor: list[Row]) -> None:
    """Print the machine and both tables as markdown."""
    load = info["load_average_1m"]
    print(
        f"CPU: {info['cpu']} ({info['logical_cpus']} logical CPUs"
        + (f", 1-min load {load:.2f}" if load is not None else "")
        + f"); GPU: {info['gpu'] or 'none'}; Python {info['python']}, "
        f"NumPy {info['numpy']}, torch {info['torch']} ({info['torch_threads']} threads)"
    )
    print()
    print(
        "| implementation | device | threads | samples | steps "
        "| best steps/s | median steps/s | best vs numpy | theta vs numpy |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rk4:
        head = f"| {r['implementation']} | {r['device']} "
        if "note" in r:
            print(f"{head}| - | {r['samples']} | - | {r['note']} | - | - | - |")
            continue
        print(
            f"{head}| {r['threads'] or '-'} | {r['samples']} | {r['steps']} "
            f"| {_si(r['best_steps_per_s'])} | {_si(r['median_steps_per_s'])} "
            f"| {r['vs_numpy']:.2f}x | {r['diff_vs_numpy']:.1e} |"
        )
    print()
    print(
        "| backend | device | points | chunks | best measurements/s "
        "| median measurements/s | status |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in executor:
        if "note" in r:
            print(f"| {r['backend']} | {r['device']} | - | - | {r['note']} | - | - |")
            continue
        print(
            f"| {r['backend']} | {r['device']} | {r['points']} | {r['chunks']} "
            f"| {_si(r['best_per_s'])} | {_si(r['median_per_s'])} | {r['status']} |"
        )


def main() -> None:
    """Measure, print the tables and optionally write the JSON rows."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1000, 10_000, 100_000],
        help="samples integrated together in the RK4 table",
    )
    parser.add_argument(
        "--steps", type=int, default=256, help="RK4 steps per timed run"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per RK4 row")
    parser.add_argument(
        "--beta-max",
        type=float,
        default=0.1,
        help="damping beta drawn from U(0, BETA_MAX) per sample (0: undamped)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        nargs="*",
        default=[1000, 10_000],
        help="points per batch in the executor table (none: skip it)",
    )
    parser.add_argument(
        "--exec-repeats", type=int, default=3, help="timed runs per executor row"
    )
    parser.add_argument(
        "--problems",
        type=Path,
        default=DEFAULT_PROBLEMS,
        help="problem file for core/Formula-v0",
    )
    parser.add_argument(
        "--problem-id", default="I.12.1", help="problem of core/Formula-v0"
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the rows as JSON"
    )
    args = parser.parse_args()
    if (
        min(args.sizes) < 1
        or args.steps < 1
        or args.repeats < 1
        or args.exec_repeats < 1
    ):
        parser.error("sizes, steps and repeats must be at least 1")
    info = machine()
    rk4 = rk4_rows(args.sizes, args.steps, args.repeats, args.beta_max)
    executor = executor_rows(
        args.batches, args.exec_repeats, args.problems, args.problem_id
    )
    print_tables(info, rk4, executor)
    if args.json:
        document = {
            "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
            "machine": info,
            "rk4": rk4,
            "executor": executor,
        }
        args.json.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
