"""Benchmark: `dtsflow plan` of 1,000 tasks against the emulator with 50 ms of injected latency per request.

Reports the wall time of the whole command (a subprocess: interpreter start-up, imports, manifest loading,
refresh, planning, rendering) next to a baseline measured in the same run against the same emulator: a
Terraform-style refresh, one detail call per task, ten at a time (only the calls, no start-up: the baseline is
flattered, not us). Targets: plan <= 1 s, and >= 5x faster than the baseline.

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_plan.py [--tasks 1000] [--latency-ms 50] [--runs 5]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dtsflow.client.credentials import Credentials  # noqa: E402
from dtsflow.client.http import HttpDtsClient  # noqa: E402
from dtsflow.client.wire import config_body, managed_tags  # noqa: E402
from dtsflow.emulator import RunningEmulator, start_in_thread  # noqa: E402
from dtsflow.manifest.model import TaskSpec  # noqa: E402

MANIFEST_HEAD = """\
version: 1
defaults:
  standard: large
  dataType: [schema, base, increment]
  src: {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.12, port: 3306, user: dts_reader,
        password: "{{ secret('BENCH_DB_PASSWORD') }}"}
  dst: {instanceType: public, dbType: kafka, region: bj, host: kafka.internal, port: 9092}
  objects: [{type: table, src: orders.items}]
tasks:
"""


def cli_env(emulator: RunningEmulator) -> dict[str, str]:
    """The environment of a `dtsflow` child process against `emulator`: none of the caller's own dtsflow or BCE
    settings, this checkout on the path, the emulator's endpoint and keys, and the manifests' password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    return env | {
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "DTSFLOW_ENDPOINT": emulator.url,
        "BCE_ACCESS_KEY_ID": emulator.access_key,
        "BCE_SECRET_ACCESS_KEY": emulator.secret_key,
        "BENCH_DB_PASSWORD": "not-a-real-password",
    }


def task_spec(name: str) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": name,
            "standard": "large",
            "dataType": ["schema", "base", "increment"],
            "src": {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "10.0.0.12", "port": 3306,
                    "user": "dts_reader"},
            "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka.internal", "port": 9092},
            "objects": [{"type": "table", "src": "orders.items"}],
        },
        strict=False,
    )  # fmt: skip


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plan(manifest: Path, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "dtsflow", "plan", str(manifest), "--detailed-exitcode"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:  # 0 = no changes: every seeded task matches its manifest task
        raise SystemExit(f"plan exited {result.returncode}: {result.stderr[-2000:]}")
    return elapsed


def baseline_refresh(client: HttpDtsClient, ids: list[str], concurrency: int) -> float:
    """One detail call per task, `concurrency` at a time (Terraform's refresh with -parallelism=10)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        tasks = list(pool.map(client.get_task, ids))
    elapsed = time.perf_counter() - start
    assert len(tasks) == len(ids)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=10)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, start_in_thread(time_scale=0.01) as emulator:
        names = [f"bench-{i:05d}" for i in range(opts.tasks)]
        tagged = {"standard": "Large", "status": "running", "tags": managed_tags()}  # as if dtsflow created them
        docs = [{**config_body(task_spec(n)), **tagged} for n in names]
        with httpx.Client(base_url=emulator.url, trust_env=False, timeout=60) as admin:
            ids = admin.post("/_emulator/tasks", json={"tasks": docs}).json()["dtsIds"]
            admin.post("/_emulator/faults", json={"latency_ms": opts.latency_ms}).raise_for_status()
            manifest = Path(tmp) / "bench.yaml"
            manifest.write_text(MANIFEST_HEAD + "".join(f"  - {{name: {n}}}\n" for n in names))
            env = cli_env(emulator)
            run_plan(manifest, env, tmp)  # warm the file cache and the emulator
            admin.post("/_emulator/stats/reset", json={})
            cpu_before = child_cpu()
            plan_times = [run_plan(manifest, env, tmp) for _ in range(opts.runs)]
            plan_cpu = (child_cpu() - cpu_before) / opts.runs
            plan_requests = admin.get("/_emulator/stats").json()
            credentials = Credentials(emulator.access_key, emulator.secret_key, source="bench")
            with HttpDtsClient(emulator.url, credentials, trust_env=False) as client:
                baseline = baseline_refresh(client, ids, opts.concurrency)

    start_ups = []
    for _ in range(opts.runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        start_ups.append(time.perf_counter() - began)
    median = statistics.median(plan_times)
    print(f"tasks: {opts.tasks}, injected latency: {opts.latency_ms:g} ms per request, runs: {opts.runs}")
    print(f"dtsflow plan (whole command, subprocess): median {median:.3f} s, "
          f"min {min(plan_times):.3f} s, max {max(plan_times):.3f} s")  # fmt: skip
    print(f"  CPU time of the command (user+sys, less sensitive to other load): {plan_cpu:.3f} s per run")
    print(f"  requests per plan: {plan_requests['total'] / opts.runs:g} ({plan_requests['requests']})")
    print(f"baseline: {opts.tasks} detail calls, {opts.concurrency} at a time (calls only): {baseline:.3f} s")
    print(f"python -c pass (interpreter start-up, same machine now): median {statistics.median(start_ups):.3f} s; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"ratio baseline / plan: {baseline / median:.1f}x (target >= 5x); plan target <= 1 s: "
          f"{'met' if median <= 1.0 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
