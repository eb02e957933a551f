"""SIGTERM is Ctrl-C, and a second signal leaves at once: the real CLI in a subprocess, real signals, against an
emulator at human speed (a precheck takes 3 s, so the signal arrives while tasks wait)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtsflow.emulator import start_in_thread
from tests.apply.conftest import CANARY, Env, task

DEADLINE = 30.0


@pytest.fixture
def human(tmp_path: Path) -> Iterator[Env]:
    with start_in_thread(time_scale=1.0) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path)


def _started(env: Env, proc: subprocess.Popen[str], op: str) -> None:
    began = time.monotonic()
    while env.stats()["requests"].get(op, 0) < 1:
        assert proc.poll() is None and time.monotonic() - began < DEADLINE, "the apply never got there"
        time.sleep(0.01)


def test_sigterm_finishes_the_calls_in_flight_prints_the_report_and_exits_143(human: Env) -> None:
    proc = human.popen_apply(human.write([task("orders"), task("users")]), "--auto-approve")
    _started(human, proc, "precheck")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 143, out + err
    assert "SIGTERM: finishing calls in flight" in err and "Traceback" not in err
    assert "Apply interrupted" in out and "not done:" in out  # the report says what is left
    assert CANARY not in out + err


def test_sigterm_while_planning_exits_143_without_a_traceback(human: Env) -> None:
    human.faults(latency_ms=20_000)  # the list call hangs
    proc = human.popen_apply(human.write([task("orders")]), "--auto-approve")
    _started(human, proc, "list")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 143, out + err
    assert "terminated" in err and "Traceback" not in err


def test_a_second_signal_leaves_at_once_even_with_calls_in_flight(human: Env) -> None:
    proc = human.popen_apply(human.write([task(f"t{i}") for i in range(4)]), "--auto-approve")
    _started(human, proc, "precheck")
    human.faults(latency_ms=20_000)  # from now on every call, the poller's list included, takes 20 s
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=DEADLINE)
    assert time.monotonic() - sent < 5, "the second Ctrl-C waited for the calls in flight"
    assert proc.returncode == 130, out + err
    assert "SIGINT again: exiting at once" in err and "Traceback" not in err


def test_teardown_goes_in_reverse_dependency_order_and_independent_ones_in_parallel(human: Env) -> None:
    from tests.apply.conftest import json_lines

    up = [task("base", state="ready"), task("left", state="ready", dependsOn=["base"])]
    up.append(task("right", state="ready", dependsOn=["base"]))
    assert human.apply(human.write(up), "--auto-approve").returncode == 0
    down = [{**t, "state": "absent"} for t in up]
    result = human.apply(human.write(down), "--auto-approve", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    events = json_lines(result.stdout)
    assert [c["task"] for c in events[0]["plan"]["changes"]] == ["left", "right", "base"]  # shown as it runs
    started = [e["task"] for e in events if e["event"] == "task_started"]
    finished = [e["task"] for e in events if e["event"] == "task_finished"]
    position = {(e["event"], e.get("task")): i for i, e in enumerate(events)}
    # base (the dependency) only after both dependents are gone; left and right at the same time.
    assert started[-1] == "base" and finished[-1] == "base"
    assert position[("task_started", "right")] < position[("task_finished", "left")]
    assert position[("task_started", "left")] < position[("task_finished", "right")]
    assert human.by_name() == {}


def test_handlers_installed_before_a_failure_to_install_the_next_are_restored(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Installing a handler can fail (signal.signal raises outside the main thread or for a signal the platform
    # refuses); the one installed before it must not outlive the apply. The CLI installs its SIGTERM handler
    # (call 1), apply its SIGINT (2) and SIGTERM (3) handlers: the third call fails.
    from tests.apply.conftest import apply_in_process

    real = signal.signal
    calls = 0

    def failing_third(sig: int, handler: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ValueError("cannot install this handler here")
        return real(sig, handler)  # type: ignore[arg-type]

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    manifest = env.write([task("orders", state="ready")])
    with monkeypatch.context() as m:
        m.setattr(signal, "signal", failing_third)
        code, output = apply_in_process(env, monkeypatch, capsys, manifest, "--auto-approve")
    assert code == 1 and "cannot install this handler here" in output
    assert {sig: signal.getsignal(sig) for sig in before} == before
