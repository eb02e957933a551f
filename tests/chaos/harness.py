"""What the chaos suite drives: killable `dtsflow` processes forked from a warm server, and the emulator's view of a
run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtsflow.emulator import RunningEmulator
from tests import forkcli
from tests.helpers import REPO

RETRY_BASE_S = 0.02
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
    """A lane's handle on this test process's fork server (tests/forkcli.py): `start` forks one `dtsflow` run with
    stdout and stderr in one file, `poll_exit` waits for it. Lanes share the server (it waits on each child)."""

    def __init__(self) -> None:
        self._server = forkcli.server_for({"PYTHONPATH": str(REPO)})
        self._child: forkcli.Child | None = None

    def start(self, argv: list[str], cwd: Path, env: dict[str, str], out: Path) -> int:
        """Fork `dtsflow ARGV` in `cwd` with exactly `env`. The client's retry pause starts at 20 ms rather than
        300 ms: how many retries happen, and what they do, is unchanged."""
        self._child = self._server.start(
            argv, cwd=str(cwd), env=env, stdin=None, stdout=str(out), stderr=str(out), retry_base_s=RETRY_BASE_S
        )
        return self._child.pid

    def poll_exit(self, timeout: float) -> int | None:
        """The exit code of the running child (negative: killed by that signal), or None if still running."""
        assert self._child is not None
        return self._child.wait(timeout)

    def close(self) -> None:
        """Nothing to end: the server belongs to the test process (tests/conftest.py ends it)."""


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
