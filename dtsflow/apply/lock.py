"""One apply at a time per working directory: an advisory lock on `.dtsflow/apply.lock`.

Two applies sharing a journal would race each other's creates and steps. The lock is `flock(2)`: the kernel
drops it when the process ends, however it ends (SIGKILL included), so there is never a stale lock to
force-unlock. Applies from other directories or machines are not covered; for those, the create tokens
and the level-triggered steps still prevent a duplicate task.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dtsflow.apply.statedir import ensure_state_dir, open_state_file
from dtsflow.errors import ConfigError

LOCK_PATH = Path(".dtsflow") / "apply.lock"


@contextmanager
def apply_lock(path: Path = LOCK_PATH) -> Iterator[None]:
    ensure_state_dir(path.parent)
    fd = open_state_file(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another dtsflow apply is running in this directory (it holds {path}); wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock
