"""Shared test helpers: run the real CLI as a process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dtsflow.apply.events import Event
    from dtsflow.manifest.model import TaskSpec

REPO = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    fork: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`python -m dtsflow ARGS...` with this checkout importable; returns the finished process.

    The process is forked from a warm server (tests/forkcli.py, which says what that keeps and why) unless
    `fork=False`, which starts a new interpreter: for the tests of the entry point itself."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.setdefault("NO_COLOR", "1")
    if env:
        full_env.update(env)
    if fork:
        from tests import forkcli

        return forkcli.run(args, cwd=cwd, env=full_env, input=input, timeout=timeout)
    return subprocess.run(
        [sys.executable, "-m", "dtsflow", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def client_token_for(spec: TaskSpec, generation: int = 0) -> str:
    """The create token apply sends for a manifest task (as `dtsflow.apply.steps` builds it)."""
    from dtsflow.apply.tokens import token_for_body
    from dtsflow.client.wire import create_body

    return token_for_body(spec.name, create_body(spec), generation)


class EventLog:
    """An apply observer that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
