"""`.dtsflow/` is dtsflow's, not the repository's: checks before its journal, lock or emulator state is trusted.

In CI the work tree is a pull request's checkout, so `.dtsflow/` may arrive with it: a committed journal could make
`apply` take over a task, a link could make dtsflow write through it. So the state directory and each state file
must be
  * a real directory / regular file, not a symbolic link (files are also opened with `O_NOFOLLOW`);
  * owned by the user running dtsflow;
  * private: no group or other permission bits (dtsflow creates them 0700 / 0600);
  * not tracked by git (asked with `git ls-files` when the directory is inside a git work tree and git is
    installed; a checkout also fails the two checks above, as git writes 0755 directories and 0644 files).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from dtsflow.errors import ConfigError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
GIT_TIMEOUT_SECONDS = 10.0


def _refuse(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"{path}: {why}; dtsflow keeps its state there and trusts only a private directory it made "
        "(remove it, or fix its owner and mode, then re-run; add .dtsflow/ to .gitignore)"
    )


def _check_entry(path: Path, *, directory: bool) -> bool:
    """Refuse a link, a wrong kind, another owner or group/other bits; False when the path does not exist."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "is a symbolic link")
    if directory and not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "exists and is not a directory")
    if not directory and not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "is not a regular file")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise _refuse(path, f"is owned by another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise _refuse(path, f"is accessible to group or others (mode {stat.S_IMODE(info.st_mode):04o})")
    return True


def _tracked_by_git(path: Path) -> bool:
    git = shutil.which("git")
    if git is None:
        return False
    try:
        result = subprocess.run(
            [git, "ls-files", "-z", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and bool(result.stdout.strip(b"\0"))


_NOT_TRACKED: set[str] = set()  # directories git was asked about once in this process (a subprocess each time
# would cost every journal write a fork)


def ensure_state_dir(path: Path) -> Path:
    """The state directory, checked if it exists, else created 0700."""
    if not _check_entry(path, directory=True):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_entry(path, directory=True)
    else:
        key = os.path.realpath(path)
        if key not in _NOT_TRACKED:
            if _tracked_by_git(path):
                raise _refuse(path, "is tracked by git")
            _NOT_TRACKED.add(key)
    return path


def check_state_file(path: Path) -> bool:
    """Refuse a state file that is a link, not regular, someone else's or not private; False if it is absent."""
    return _check_entry(path, directory=False)


def open_state_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """`os.open` of a checked state file that never follows a link (ELOOP is refused as a link)."""
    check_state_file(path)
    try:
        return os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a link was planted after the check
            raise _refuse(path, "is a symbolic link") from None
        raise
