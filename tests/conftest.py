"""Suite-wide hooks: how many workers `-n auto` starts, and the end of this test process's fork servers."""

from __future__ import annotations

import os

import pytest

# The suite mostly waits (emulator timelines, processes, polls) rather than computes: with one worker per core the
# cores were idle about a third of the time. Measured on 2 cores, tests/apply: 94-108 s with 2 workers, 90 s with 3,
# 84 s with 4, 66 s with 6 (the CPU seconds grow by about a tenth). See README "Run the tests".
WORKERS_PER_CORE = 3
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
