"""Benchmark: apply 100 new tasks to `running` on the emulator, against the ideal measured in the same run.

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_apply.py [--tasks 100] [--parallelism 10]
                                                                  [--time-scale 0.1] [--latency-ms 0]

Ideal = one task's critical path (one task applied alone, median of 3) x ceil(tasks / parallelism): what
perfectly packed batches of `parallelism` tasks would take. Reported next to it: the wall time of the
100-task apply, mutating requests per task (target 4: create, config, precheck, start), other requests per
task (list polls, precheck reads; target <= 2 on average) and polls (list calls) per task.
Targets: wall <= 1.25 x ideal; 4 mutating requests per task; <= 2 other requests per task.

Runs in-process: the real executor and HTTP client against the real emulator server on loopback.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from dtsflow.client.http import HttpDtsClient
from dtsflow.credentials import Credentials
from dtsflow.emulator import start_in_thread
from dtsflow.executor import Executor
from dtsflow.journal import Journal
from dtsflow.manifest import TaskSpec
from dtsflow.planner import make_plan
from dtsflow.refresh import fetch_live

MUTATING = ("create", "config", "precheck", "skipPrecheck", "start", "pause", "shutdown", "delete", "rename", "resize")


class Manifests:
    def __init__(self, tasks: dict[str, TaskSpec]) -> None:
        self.tasks = tasks
        self.prune_prefixes: list[str] = []
        self.digest = "bench"
        self.paths: list[str] = []
        self.locations: dict[str, tuple[str, int]] = {}


def spec(name: str) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": name,
            "standard": "large",
            "src": {
                "instanceType": "public",
                "dbType": "mysql",
                "region": "bj",
                "host": "10.0.0.12",
                "port": 3306,
                "user": "dts",
                "password": "${secret:BENCH_PASS}",
            },
            "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka", "port": 9092},
            "dataType": ["schema", "base", "increment"],
            "objects": [{"type": "table", "src": "shop.orders"}],
        }
    )


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(url + "/_emulator/stats", timeout=10).json())


def apply(url: str, ak: str, sk: str, names: list[str], parallelism: int, workdir: Path) -> dict[str, float]:
    httpx.post(url + "/_emulator/stats/reset", timeout=10).raise_for_status()
    client = HttpDtsClient(
        url, Credentials(ak, sk, source="bench"), trust_env=False, max_in_flight=max(16, parallelism + 2)
    )
    with client:
        began = time.perf_counter()
        live = fetch_live(client)
        plan = make_plan(Manifests({n: spec(n) for n in names}), live)
        executor = Executor(
            client,
            journal=Journal(workdir / "journal"),
            parallelism=parallelism,
            resolve_secret=lambda ref: "bench-password",
        )
        report = executor.apply(plan)
        wall = time.perf_counter() - began
    if report.applied != len(names):
        raise SystemExit(f"benchmark apply failed: {report.to_dict()}")
    requests = stats(url)["requests"]
    mutating = sum(int(requests.get(op, 0)) for op in MUTATING)
    total = sum(int(v) for v in requests.values())
    return {
        "wall": wall,
        "mutating": mutating / len(names),
        "other": (total - mutating) / len(names),
        "polls": int(requests.get("list", 0)) / len(names),
        "list": float(requests.get("list", 0)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    faults = {"latency_ms": args.latency_ms} if args.latency_ms else None
    with tempfile.TemporaryDirectory() as tmp, start_in_thread(time_scale=args.time_scale, faults=faults) as emu:
        work = Path(tmp)
        singles = [apply(emu.url, emu.access_key, emu.secret_key, [f"solo-{i}"], 1, work)["wall"] for i in range(3)]
        critical = statistics.median(singles)
        ideal = critical * math.ceil(args.tasks / args.parallelism)
        names = [f"bench-{i:03d}" for i in range(args.tasks)]
        result = apply(emu.url, emu.access_key, emu.secret_key, names, args.parallelism, work)
    ratio = result["wall"] / ideal
    print(f"emulator time_scale {args.time_scale}, latency {args.latency_ms:g} ms, parallelism {args.parallelism}")
    print(
        f"one task alone (critical path), median of 3: {critical:.3f}s  (runs: {', '.join(f'{s:.3f}' for s in singles)})"
    )
    print(f"ideal for {args.tasks} tasks = {critical:.3f}s x {math.ceil(args.tasks / args.parallelism)} = {ideal:.3f}s")
    print(f"wall time for {args.tasks} tasks: {result['wall']:.3f}s  = {ratio:.2f} x ideal  (target <= 1.25)")
    print(f"mutating requests per task: {result['mutating']:.2f}  (target 4)")
    print(f"other requests per task: {result['other']:.2f}  (target <= 2)")
    print(f"polls (list calls) per task: {result['polls']:.3f}  ({result['list']:.0f} list calls in all)")
    ok = ratio <= 1.25 and result["mutating"] <= 4.0 and result["other"] <= 2.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
