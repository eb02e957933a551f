"""Crash safety of the cutover steps: `apply` killed with SIGKILL in the middle of a lag-gate wait, of a pair's
creation (create, newRollback/config, precheck, start each in flight) and of a switch; a re-run converges with
one task and nothing done twice (see test_crash.py for the general kill points)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dtsflow.emulator import start_in_thread
from tests.apply.conftest import REALISM_MODES, TIME_SCALE, Env, task

DEADLINE = 30.0


@pytest.fixture
def cut(tmp_path: Path, realism: str) -> Iterator[Env]:
    """`realism` is `plain` unless a test runs in both modes."""
    with start_in_thread(time_scale=TIME_SCALE, durations={"catch_up": 100.0}, realism=realism) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path, realism)


def _kill_when(proc: subprocess.Popen[str], fired: Callable[[], bool]) -> None:
    began = time.monotonic()
    try:
        while time.monotonic() - began < DEADLINE:
            assert proc.poll() is None, "the run ended before the kill point"
            if fired():
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                return
            time.sleep(0.005)
        raise AssertionError("the kill point never came")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _requests(env: Env, op: str) -> int:
    return int(env.stats()["requests"].get(op, 0))


def _let_it_land(env: Env, op: str) -> None:
    """The killed run's `op` call was in flight: let it land (the emulator counts its outcome once committed) before
    the re-run, which would otherwise race it (a precheck landing after the re-run's start, say) however soon
    after the kill it begins."""
    began = time.monotonic()
    while op not in env.stats()["outcomes"] and time.monotonic() - began < DEADLINE:
        time.sleep(0.01)


def _converged(env: Env, manifest: str) -> dict[str, Any]:
    rerun = env.apply(manifest, "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    live = env.tasks()
    assert [t.get("taskName") for t in live] == ["orders"], [(t["dtsId"], t.get("taskName")) for t in live]
    assert env.cli("plan", manifest, "--detailed-exitcode").returncode == 0
    return live[0]


def _pair_task(direction: str = "forward") -> dict[str, Any]:
    return task("orders", until={"lag": "5s"}, reverse={"direction": direction})


def test_killed_while_waiting_for_the_gate(cut: Env) -> None:
    cut.faults(lag_s={"orders": 300})  # the gate cannot be reached while this holds
    manifest = cut.write([task("orders", until={"lag": "5s"})])
    proc = cut.popen_apply(manifest, "--auto-approve")

    def waiting() -> bool:
        live = cut.by_name().get("orders", {})
        base = (live.get("dynamicInfo") or {}).get("base") or [{}]
        return live.get("status") == "running" and base[0].get("current") == base[0].get("count")

    _kill_when(proc, waiting)
    cut.faults()
    live = _converged(cut, manifest)
    assert live["status"] == "running" and live["dynamicInfo"]["increment"]["delay"] <= 5


@pytest.mark.parametrize("op", ["create", "rollbackConfig", "precheck", "start"])
def test_killed_while_a_pair_is_made(cut: Env, op: str) -> None:
    cut.faults(latency_ms=150)  # the kill lands while the call is in flight: it is committed, never answered
    manifest = cut.write([_pair_task()])
    proc = cut.popen_apply(manifest, "--auto-approve")
    _kill_when(proc, lambda: _requests(cut, op) >= 1)
    _let_it_land(cut, op)
    cut.faults()
    live = _converged(cut, manifest)
    assert live["dtsId"].startswith("dtsr") and live["status"] == "running"
    assert (live["dtsTaskPos"]["status"], live["dtsTaskNeg"]["status"]) == ("running", "stopped")
    assert _requests(cut, "create") <= 2  # the re-run's create (if any) answered the same task: no orphan left


@pytest.mark.parametrize("realism", REALISM_MODES)
def test_killed_while_switching(cut: Env) -> None:
    forward = cut.write([_pair_task()])
    assert cut.apply(forward, "--auto-approve").returncode == 0
    cut.faults(latency_ms=150)
    reversed_ = cut.write([_pair_task("reversed")])
    proc = cut.popen_apply(reversed_, "--auto-approve")
    _kill_when(proc, lambda: _requests(cut, "rollback") >= 1)
    _let_it_land(cut, "rollback")
    cut.faults()
    live = _converged(cut, reversed_)
    assert (cut.fold(live["dtsTaskPos"]["status"]), cut.fold(live["dtsTaskNeg"]["status"])) == ("stopped", "running")
    assert _requests(cut, "rollback") == 1  # the re-run found it switched: no second switch (that would undo it)
