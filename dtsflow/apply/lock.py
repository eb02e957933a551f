"""One apply at a time per working directory: an advisory lock on `.dtsflow/apply.lock`.

Two applies sharing a journal would race each other's creates and steps. The lock is `flock(2)`: the kernel
drops it when the process ends, however it ends (SIGKILL included), so there is never a stale lock to
force-unlock. Applies from other directories or machines are not covered; for those, the create tokens
and the level-triggered steps still prevent a duplicate task.

By default a held lock is an error at once; `apply --lock-timeout 5m` waits for it instead (as Terraform's
`-lock-timeout`), trying again every `LOCK_RETRY_SECONDS` through the injected clock, and says once who holds it.
The holder writes its pid and host into the file, for that message.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dtsflow.apply.statedir import ensure_state_dir, open_state_file
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.errors import ConfigError
from dtsflow.manifest.grammar import format_duration

LOCK_PATH = Path(".dtsflow") / "apply.lock"
LOCK_RETRY_SECONDS = 0.5


def _holder(fd: int) -> str:
    """Who holds the lock, as the holder wrote it (`pid 1234 on host`); `another process` when unreadable."""
    try:
        words = os.pread(fd, 256, 0).decode("utf-8", "replace").split()
    except OSError:
        words = []
    if not words or not words[0].isdigit():
        return "another process"
    return f"pid {words[0]}" + (f" on {words[1]}" if len(words) > 1 else "")


def _take(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def apply_lock(
    path: Path = LOCK_PATH,
    *,
    timeout: float = 0.0,
    clock: Clock = SYSTEM_CLOCK,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the directory's apply lock; with `timeout` > 0, wait up to that long for another apply to release it
    (`on_wait(message)` once, when the wait begins)."""
    ensure_state_dir(path.parent)
    fd = open_state_file(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _take(fd):
            holder = _holder(fd)
            if timeout <= 0:
                raise ConfigError(
                    f"another dtsflow apply is running in this directory (it holds {path}); wait for it to finish"
                )
            if on_wait is not None:
                on_wait(
                    f"waiting up to {format_duration(timeout)} for the apply lock {path}, held by {holder} "
                    "(another dtsflow apply in this directory)"
                )
            deadline = clock.monotonic() + timeout
            while not _take(fd):
                left = deadline - clock.monotonic()
                if left <= 0:
                    raise ConfigError(
                        f"another dtsflow apply still holds {path} ({_holder(fd)}) after --lock-timeout "
                        f"{format_duration(timeout)}; wait for it to finish"
                    )
                clock.sleep(min(LOCK_RETRY_SECONDS, left))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {os.uname().nodename}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
