"""What the chaos suite drives: a fork server for killable `dtsflow` processes, and the emulator's view of a run."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtsflow.emulator import RunningEmulator
from tests.helpers import REPO

MUTATING = ("create", "config", "precheck", "skipPrecheck", "start", "pause", "shutdown", "delete", "rename", "resize")
# Desired state -> the status the emulator shows once it is reached (absent: no live task at all).
SETTLED = {
    "ready": "ready",
    "prechecked": "checkPass",
    "running": "running",
    "paused": "stopped",
    "shutdown": "finished",
}


class ForkServer:
    """`tests/chaos/forkserver.py` as a subprocess: `start` forks one `dtsflow` run, `wait` reaps it."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
        env["PYTHONPATH"] = str(REPO)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("forkserver.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        self._buffer = b""
        assert self.readline(timeout=60) == "ready"

    def readline(self, timeout: float) -> str | None:
        """The next line from the server, or None if none came within `timeout` seconds."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError("the fork server ended")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def start(self, argv: list[str], cwd: Path, env: dict[str, str], out: Path) -> int:
        assert self.proc.stdin is not None
        request = {"argv": argv, "cwd": str(cwd), "env": env, "out": str(out)}
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        line = self.readline(timeout=30)
        assert line is not None and line.startswith("pid "), line
        return int(line.split()[1])

    def poll_exit(self, timeout: float) -> int | None:
        """The exit code of the running child (negative: killed by that signal), or None if still running."""
        line = self.readline(timeout)
        if line is None:
            return None
        assert line.startswith("exit "), line
        return int(line.split()[2])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()  # no ResourceWarning (the suite turns warnings into errors)


def mutating(emu: RunningEmulator) -> int:
    requests = emu.stats.get("requests", {})
    return sum(int(requests.get(op, 0)) for op in MUTATING)


def run_until(server: ForkServer, pid: int, fire: Callable[[], bool], deadline_s: float) -> tuple[int, bool]:
    """Wait for the child `pid`; SIGKILL it as soon as `fire()` says so. (exit code, killed by us?)"""
    began = time.monotonic()
    while time.monotonic() - began < deadline_s:
        code = server.poll_exit(0.005)
        if code is not None:
            return code, False
        if fire():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:  # it ended (and was reaped) between the last look and the kill
                pass
            code = server.poll_exit(30)
            assert code is not None, "a killed child did not end"
            return code, code == -9
    os.kill(pid, 9)
    code = server.poll_exit(30)
    raise AssertionError(f"run did not end within {deadline_s} s (exit {code})")


def live_view(emu: RunningEmulator) -> list[dict[str, Any]]:
    """Every task the emulator holds (released ones are gone from it)."""
    return [t for t in emu.engine.dump() if t.get("status") != "deleted"]


def identity(task: dict[str, Any]) -> tuple[Any, ...]:
    """What a task outside the manifests must keep: its name, status, timeline and connections."""
    internal = task.get("_internal", {})
    return (
        task.get("taskName"),
        task.get("status"),
        json.dumps(internal.get("_timeline"), sort_keys=True),
        json.dumps(task.get("srcConnection"), sort_keys=True),
        json.dumps(task.get("dstConnection"), sort_keys=True),
    )
