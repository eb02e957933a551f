"""Suite-wide set-up: Ctrl-C not inherited as ignored; how many workers `-n auto` starts, and the end of this test process's fork servers."""

from __future__ import annotations

import os
import signal

import pytest

# A shell without job control starts background commands with SIGINT ignored, and an ignored signal stays ignored
# across fork and exec: every `dtsflow` the tests start would then ignore Ctrl-C, and the tests of what Ctrl-C does
# would wait out their timeouts. The suite gives its processes the disposition an interactive start has.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The suite mostly waits (emulator timelines, processes, polls) rather than computes: with one worker per core the
# cores were idle about a third of the time. Measured on 2 cores, tests/apply with xdist's default distribution:
# 94-108 s with 2 workers, 90 s with 3, 84 s with 4, 66 s with 6. With `--dist=worksteal` (pyproject.toml) the
# whole suite took 118.6 s with 4 workers and 123.6 s with 6, back to back: 4 is as fast, and loads the machine less,
# which the few tests that still watch real time prefer. See README "Run the tests".
WORKERS_PER_CORE = 2
MAX_WORKERS = 32


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: WORKERS_PER_CORE workers per usable core (PYTEST_XDIST_AUTO_NUM_WORKERS still decides if set)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return min(WORKERS_PER_CORE * len(os.sched_getaffinity(0)), MAX_WORKERS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End this test process's fork servers (tests/forkcli.py), and the CLI runs still going with them."""
    from tests import forkcli

    forkcli.close_all()
