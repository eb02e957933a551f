"""`apply` on a terminal (a pseudo-terminal): the confirmation prompt and the live progress redrawn in place."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from tests.apply.conftest import CANARY, Env, task
from tests.helpers import REPO

PROMPT = b"Only 'yes' is accepted"


def run_on_terminal(env: Env, *args: str, answer: str, command: str = "apply") -> tuple[int, str]:
    """Run `dtsflow COMMAND ARGS` with stdin/stdout/stderr on a pty; type `answer` at the prompt."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    full.update(env.env(), PYTHONPATH=str(REPO), NO_COLOR="1", TERM="xterm")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtsflow", command, *args, "--endpoint", env.url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=env.cwd,
        env=full,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                output += data
                if not answered and PROMPT in output:
                    os.write(master, (answer + "\n").encode())
                    answered = True
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = output.decode(errors="replace")
    assert CANARY not in text
    return code, text


def test_anything_but_yes_cancels_without_a_mutating_call(env: Env) -> None:
    manifest = env.write([task("orders")])
    code, text = run_on_terminal(env, manifest, answer="y")
    assert code == 1
    assert "Apply cancelled." in text
    assert env.mutating() == 0


def test_yes_applies_with_live_progress(env: Env) -> None:
    manifest = env.write([task("orders"), task("users")])
    code, text = run_on_terminal(env, manifest, answer="yes")
    assert code == 0, text
    assert "\x1b[" in text  # redrawn in place
    assert "done, 0 failed" in text
    assert "Apply complete: 2 applied" in text
    assert env.by_name()["orders"]["status"] == "running"


def test_the_live_counter_counts_only_the_tasks_with_changes(env: Env) -> None:
    assert env.apply(env.write([task("orders", state="ready")]), "--auto-approve").returncode == 0
    manifest = env.write([task("orders", state="ready"), task("users", state="ready")])
    code, text = run_on_terminal(env, manifest, "--auto-approve", answer="")
    assert code == 0, text
    assert "1/1 done, 0 failed" in text and "/2 done" not in text
