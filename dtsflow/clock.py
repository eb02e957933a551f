"""The one clock of dtsflow: wall time, monotonic time and sleeping, injectable so tests need not watch real time.

Everything that reads time to decide something — the emulator's timeline, the poller's schedule, the waits'
timeouts, the executor's deadline — takes a `Clock` (default `SYSTEM_CLOCK`). Tests pass a `ManualClock`, which
moves only when told to: a status that lasts 0.3 s is seen before and after by advancing 0.3 s, not by sleeping.
Standard library only, so any layer may import it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (timestamps shown to people, the emulator's timeline)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never go back (deadlines, intervals)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock for tests that moves only through `advance()` or `sleep()`; both move wall and monotonic time alike.

    `sleep()` returns at once having moved the clock, so code that sleeps (retries, latency) runs instantly and
    deterministically. Thread-safe.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = time.time() if start is None else float(start)  # default: now, so timestamps look real
        self._start = self._now

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._now - self._start

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds
