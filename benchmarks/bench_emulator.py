"""Requests per second of the emulator's detail and list calls with 50 concurrent keep-alive clients.

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_emulator.py [--clients 50] [--seconds 3]

Every server runs in its own process (so the load generator does not share its interpreter lock) and every
client thread holds one keep-alive `http.client` connection and signs each request with BCE auth v1, as a real
client does. Baselines measured in the same run, against servers that do no work at all:
  * `naive`: a minimal stdlib `ThreadingHTTPServer` answering a fixed JSON body, written the usual way
    (headers, then body) without the Nagle fix — what a naive emulator costs;
  * `tuned`: the same minimal server with `disable_nagle_algorithm` and one write per response — the ceiling
    for a stdlib server on this machine.
The emulator also answers its unauthenticated admin `GET /_emulator/stats`, which isolates auth + SQLite cost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dtsflow.emulator import DEV_ACCESS_KEY, DEV_SECRET_KEY  # noqa: E402
from tests.rawapi import signed_headers  # noqa: E402

MINIMAL_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
TUNED = sys.argv[1] == "tuned"
BODY = json.dumps({"dtsId": "dtsm0000000000000000", "status": "running", "taskName": "x" * 40}).encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = TUNED
    def log_message(self, *a): pass
    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        if TUNED:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
            self.wfile.write(head + BODY)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
    do_GET = do_POST = _answer
class S(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def start_process(args: list[str], cwd: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip().isdigit():
            return proc, int(line)
        if "listening on" in line:
            return proc, int(line.rsplit(":", 1)[1])
    proc.kill()
    raise RuntimeError(f"server did not start: {args}")


Request = Callable[[], tuple[str, str, bytes, dict[str, str]]]


def signed(method: str, path: str, body: bytes, port: int) -> tuple[str, str, bytes, dict[str, str]]:
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    if body:
        headers["Content-Length"] = str(len(body))
    return method, path, body, signed_headers(DEV_ACCESS_KEY, DEV_SECRET_KEY, method, path, headers)


def load(port: int, make: Request, clients: int, seconds: float) -> dict[str, float]:
    """`clients` threads, one keep-alive connection each, for `seconds`; rps and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        start.wait()
        mine = latencies[i]
        while time.perf_counter() < stop_at[0]:
            method, path, body, headers = make()
            t0 = time.perf_counter()
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    flat = sorted(x for xs in latencies for x in xs)
    return {
        "rps": len(flat) / wall,
        "p50_ms": 1000 * flat[len(flat) // 2],
        "p95_ms": 1000 * flat[int(len(flat) * 0.95)],
        "errors": float(sum(errors)),
    }


def sequential_latency(port: int, make: Request, n: int = 300) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    for _ in range(n):
        method, path, body, headers = make()
        t0 = time.perf_counter()
        conn.request(method, path, body=body or None, headers=headers)
        conn.getresponse().read()
        samples.append(time.perf_counter() - t0)
    conn.close()
    return 1000 * statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--tasks", type=int, default=1000, help="tasks seeded into the emulator")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-emulator-")
    procs: list[subprocess.Popen[str]] = []
    try:
        emu, emu_port = start_process(
            [sys.executable, "-m", "dtsflow", "emulator", "--port", "0", "--state", "state.sqlite3"], work
        )
        procs.append(emu)
        naive, naive_port = start_process([sys.executable, "-c", MINIMAL_SERVER, "naive"], work)
        tuned, tuned_port = start_process([sys.executable, "-c", MINIMAL_SERVER, "tuned"], work)
        procs += [naive, tuned]

        conn = http.client.HTTPConnection("127.0.0.1", emu_port, timeout=60)
        specs = [
            {
                "taskName": f"bench-{i:05d}",
                "status": "running",
                "dataType": ["schema", "base", "increment"],
                "srcConnection": {"instanceType": "public", "dbType": "mysql", "dbHost": "10.0.0.1", "dbPort": 3306},
                "dstConnection": {"instanceType": "public", "dbType": "kafka", "dbHost": "kafka", "dbPort": 9092},
                "schemaMapping": [{"type": "table", "src": f"db.t{i}", "dst": f"db.t{i}", "where": ""}],
            }
            for i in range(args.tasks)
        ]
        conn.request(
            "POST", "/_emulator/tasks", body=json.dumps({"tasks": specs}), headers={"Content-Type": "application/json"}
        )
        ids = json.loads(conn.getresponse().read())["dtsIds"]
        conn.close()
        rng = random.Random(1)
        list_body = json.dumps({"type": "migration", "maxKeys": 10}).encode()
        big_list_body = json.dumps({"type": "migration", "maxKeys": 100}).encode()

        def detail() -> tuple[str, str, bytes, dict[str, str]]:
            return signed("GET", f"/v1/task/{rng.choice(ids)}", b"", emu_port)

        def list10() -> tuple[str, str, bytes, dict[str, str]]:
            return signed("POST", "/v1/task/list", list_body, emu_port)

        def list100() -> tuple[str, str, bytes, dict[str, str]]:
            return signed("POST", "/v1/task/list", big_list_body, emu_port)

        create_body = json.dumps(
            {
                "productType": "postpay",
                "type": "sync",  # not "migration": keeps the list workloads' pages unchanged
                "standard": "large",
                "sourceInstanceType": "public",
                "targetInstanceType": "public",
                "crossRegionTag": 0,
                "directionType": "single",
            }
        ).encode()

        def create() -> tuple[str, str, bytes, dict[str, str]]:
            return signed("POST", "/v1/task", create_body, emu_port)

        def admin() -> tuple[str, str, bytes, dict[str, str]]:
            return "GET", "/_emulator/stats", b"", {"Host": "x"}

        def fixed(port: int) -> Request:
            return lambda: signed("GET", "/v1/task/dtsm0000000000000000", b"", port)

        runs = [
            ("emulator detail (GET /v1/task/{id})", emu_port, detail),
            ("emulator list (maxKeys 10)", emu_port, list10),
            ("emulator list (maxKeys 100)", emu_port, list100),
            ("emulator create (one SQLite write each)", emu_port, create),
            ("emulator admin stats (no auth, no DB)", emu_port, admin),
            ("baseline naive stdlib, fixed body", naive_port, fixed(naive_port)),
            ("baseline tuned stdlib, fixed body", tuned_port, fixed(tuned_port)),
        ]
        print(
            f"{args.clients} concurrent keep-alive clients, {args.seconds:g} s each, {args.tasks} tasks, "
            f"{os.cpu_count()} CPUs (load generator and servers share them)"
        )
        print(f"{'workload':44} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
        results: dict[str, dict[str, float]] = {}
        for name, port, make in runs:
            r = load(port, make, args.clients, args.seconds)
            results[name] = r
            print(f"{name:44} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['errors']:7.0f}")
        det = results[runs[0][0]]["rps"]
        lst = results[runs[1][0]]["rps"]
        naive_rps = results[runs[5][0]]["rps"]
        tuned_rps = results[runs[6][0]]["rps"]
        print()
        print(f"detail vs naive baseline: {det / naive_rps:5.2f}x   vs tuned baseline: {det / tuned_rps:5.2f}x")
        print(f"list   vs naive baseline: {lst / naive_rps:5.2f}x   vs tuned baseline: {lst / tuned_rps:5.2f}x")
        print(f"target >= 1000 detail req/s: {'met' if det >= 1000 else 'NOT met'} ({det:.0f})")
        print()
        print("one client, sequential, median latency:")
        for name, port, make in (runs[0], runs[5], runs[6]):
            print(f"  {name:42} {sequential_latency(port, make, 200 if port != naive_port else 40):8.2f} ms")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
