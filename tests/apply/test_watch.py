"""`apply --watch INTERVAL`: a real `dtsflow` process re-plans and re-applies on a timer against the emulator,
reports each drift it corrects (a task paused in the console is resumed) as JSON events and text, survives a bad
cycle, and stops cleanly on SIGTERM — between cycles (exit 0) and in the middle of an apply (report, exit 143)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import start_in_thread
from tests.apply.conftest import CANARY, Env, task

WAIT = 60.0  # seconds a test waits for a line before failing (generous: the machine may be loaded)


class Lines:
    """The lines of a process's stdout, read by a thread, taken one by one with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout

        def pump() -> None:
            for line in stdout:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()

    def until(self, wanted: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"no line with {what}; saw:\n" + "\n".join(self.seen[-40:]))

    def event(self, name: str, **fields: Any) -> dict[str, Any]:
        def matches(line: str) -> bool:
            if not line.startswith("{"):
                return False
            body = json.loads(line)
            return bool(body.get("event") == name and all(body.get(k) == v for k, v in fields.items()))

        return dict(json.loads(self.until(matches, f"event {name} {fields}")))

    def rest(self) -> list[str]:
        tail = []
        while (line := self._queue.get(timeout=WAIT)) is not None:
            tail.append(line)
        self.seen += tail
        return tail


@contextmanager
def watching(env: Env, *args: str) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    process = env.popen_apply("tasks.yaml", "--auto-approve", *args)
    lines = Lines(process)
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        lines.thread.join(10)  # it reads to the end of stdout, which the process's exit closed
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()  # no ResourceWarning (the suite turns warnings into errors)


def pause_in_console(emu_url: str, access_key: str, secret_key: str, name: str) -> None:
    with HttpDtsClient(emu_url, Credentials(access_key, secret_key), trust_env=False) as client:
        (live,) = [t for t in client.list_tasks() if t.task_name == name and t.status != "deleted"]
        client.pause(live.dts_id)


def test_watch_resumes_a_task_paused_in_the_console_and_stops_on_sigterm(env: Env) -> None:
    env.write([task("watch-orders"), task("watch-users")])
    with watching(env, "--watch", "300ms", "--format", "json") as (process, lines):
        first = lines.event("watch_cycle", cycle=1)
        assert first["drifts"] == 2 and first["corrected"] == 2 and first["format_version"] == "1"
        assert env.by_name()["watch-orders"]["status"] == "running"
        lines.event("watch_cycle", drifts=0)  # a quiet cycle: nothing to do, nothing done

        pause_in_console(env.url, env.access_key, env.secret_key, "watch-orders")
        drift = lines.event("drift_detected", task="watch-orders")
        assert drift["live_status"] in ("stopped", "pausing") and drift["desired"] == "running"
        assert drift["action"] == "transition" and drift["steps"][-1] == "start"
        fixed = lines.event("drift_corrected", task="watch-orders")
        assert fixed["outcome"] == "applied" and fixed["cycle"] == drift["cycle"]
        assert env.by_name()["watch-orders"]["status"] == "running"

        # a cycle that cannot plan is reported, and the watch goes on
        good = (env.cwd / "tasks.yaml").read_text()
        (env.cwd / "tasks.yaml").write_text(good.replace("state: running", "state: sideways", 1))
        error = lines.event("watch_error")
        assert "tasks.yaml" in error["message"] and "state" in error["message"]
        (env.cwd / "tasks.yaml").write_text(good)
        lines.event("watch_cycle", drifts=0)

        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
        tail = lines.rest()
        stopped = json.loads(tail[-1]) if tail else json.loads(lines.seen[-1])
        assert stopped["event"] == "watch_stopped" and stopped["signal"] == "SIGTERM"
        assert stopped["interrupted_apply"] is False
        assert process.stderr is not None
        err = process.stderr.read()
        assert "Traceback" not in err and CANARY not in err + "\n".join(lines.seen)


@pytest.fixture
def slow_env(tmp_path: Path) -> Iterator[Env]:
    """A precheck that takes a minute: a SIGTERM sent once it started surely lands while it waits."""
    with start_in_thread(time_scale=1.0, durations={"precheck": 60}) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path)


def test_sigterm_during_an_apply_finishes_the_calls_prints_the_report_and_exits_143(slow_env: Env) -> None:
    slow_env.write([task("watch-slow")])
    with watching(slow_env, "--watch", "1h") as (process, lines):
        lines.until(lambda line: "drift: watch-slow is absent, wants running: create" in line, "the drift line")
        lines.until(lambda line: "watch-slow: precheck (3/4)" in line, "the precheck step")
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 143
        text = "\n".join(lines.seen + lines.rest())
    assert "Apply interrupted" in text and "not done: precheck, start" in text
    assert "[watch] stopped by SIGTERM after 1 cycle(s), an apply in progress was interrupted" in text
    assert slow_env.by_name()["watch-slow"]["status"] == "checking"  # left where it was


def test_watch_refuses_what_it_cannot_do_before_any_request(env: Env) -> None:
    env.write([task("watch-refused")])
    env.reset_stats()
    cases = [
        (("--watch", "15m"), "--watch needs --auto-approve"),
        (("--auto-approve", "--watch", "soon"), "--watch expects an interval such as 30s, 15m or 1h"),
        (("--auto-approve", "--watch", "0s"), "--watch interval must be longer than zero"),
    ]
    for flags, message in cases:
        result = env.apply("tasks.yaml", *flags)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    plan = env.cli("plan", "tasks.yaml", "-o", "plan.json")
    assert plan.returncode == 0, plan.stderr
    env.reset_stats()
    saved = env.apply("plan.json", "--auto-approve", "--watch", "15m")
    assert saved.returncode == 1 and "give manifests, not a saved plan" in saved.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0
