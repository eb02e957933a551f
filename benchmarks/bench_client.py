"""Client overheads against the embedded emulator on loopback, with baselines measured in the same run.

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_client.py [--requests 600] [--threads 16]

Reports:
1. signing: `BceAuth.sign` per request (microseconds);
2. sequential detail calls: one pooled `HttpDtsClient` vs. a new `httpx.Client` per request (the anti-pattern;
   the baseline), median and p95 latency and the ratio;
3. concurrent detail calls: requests per second with N threads sharing one client;
4. retry overhead under 30% injected 503s: requests and retries per successful call (counted, not timed).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from dtsflow.client.auth import BceAuth  # noqa: E402
from dtsflow.client.credentials import Credentials  # noqa: E402
from dtsflow.client.http import HttpDtsClient  # noqa: E402
from dtsflow.emulator import start_in_thread  # noqa: E402
from tests.rawapi import create_body  # noqa: E402

CREATE = create_body()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=16)
    opts = parser.parse_args()

    creds = Credentials("bench-ak", "bench-sk")
    auth = BceAuth(creds)
    n_sign = 5000
    started = time.perf_counter()
    for i in range(n_sign):
        auth.sign(httpx.Request("POST", f"http://127.0.0.1:1/v1/task/dtsm{i}/config", content=b'{"taskName":"x"}'))
    sign_us = (time.perf_counter() - started) / n_sign * 1e6
    print(f"signing: {sign_us:.1f} us per request ({n_sign} requests)")

    with start_in_thread(time_scale=0.01) as emu:
        creds = Credentials(emu.access_key, emu.secret_key)
        with HttpDtsClient(emu.url, creds, trust_env=False) as client:
            dts_id = client.create_task(CREATE, client_token="bench")
            for _ in range(20):  # warm up the connection and the server
                client.get_task(dts_id)
            pooled: list[float] = []
            for _ in range(opts.requests):
                t = time.perf_counter()
                client.get_task(dts_id)
                pooled.append(time.perf_counter() - t)

            fresh: list[float] = []
            for _ in range(max(50, opts.requests // 4)):
                t = time.perf_counter()
                with HttpDtsClient(emu.url, creds, trust_env=False) as one_off:
                    one_off.get_task(dts_id)
                fresh.append(time.perf_counter() - t)
            p50, f50 = statistics.median(pooled), statistics.median(fresh)
            print(
                f"sequential detail, pooled client: p50 {p50 * 1e3:.2f} ms, p95 {pct(pooled, 0.95) * 1e3:.2f} ms "
                f"({len(pooled)} requests)"
            )
            print(
                f"sequential detail, new client per request (baseline): p50 {f50 * 1e3:.2f} ms, "
                f"p95 {pct(fresh, 0.95) * 1e3:.2f} ms ({len(fresh)} requests); pooled is {f50 / p50:.1f}x faster"
            )

            total = opts.requests * 2
            started = time.perf_counter()
            with ThreadPoolExecutor(opts.threads) as pool:
                list(pool.map(lambda _: client.get_task(dts_id), range(total)))
            wall = time.perf_counter() - started
            print(
                f"concurrent detail, {opts.threads} threads, one client: {total / wall:.0f} requests/s ({total} requests)"
            )

        with HttpDtsClient(
            emu.url, creds, trust_env=False, sleep=lambda s: None, rng=random.Random(1), max_attempts=8
        ) as client:
            emu.set_faults({"error_rate": {"*": 0.3}, "seed": 3})
            calls = 300
            for _ in range(calls):
                client.get_task(dts_id)
            emu.set_faults({})
            s = client.stats
            print(
                f"30% injected 503s: {s.total_requests / calls:.2f} requests and {s.total_retries / calls:.2f} retries "
                f"per successful call ({calls} calls; ideal 1/(1-0.3) = {1 / 0.7:.2f}); budget left {client.budget.level}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
