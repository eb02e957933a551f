"""Run every benchmark of this directory with modest sizes, one after the other, and summarise them.

    PYTHONPATH=. /work/venv/bin/python benchmarks/run_all.py [--full] [--only NAME ...]

Each benchmark runs as its own process (`python benchmarks/bench_<name>.py ...`) and measures its own baseline in
the same run; its whole output is shown as it comes. At the end, one table: each benchmark's headline figure, its
ratio against that baseline, its wall time, the machine's 1-minute load average before and after it, and the CPU
that *other* processes used meanwhile (all CPU time of `/proc/stat` minus this run's own and its benchmark's), in
CPUs: the load average also counts the benchmark itself, the other-CPU figure does not. Other work above about half
a CPU on this 2-CPU machine makes the times noisy: run again, or compare the ratios only.
`--full` uses each benchmark's own defaults (the sizes of the issues) instead of the modest ones below.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOISY_CPUS = 0.5  # other processes' average CPU use above which a benchmark's times are called noisy


@dataclass(frozen=True)
class Bench:
    name: str
    modest: tuple[str, ...]  # arguments for a quick run; `--full` drops them
    headline: str  # regex: the figure worth a glance (group 1)
    ratio: str  # regex: the ratio against the in-run baseline (group 1), with what it compares
    ratio_label: str


BENCHES = (
    Bench(
        "startup",
        ("--runs", "7", "--tasks", "1000"),
        r"dtsflow --help\s+([\d.]+ ms)",
        r"dtsflow --help.*?ratio ([\d.]+x)",
        "--help vs python -c pass",
    ),
    Bench(
        "emulator",
        ("--clients", "50", "--seconds", "1", "--tasks", "200"),
        r"emulator detail \(GET /v1/task/\{id\}\)\s+(\d+)",
        r"detail vs naive baseline:\s+([\d.]+x)",
        "detail req/s vs naive stdlib server",
    ),
    Bench(
        "client",
        ("--requests", "300", "--threads", "8"),
        r"pooled client: (p50 [\d.]+ ms)",
        r"pooled is ([\d.]+x) faster",
        "pooled vs new client per request",
    ),
    Bench(
        "plan",
        ("--tasks", "500", "--runs", "2"),
        r"dtsflow plan \(whole command, subprocess\): (median [\d.]+ s)",
        r"ratio baseline / plan: ([\d.]+x)",
        "one detail call per task vs plan",
    ),
    Bench(
        "scale",
        ("--sizes", "100", "1000", "10000", "--runs", "1"),
        r"plan CPU: time per added task (.*?) \(flat",
        r"= ([\d.]+ x) the",
        "plan of the largest size vs the 3 s target (headline: the CPU curve)",
    ),
    Bench(
        "apply",
        (),  # three scales of precheck (0.3 s, 3 s, 30 s): about 50 s whatever the size
        r"ratios by precheck: (.*)",
        r"worst ratio ([\d.]+ x) path",
        "wall vs the service-side critical path (lower is better)",
    ),
)


@dataclass
class Outcome:
    bench: Bench
    returncode: int
    seconds: float
    load_before: float
    load_after: float
    others_cpus: float | None  # CPUs used by other processes during the run, on average
    headline: str
    ratio: str


def load_average() -> float:
    return os.getloadavg()[0]


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine spent busy since boot (Linux `/proc/stat`), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the benchmark, once waited for)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else "?"


def run(bench: Bench, *, full: bool, timeout: float) -> Outcome:
    argv = [sys.executable, str(HERE / f"bench_{bench.name}.py"), *(() if full else bench.modest)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    print(f"\n=== {bench.name}: {' '.join(Path(a).name if a.endswith('.py') else a for a in argv[1:])}", flush=True)
    before, started = load_average(), time.perf_counter()
    busy_before, own_before = busy_cpu_seconds(), own_cpu_seconds()
    lines: list[str] = []
    with subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in proc.stdout:  # shown as it comes: some benchmarks take a while
            print(line, end="", flush=True)
            lines.append(line)
            if time.monotonic() > deadline:
                proc.kill()
                print(f"(killed after {timeout:.0f} s)")
                break
        returncode = proc.wait()
    seconds = time.perf_counter() - started
    busy_after, own_after = busy_cpu_seconds(), own_cpu_seconds()
    others = None
    if busy_before is not None and busy_after is not None:
        others = max(0.0, (busy_after - busy_before) - (own_after - own_before)) / seconds
    output = "".join(lines)
    return Outcome(
        bench,
        returncode,
        seconds,
        before,
        load_average(),
        others,
        find(bench.headline, output),
        find(bench.ratio, output),
    )


def summary(outcomes: list[Outcome], cpus: int) -> str:
    rows = [
        (
            "benchmark",
            "headline",
            "ratio",
            "against its baseline",
            "wall",
            "load before -> after",
            "others' CPU",
            "exit",
        )
    ]
    for o in outcomes:
        rows.append(
            (
                o.bench.name,
                o.headline,
                o.ratio,
                o.bench.ratio_label,
                f"{o.seconds:.1f}s",
                f"{o.load_before:.2f} -> {o.load_after:.2f}",
                "?" if o.others_cpus is None else f"{o.others_cpus:.2f}",
                str(o.returncode),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    noisy = [o.bench.name for o in outcomes if o.others_cpus is not None and o.others_cpus > NOISY_CPUS]
    note = (
        f"other processes used more than {NOISY_CPUS} CPU during: {', '.join(noisy)}; "
        "their times are noisy (trust the ratios, or run again)"
        if noisy
        else f"other processes used at most {NOISY_CPUS} CPU during every benchmark (of {cpus})"
    )
    return "\n".join([*lines, note])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="each benchmark's own (issue-sized) defaults")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run only these")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per benchmark before it is killed")
    args = parser.parse_args(argv)
    cpus = os.cpu_count() or 1
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    first = load_average()
    print(f"python {sys.version.split()[0]}; {cpus} CPUs; load average {first:.2f} before the first benchmark")
    outcomes = [run(bench, full=args.full, timeout=args.timeout) for bench in chosen]
    print("\n=== summary")
    print(summary(outcomes, cpus))
    failed = [o.bench.name for o in outcomes if o.returncode != 0]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
