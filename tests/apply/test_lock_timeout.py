"""`apply --lock-timeout`: waiting for another apply's lock, driven by the injected clock; then two real processes."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dtsflow.apply.lock import LOCK_RETRY_SECONDS, apply_lock
from dtsflow.clock import ManualClock
from dtsflow.errors import ConfigError
from tests.apply.conftest import Env, task
from tests.helpers import REPO


def _hold(path: Path) -> int:
    """Another holder of the lock (a second open file description: flock conflicts even within one process)."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, b"4242 buildhost\n")
    return fd


class ReleasingClock(ManualClock):
    """A manual clock whose `release_after`-th sleep lets the other holder go (the other apply finishing)."""

    def __init__(self, fd: int, release_after: int) -> None:
        super().__init__(start=0)
        self.fd, self.release_after, self.sleeps = fd, release_after, 0

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.sleeps += 1
        if self.sleeps == self.release_after:
            os.close(self.fd)


def test_without_a_lock_timeout_a_held_lock_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / ".dtsflow" / "apply.lock"
    held = _hold(path)
    try:
        clock = ManualClock(start=0)
        with pytest.raises(ConfigError, match="another dtsflow apply is running"), apply_lock(path, clock=clock):
            pass
        assert clock.monotonic() == 0
    finally:
        os.close(held)


def test_it_waits_says_once_who_holds_the_lock_and_gives_up_at_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / ".dtsflow" / "apply.lock"
    held = _hold(path)
    said: list[str] = []
    clock = ManualClock(start=0)
    try:
        with pytest.raises(ConfigError) as raised, apply_lock(path, timeout=300, clock=clock, on_wait=said.append):
            pass
    finally:
        os.close(held)
    assert said == [
        f"waiting up to 5m for the apply lock {path}, held by pid 4242 on buildhost (another dtsflow apply in "
        "this directory)"
    ]
    assert str(raised.value) == (
        f"another dtsflow apply still holds {path} (pid 4242 on buildhost) after --lock-timeout 5m; wait for it "
        "to finish"
    )
    assert clock.monotonic() == 300


def test_it_takes_the_lock_when_the_other_apply_releases_it(tmp_path: Path) -> None:
    path = tmp_path / ".dtsflow" / "apply.lock"
    clock = ReleasingClock(_hold(path), release_after=3)
    said: list[str] = []
    with apply_lock(path, timeout=300, clock=clock, on_wait=said.append):
        assert path.read_text().split()[0] == str(os.getpid())  # the holder's name, for the next one who waits
    assert len(said) == 1 and clock.monotonic() == 3 * LOCK_RETRY_SECONDS


def test_two_processes_the_second_apply_waits_for_the_first(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom dtsflow.apply.lock import apply_lock\n"
            "with apply_lock():\n    print('held', flush=True)\n    sys.stdin.readline()\n",
        ],
        cwd=env.cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waiting = env.popen_apply(manifest, "--auto-approve", "--lock-timeout", "2m")
        assert waiting.stderr is not None
        first = waiting.stderr.readline()  # blocks until the apply says it waits: no sleep, no guessed delay
        try:
            assert first.startswith("waiting up to 2m for the apply lock .dtsflow/apply.lock, held by pid "), first
            assert str(holder.pid) in first
            assert env.mutating() == 0
        finally:
            holder.communicate(input="\n", timeout=30)  # the first apply finishes: its lock is released
            out, err = waiting.communicate(timeout=60)
    assert holder.returncode == 0
    assert waiting.returncode == 0, out + err
    assert env.status("orders") == "ready"


def test_a_bad_lock_timeout_is_an_error_before_any_request(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    result = env.apply(manifest, "--auto-approve", "--lock-timeout", "soon")
    assert result.returncode == 1
    assert "--lock-timeout expects a duration such as 90s, 15m or 2h, got 'soon'" in result.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0
