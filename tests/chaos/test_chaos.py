"""Chaos: seeded runs of `dtsflow apply` under faults, each followed by a clean re-run that must converge.

Every run is drawn from its seed: one to three manifest tasks, each with a desired state (some already live in a
status that state is reachable from), one or two tasks outside the manifests (another team's tasks, sometimes an
unnamed `unConfig` leftover, an hour old, that is not ours), and a fault mix on the emulator: 5xx bursts (`fail_next` on one
operation), a 5xx rate, responses dropped after the call committed, clientToken de-duplication off, latency.
A real `dtsflow apply` process (forked from a warm server, see tests/forkcli.py) runs under those faults and, in
most runs, is SIGKILLed after a seeded number of mutating requests reached the emulator (with latency, the kill
lands while a request is in flight: committed on the service, never answered). Some runs are killed twice.
Then the faults are lifted and `dtsflow apply` runs once more. After it:
  * it exited 0, and every manifest task is in its desired state;
  * exactly one live task carries each manifest task's name (none for `absent`), and no unnamed task is left
    but the seeded leftovers that are not ours (our own interrupted creates were adopted) — except, with
    de-duplication off, the extra tasks a retried create made (the service answered none of them, so no
    journal can know their ids): they stay unnamed `unConfig`, untouched, and are counted;
  * every task outside the manifests kept its name, status, timeline and connections;
  * the canary password appears in no output of any run and in no file dtsflow wrote.

Quick mode (the default, CI): 200 runs in 2 shards of 5 concurrent lanes. Soak: `DTSFLOW_SOAK=1` runs 2,000 (`DTSFLOW_SOAK=N` runs N).
The counts (runs, faults injected, kills survived) are summed in the pytest summary ("chaos:" line).
"""

from __future__ import annotations

import os
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dtsflow.client.wire import config_body, managed_tags
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.manifest.model import TaskSpec
from tests.apply.conftest import CANARY, task
from tests.chaos.harness import SETTLED, ForkServer, identity, live_view, mutating, run_until

_soak = os.environ.get("DTSFLOW_SOAK", "")
RUNS = (2000 if _soak in ("1", "true", "yes") else int(_soak)) if _soak else 200
SHARDS = 2
LANES = 5  # concurrent lanes per shard, each with its own emulator (one fork server for all)
SEED_BASE = 7_000_021
TIME_SCALE = 0.01  # a precheck takes 30 ms, a pause or shutdown 20 ms
DESIRED = ("running", "running", "paused", "prechecked", "ready", "absent")  # shutdown: only of a task that exists
# Live statuses a manifest task may already have, and the desired states reachable from each without a replace.
EXISTING = {
    "ready": ("running", "paused", "prechecked", "shutdown", "absent"),
    "checkPass": ("running", "paused", "prechecked", "shutdown", "absent"),
    "running": ("running", "paused", "shutdown", "absent"),
    "stopped": ("running", "paused", "shutdown", "absent"),
}
FOREIGN_STATUSES = ("running", "stopped", "checkPass", "ready", "checkFailed", "finished")
BURST_OPS = ("create", "config", "precheck", "start", "pause", "shutdown", "delete", "list")
DROP_OPS = ("create", "config", "precheck", "start", "pause", "shutdown", "delete")


def _spec(body: dict[str, Any]) -> TaskSpec:
    return TaskSpec.model_validate({**body, "src": {**body["src"], "password": None}}, strict=False)


def _faults(rng: random.Random, seed: int) -> dict[str, Any]:
    faults: dict[str, Any] = {"seed": seed, "latency_ms": rng.choice((0, 0, 2, 5)), "dedupe_tokens": rng.random() < 0.6}
    if rng.random() < 0.5:
        faults["fail_next"] = {rng.choice(BURST_OPS): rng.randint(1, 3)}
    if rng.random() < 0.25:
        faults["error_rate"] = {"*": 0.05}
    if rng.random() < 0.4:
        faults["drop_response"] = {rng.choice(DROP_OPS): {"probability": 0.5}}
    return faults


class Counts:
    def __init__(self) -> None:
        self.runs = 0
        self.applies = 0
        self.faults = 0
        self.kills = 0
        self.not_killed = 0  # the run ended before its kill point
        self.duplicates = 0  # unnamed tasks made by a create retried with de-duplication off


def one_run(seed: int, emu: RunningEmulator, server: ForkServer, work: Path, counts: Counts) -> None:
    rng = random.Random(seed)
    emu.engine.store.reset()
    emu.set_faults(None)
    emu.reset_stats()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    # Tasks outside the manifests: another team's, and sometimes an unnamed leftover that is not ours.
    foreign: list[dict[str, Any]] = []
    for j in range(rng.randint(1, 2)):
        other = _spec(task(f"other-{j}"))
        foreign.append({**config_body(other), "status": rng.choice(FOREIGN_STATUSES)})
    if rng.random() < 0.3:  # an hour old: a younger identical one could be our own lost create (docs/apply.md)
        created = datetime.fromtimestamp(time.time() - 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        foreign.append({"taskName": "", "status": "unConfig", "createTime": created})
    foreign_ids = emu.seed(foreign)

    # The manifest, and the tasks of it that already exist.
    tasks, desired = [], {}
    existing: list[dict[str, Any]] = []
    for j in range(rng.randint(1, 3)):
        name = f"c{j}"
        live_status = rng.choice(tuple(EXISTING)) if rng.random() < 0.3 else None
        state = rng.choice(EXISTING[live_status] if live_status else DESIRED)
        body = task(name, state)
        tasks.append(body)
        desired[name] = state
        if live_status:
            existing.append(
                {**config_body(_spec(body)), "standard": "large", "status": live_status, "tags": managed_tags()}
            )
    emu.seed(existing)
    (work / "tasks.yaml").write_text(yaml.safe_dump({"version": 1, "tasks": tasks}, sort_keys=False))
    before = {t["dtsId"]: identity(t) for t in live_view(emu) if t["dtsId"] in foreign_ids}

    env = {
        "HOME": str(work),
        "NO_COLOR": "1",
        "BCE_ACCESS_KEY_ID": emu.access_key,
        "BCE_SECRET_ACCESS_KEY": emu.secret_key,
        "DB_PASS": CANARY,
        "DTSFLOW_POLL_FLOOR": "0.01",
        "DTSFLOW_POLL_CAP": "0.05",
    }
    # --force: a shutdown of a running task is a cutover, refused while the replication delay is above its gate;
    # the emulator's delay after a fast full load is seed-dependent, and the guard has its own tests (test_cutover).
    argv = ["apply", "tasks.yaml", "--auto-approve", "--force", "--endpoint", emu.url]
    outputs: list[Path] = []

    # Faulted runs: one, sometimes two, most of them killed at a seeded number of mutating requests.
    faults = _faults(rng, seed)
    emu.set_faults(faults)
    for attempt in range(2 if rng.random() < 0.2 else 1):
        out = work.parent / f"{work.name}-out-{attempt}"
        outputs.append(out)
        kill_at = rng.randint(1, 3 * len(tasks)) if rng.random() < 0.8 else None
        base = mutating(emu)
        pid = server.start(argv, work, env, out)
        code, killed = run_until(
            server, pid, lambda k=kill_at, b=base: k is not None and mutating(emu) - b >= k, deadline_s=60
        )
        counts.applies += 1
        assert "Traceback" not in out.read_text(errors="replace"), out.read_text()  # an error escaped the command
        if killed:
            counts.kills += 1
        elif kill_at is not None:
            counts.not_killed += 1
    counts.faults += sum(int(v) for v in emu.stats.get("faults", {}).values())

    # The clean re-run must converge.
    emu.set_faults(None)
    final = work.parent / f"{work.name}-out-final"
    outputs.append(final)
    pid = server.start(argv, work, env, final)
    code, _ = run_until(server, pid, lambda: False, deadline_s=60)
    counts.applies += 1
    report = final.read_text()
    assert code == 0, f"seed {seed}: the re-run exited {code}:\n{report}"

    live = live_view(emu)
    named: dict[str, list[dict[str, Any]]] = {}
    for t in live:
        named.setdefault(str(t.get("taskName") or ""), []).append(t)
    for name, state in desired.items():
        mine = named.get(name, [])
        if state == "absent":
            assert mine == [], f"seed {seed}: {name} should be absent: {[t['status'] for t in mine]}"
            continue
        assert len(mine) == 1, f"seed {seed}: {len(mine)} live tasks named {name}\n{report}"
        assert mine[0]["status"] == SETTLED[state], f"seed {seed}: {name} is {mine[0]['status']}, wants {state}"
    leftovers = {t["dtsId"] for t in named.get("", [])} - set(foreign_ids)
    if faults["dedupe_tokens"]:
        assert not leftovers, f"seed {seed}: unnamed tasks left: {leftovers}\n{report}"
    else:  # a create retried after a lost answer makes a second task the journal cannot know: left, never touched
        assert all(t["status"] == "unConfig" for t in named.get("", [])), f"seed {seed}: {named['']}"
        counts.duplicates += len(leftovers)
    after = {t["dtsId"]: identity(t) for t in live if t["dtsId"] in foreign_ids}
    assert after == before, f"seed {seed}: a task outside the manifests changed"

    written = [p for p in (work / ".dtsflow").rglob("*") if p.is_file()] if (work / ".dtsflow").exists() else []
    for path in [*outputs, *written]:
        assert CANARY not in path.read_text(errors="replace"), f"seed {seed}: the canary is in {path.name}"
    counts.runs += 1


def _lane(seeds: list[int], work: Path) -> Counts:
    """Runs one after the other against one emulator, forked from the shared server."""
    counts = Counts()
    server = ForkServer()
    try:
        with start_in_thread(time_scale=TIME_SCALE) as emu:
            for seed in seeds:
                one_run(seed, emu, server, work / f"run-{seed}", counts)
                for stale in work.glob(f"run-{seed}*"):  # keep the temporary directory small in a soak
                    shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
    finally:
        server.close()
    return counts


@pytest.mark.parametrize("shard", range(SHARDS))
def test_chaos_runs_converge(shard: int, tmp_path: Path, record_property: Any) -> None:
    """One shard of the runs, in LANES concurrent lanes: most of a run is waiting for the emulator's timeline."""
    seeds = [SEED_BASE + i for i in range(shard, RUNS, SHARDS)]
    with ThreadPoolExecutor(LANES) as pool:
        lanes = [pool.submit(_lane, seeds[lane::LANES], tmp_path / f"lane-{lane}") for lane in range(LANES)]
        results = [lane.result() for lane in lanes]
    total = Counts()
    for counts in results:
        for key, value in vars(counts).items():
            setattr(total, key, getattr(total, key) + value)
    record_property("chaos", vars(total))
    assert total.runs == len(seeds)
    assert total.kills > 0
