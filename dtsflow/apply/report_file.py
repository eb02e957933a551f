"""`apply --report FILE.html`: check the path before the apply starts, write the page once it is over.

The page holds names, ids, statuses and the service's messages, never a secret value, so it is written with the
usual mode (0644 before the umask): it is meant to be kept as a CI artifact and read by reviewers.
"""

from __future__ import annotations

import os
from pathlib import Path

from dtsflow.errors import ConfigError


def check_report_path(path: str) -> None:
    """Refuse, before any request, a report path that cannot be written: a directory, or a missing parent."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"--report {path}: is a directory; name a file such as apply-report.html")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(f"--report {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"--report {path}: directory {parent} is not writable")


def write_report(path: str, html: str) -> None:
    """Write the page atomically (a reader never sees half a page)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write report {path}: {exc.strerror or type(exc).__name__}") from None
