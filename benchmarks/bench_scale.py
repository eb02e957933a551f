"""Benchmark: the scale curve of `dtsflow validate` and `dtsflow plan` at 100 / 1,000 / 10,000 tasks.

    PYTHONPATH=. python benchmarks/bench_scale.py [--sizes 100 1000 10000] [--latency-ms 50] [--runs 3]

Each size is a manifest with a `defaults:` block and one line per task, and an emulator seeded with the same
tasks already `running` and matching (so the plan has no changes: what is measured is reading, not acting). Both
commands run whole, as a user runs them (a subprocess: interpreter start-up, imports, loading, and for plan the
list pages over HTTP with `--latency-ms` per request, planning and rendering); the median of `--runs` runs is
reported with its CPU time. The baseline is the same command at the smallest size, in the same run: the curve is
linear when the time per task beyond that fixed cost stays flat from one size to the next.
Target: 10,000 tasks planned in <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_plan import MANIFEST_HEAD, cli_env, task_spec  # noqa: E402
from dtsflow.client.wire import config_body, managed_tags  # noqa: E402
from dtsflow.emulator import start_in_thread  # noqa: E402

PLAN_TARGET_S = 3.0


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], cwd: str, runs: int) -> tuple[float, float]:
    """Median wall seconds and mean CPU seconds of `runs` runs of `dtsflow ARGV` (which must exit 0)."""
    walls = []
    cpu_before = child_cpu()
    for _ in range(runs):
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "dtsflow", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        walls.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise SystemExit(f"dtsflow {argv[0]} exited {result.returncode}: {result.stderr[-2000:]}")
    return statistics.median(walls), (child_cpu() - cpu_before) / runs


def measure(size: int, latency_ms: float, runs: int, tmp: Path) -> dict[str, float]:
    names = [f"scale-{i:05d}" for i in range(size)]
    manifest = tmp / f"scale-{size}.yaml"
    manifest.write_text(MANIFEST_HEAD + "".join(f"  - {{name: {n}}}\n" for n in names))
    with start_in_thread(time_scale=0.01) as emulator:
        tagged = {"standard": "Large", "status": "running", "tags": managed_tags()}  # as if dtsflow created them
        docs = [{**config_body(task_spec(n)), **tagged} for n in names]
        with httpx.Client(base_url=emulator.url, trust_env=False, timeout=120) as admin:
            for i in range(0, size, 2000):  # the admin endpoint takes bodies up to 1 MiB
                admin.post("/_emulator/tasks", json={"tasks": docs[i : i + 2000]}).raise_for_status()
            admin.post("/_emulator/faults", json={"latency_ms": latency_ms}).raise_for_status()
            env = cli_env(emulator)
            timed(["validate", str(manifest)], env, str(tmp), 1)  # warm the file cache
            validate, validate_cpu = timed(["validate", str(manifest)], env, str(tmp), runs)
            admin.post("/_emulator/stats/reset", json={}).raise_for_status()
            plan, plan_cpu = timed(["plan", str(manifest), "--detailed-exitcode"], env, str(tmp), runs)
            lists = admin.get("/_emulator/stats").json()["requests"].get("list", 0) / runs
    return {
        "validate": validate,
        "validate_cpu": validate_cpu,
        "plan": plan,
        "plan_cpu": plan_cpu,
        "lists": lists,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            results[size] = measure(size, args.latency_ms, args.runs, Path(tmp))
            r = results[size]
            print(
                f"{size:>6} tasks: validate {r['validate']:.3f} s (CPU {r['validate_cpu']:.3f} s)   "
                f"plan {r['plan']:.3f} s (CPU {r['plan_cpu']:.3f} s, {r['lists']:g} list calls)",
                flush=True,
            )
    print(f"injected latency {args.latency_ms:g} ms per request; median of {args.runs} runs each; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    base = sizes[0]
    for command in ("validate", "plan", "validate_cpu", "plan_cpu"):
        slopes = []
        for small, large in zip(sizes, sizes[1:], strict=False):
            per_task = (results[large][command] - results[small][command]) / (large - small) * 1000
            slopes.append(f"{small}->{large}: {per_task:.3f} ms/task")
        label = command.replace("_cpu", " CPU")
        print(f"{label}: time per added task {'; '.join(slopes)} (flat = linear); "
              f"baseline {label} of {base} tasks {results[base][command]:.3f} s")  # fmt: skip
    largest = sizes[-1]
    plan_s = results[largest]["plan"]
    met = plan_s <= PLAN_TARGET_S
    print(f"plan of {largest} tasks: {plan_s:.3f} s = {plan_s / PLAN_TARGET_S:.2f} x the {PLAN_TARGET_S:g} s target "
          f"({'met' if met else 'NOT met'}; the command's own CPU {results[largest]['plan_cpu']:.3f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
