"""Crash safety: `apply` of 20 tasks killed with SIGKILL at 10 points, each followed by a re-run.

The kills are chained: the re-run after a kill is the next run to be killed, and a last re-run finishes.
Half of the kill points are "after k mutating requests reached the emulator" (the emulator counts a
request when it arrives and then waits `latency_ms`, so the kill lands while the request is in flight —
committed on the server, never answered to us); the other half are "right after the journal recorded a
create intent" (the window where only the journal knows a create may have happened). Run with the
emulator's clientToken de-duplication on and off: with it off, only the journal and orphan adoption
prevent duplicates.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.apply.conftest import Env, task

TASKS = 20
# (trigger, k): "mutating" = k mutating requests since the run began; "intent" = the k-th intent line.
KILL_POINTS = [
    ("mutating", 1),
    ("intent", 2),
    ("mutating", 4),
    ("intent", 5),
    ("mutating", 9),
    ("intent", 3),
    ("mutating", 15),
    ("intent", 6),
    ("mutating", 25),
    ("mutating", 6),
]
DEADLINE = 15.0  # per killed run: the trigger must fire long before


def _journal_intents(path: Path, start_line: int) -> tuple[int, str | None]:
    """Intent lines after `start_line`, and the op of the last complete line."""
    if not path.exists():
        return 0, None
    lines = path.read_text().splitlines()
    ops = []
    for line in lines[start_line:]:
        try:
            ops.append(json.loads(line).get("op"))
        except ValueError:
            continue
    return ops.count("intent"), (ops[-1] if ops else None)


def _run_and_kill(env: Env, manifest: str, trigger: str, k: int) -> bool:
    """Start apply, SIGKILL it when the trigger fires; False if the run ended on its own first."""
    journal = env.cwd / ".dtsflow" / "journal"
    journal_start = len(journal.read_text().splitlines()) if journal.exists() else 0
    base = env.mutating()
    proc = env.popen_apply(manifest, "--auto-approve")
    began = time.monotonic()
    try:
        while time.monotonic() - began < DEADLINE:
            if proc.poll() is not None:
                return False
            if trigger == "mutating":
                fired = env.mutating() - base >= k
            else:
                intents, last = _journal_intents(journal, journal_start)
                fired = intents >= k and last == "intent"
            if fired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                return True
            time.sleep(0.002)
        raise AssertionError(f"trigger {trigger} {k} never fired")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _named(env: Env) -> dict[str, dict[str, object]]:
    named: dict[str, dict[str, object]] = {}
    for t in env.tasks():
        name = str(t.get("taskName", ""))
        if name:
            assert name not in named, f"two live tasks named {name}"
            named[name] = t
    return named


@pytest.mark.parametrize("dedupe", [True, False], ids=["token-dedup-on", "token-dedup-off"])
def test_sigkill_at_ten_points_then_rerun_converges(env: Env, dedupe: bool) -> None:
    env.faults(dedupe_tokens=dedupe, latency_ms=15)
    manifest = env.write([task(f"t{i:02d}") for i in range(TASKS)])
    killed = 0
    for trigger, k in KILL_POINTS:
        if _run_and_kill(env, manifest, trigger, k):
            killed += 1
        # Never more than one task per name, and never more tasks than names plus the creates in flight.
        assert len(env.tasks()) <= TASKS + 10
        _named(env)
    assert killed >= 8, "most kill points must interrupt a run that still had work to do"
    final = env.apply(manifest, "--auto-approve")
    assert final.returncode == 0, final.stdout + final.stderr
    live = env.tasks()
    assert len(live) == TASKS, [(t.get("dtsId"), t.get("taskName"), t.get("status")) for t in live]
    named = _named(env)
    assert sorted(named) == [f"t{i:02d}" for i in range(TASKS)]
    assert all(t["status"] == "running" for t in named.values())
    again = env.apply(manifest, "--auto-approve")
    assert "No changes." in again.stdout


def test_ctrl_c_finishes_calls_in_flight_reports_and_exits_130(env: Env) -> None:
    env.faults(latency_ms=30)
    manifest = env.write([task(f"c{i}") for i in range(6)])
    proc = env.popen_apply(manifest, "--auto-approve", "--parallelism", "2")
    began = time.monotonic()
    while env.mutating() < 3 and time.monotonic() - began < DEADLINE:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Apply interrupted" in out
    assert "not attempted" in out
    rerun = env.apply(manifest, "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(env.tasks()) == 6

