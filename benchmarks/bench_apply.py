"""Benchmark: apply new tasks to `running` on the emulator, against the service-side critical path.

    PYTHONPATH=. python benchmarks/bench_apply.py [--scales 0.3 3 30] [--latency-ms 20] [--parallelism 10]
                                                  [--tasks 100 30 10]

The physical limit of an apply is what the service itself takes: its asynchronous phases (the emulator's
configured durations) plus the latency of every request that must happen in order, times the number of waves
(`ceil(tasks / parallelism)`: at most `parallelism` tasks are in flight). For a new task taken to `running` the
requests in order are create, config, precheck, one list that sees `checkPass`, start, one list that sees
`running`: six latencies, around the one asynchronous phase, the precheck. Plus the one list of the refresh that
every plan begins with. So

    path = latency + waves x (precheck + 6 x latency)

and the figure is `wall / path` (1.00 would be an apply that loses no time at all between the service's steps).
It is measured at three scales of precheck duration (0.3 s, 3 s, 30 s of real time: `time_scale` 1.0). The
emulator's start reaches `running` at once (it has no start phase), so the start's duration is zero at every
scale; what a start costs is its request latency, which the path counts. Each scale applies fewer tasks so that
the 30 s scale still runs in about half a minute: 100 tasks (10 waves) at 0.3 s, 30 (3 waves) at 3 s, 10 (one
wave) at 30 s. Reported next to each: list calls per second of the apply (target <= 1 on average), mutating
requests per task (target 4: create, config, precheck, start) and other requests per task.
Target: wall <= 1.15 x path at every scale.

Runs in-process: the real executor and HTTP client against the real emulator server on loopback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from dtsflow.apply.executor import Executor
from dtsflow.apply.journal import Journal
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import start_in_thread
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.planner import make_plan
from dtsflow.plan.refresh import fetch_live

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
    httpx.post(url + "/_emulator/stats/reset", json={}, timeout=10).raise_for_status()
    client = HttpDtsClient(
        url, Credentials(ak, sk, source="bench"), trust_env=False, max_in_flight=max(16, parallelism + 2)
    )
    took: dict[str, list[float]] = {}
    call = client.call

    def timed_call(operation: str, *args: Any, **kwargs: Any) -> Any:  # each request's own time, as the client saw it
        started = time.perf_counter()
        try:
            return call(operation, *args, **kwargs)
        finally:
            took.setdefault(operation, []).append(time.perf_counter() - started)

    client.call = timed_call  # type: ignore[method-assign]
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
        **{f"took_{op}": sum(times) / len(times) for op, times in took.items()},
    }


REQUESTS_PER_WAVE = 6  # create, config, precheck, list (sees checkPass), start, list (sees running)
TARGET_RATIO = 1.15
TARGET_LISTS_PER_S = 1.0


def scale(precheck_s: float, tasks: int, parallelism: int, latency_ms: float) -> dict[str, float]:
    """Apply `tasks` new tasks with prechecks of `precheck_s` seconds; the result and its critical path."""
    latency = latency_ms / 1000.0
    faults = {"latency_ms": latency_ms} if latency_ms else None
    waves = math.ceil(tasks / parallelism)
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_in_thread(time_scale=1.0, faults=faults, durations={"precheck": precheck_s}) as emu,
    ):
        names = [f"bench-{i:03d}" for i in range(tasks)]
        result = apply(emu.url, emu.access_key, emu.secret_key, names, parallelism, Path(tmp))
    path = latency + waves * (precheck_s + REQUESTS_PER_WAVE * latency)
    # The same path with each request as long as it took on average in this run (CPU contention included): what
    # is left above it is dtsflow's own waiting.
    each = {op: result.get(f"took_{op}", latency) for op in ("list", "create", "config", "precheck", "start")}
    seen = each["list"] + waves * (precheck_s + sum(each.values()) + each["list"])
    return {
        **result,
        "path": path,
        "waves": float(waves),
        "ratio": result["wall"] / path,
        "seen_ratio": result["wall"] / seen,
        "seen_ms": 1000 * sum(each.values()) / 5,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.3, 3.0, 30.0], help="precheck seconds")
    parser.add_argument("--tasks", type=int, nargs="+", default=[100, 30, 10], help="tasks at each scale")
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    if len(args.tasks) != len(args.scales):
        parser.error("give one --tasks count per --scales value")
    print(f"injected latency {args.latency_ms:g} ms per request, parallelism {args.parallelism}; "
          f"path = latency + waves x (precheck + {REQUESTS_PER_WAVE} x latency)")  # fmt: skip
    ok = True
    ratios: list[tuple[float, float]] = []
    for precheck_s, tasks in zip(args.scales, args.tasks, strict=True):
        r = scale(precheck_s, tasks, args.parallelism, args.latency_ms)
        lists_per_s = r["list"] / r["wall"]
        # At least one list per wave sees checkPass and one sees running, plus the refresh's: a floor on the rate.
        least = 1 + 2 * r["waves"]
        missed = [
            name
            for name, bad in (
                ("ratio", r["ratio"] > TARGET_RATIO),
                ("list calls", lists_per_s > TARGET_LISTS_PER_S),
                ("mutating", r["mutating"] > 4.0),
            )
            if bad
        ]
        ok = ok and not missed
        ratios.append((precheck_s, r["ratio"]))
        print(
            f"precheck {precheck_s:g} s, {tasks} tasks ({r['waves']:.0f} waves): wall {r['wall']:.3f} s, "
            f"path {r['path']:.3f} s = {r['ratio']:.2f} x path; {r['list']:.0f} list calls = "
            f"{lists_per_s:.2f}/s (at least {least:.0f} = {least / r['path']:.2f}/s: one a wave sees checkPass, "
            f"one sees running); per task {r['mutating']:.2f} mutating, {r['other']:.2f} other requests; "
            f"requests took {r['seen_ms']:.0f} ms on average: {r['seen_ratio']:.2f} x the path with those times"
            f"{'  (TARGET MISSED: ' + ', '.join(missed) + ')' if missed else ''}",
            flush=True,
        )
    print("ratios by precheck: " + ", ".join(f"{p:g} s {x:.2f}x" for p, x in ratios))
    print(f"worst ratio {max(x for _, x in ratios):.2f} x path (target <= {TARGET_RATIO}); "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
