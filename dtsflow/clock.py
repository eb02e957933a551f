"""The one clock of dtsflow: wall time, monotonic time and sleeping, injectable so tests need not watch real time.

Everything that reads time to decide something — the emulator's timeline, the poller's schedule, the waits'
timeouts, the executor's deadline — takes a `Clock` (default `SYSTEM_CLOCK`). Tests pass a `ManualClock`, which
moves only when told to: a status that lasts 0.3 s is seen before and after by advancing 0.3 s, not by sleeping.
Threads that wait for a time (the poller's next list call, a wait's timeout) wait through `wait_until`, so a
`ManualClock` wakes them when it is advanced: a test drives the poll thread without any real sleeping.
Standard library only, so any layer may import it.
"""

from __future__ import annotations

import threading
import time
import weakref
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

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> None:
        """Wait on `cond` (held by the caller) until notified or `monotonic()` reaches `deadline` (None: no limit).

        May return early (a notification, the clock moved): callers re-check what they wait for, in a loop."""
        ...

    def notify_all(self, cond: threading.Condition) -> None:
        """`cond.notify_all()` (`cond` held by the caller), known to the clock: a `ManualClock` then knows that the
        threads waiting on `cond` are about to run, so a test does not move time before they have."""
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

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> None:
        if deadline is None:
            cond.wait()
        else:
            remaining = deadline - time.monotonic()
            if remaining > 0:
                cond.wait(remaining)

    def notify_all(self, cond: threading.Condition) -> None:
        cond.notify_all()


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock for tests that moves only through `advance()` or `sleep()`; both move wall and monotonic time alike.

    `sleep()` returns at once having moved the clock, so code that sleeps (retries, latency) runs instantly and
    deterministically. A thread in `wait_until` sleeps on its condition, with no real timeout, until a
    notification or until the clock is advanced past its deadline (every advance wakes every such thread, which
    re-checks). `settle(n)` blocks until n threads wait on the clock again after its last advance, so a test
    knows a background thread has done what the advance allowed before it advances further. Thread-safe.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._wall_start = time.time() if start is None else float(start)  # default: now, so timestamps look real
        # Monotonic time is kept from zero, not as `wall - start`: near 1.7e9 a small advance is lost to rounding,
        # and a thread stepped to its deadline would never see it reached.
        self._elapsed = 0.0
        self._conds: weakref.WeakSet[threading.Condition] = weakref.WeakSet()  # every condition ever waited on
        self._epoch = 0  # advances so far
        # thread id -> (the epoch it began waiting in, or -1 once notified; its deadline; the condition)
        self._sleeping: dict[int, tuple[int, float | None, threading.Condition]] = {}
        self._settled = threading.Condition(self._lock)

    def now(self) -> float:
        with self._lock:
            return self._wall_start + self._elapsed

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._elapsed += seconds
            self._epoch += 1
            conds = list(self._conds)
        # Outside our lock: a waiter holds its condition while it reads the clock (lock order cond -> clock).
        for cond in conds:
            with cond:
                cond.notify_all()

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> None:
        with self._lock:
            # Registered before the deadline is checked, under the caller's `cond`: an advance after this
            # point needs `cond` to notify, so it cannot slip in between the check and the wait.
            self._conds.add(cond)
            if deadline is not None and self._elapsed >= deadline:
                return
            self._sleeping[threading.get_ident()] = (self._epoch, deadline, cond)
            self._settled.notify_all()
        try:
            cond.wait()
        finally:
            with self._lock:
                self._sleeping.pop(threading.get_ident(), None)

    def notify_all(self, cond: threading.Condition) -> None:
        with self._lock:
            for ident, (_, deadline, waiting_on) in list(self._sleeping.items()):
                if waiting_on is cond:
                    self._sleeping[ident] = (-1, deadline, cond)  # woken: not settled until it waits again
        cond.notify_all()

    def _settled_count(self) -> int:
        return sum(1 for epoch, _, _ in self._sleeping.values() if epoch == self._epoch)

    def next_deadline(self) -> float | None:
        """The earliest deadline (monotonic) still ahead of the threads waiting on this clock, None if none has one.

        A deadline already reached is a thread that an advance has released but that has not yet left its wait:
        stepping to it would move nothing (and a test stepping slot by slot would run out of steps)."""
        with self._lock:
            deadlines = [d for _, d, _ in self._sleeping.values() if d is not None and d > self._elapsed]
            return min(deadlines) if deadlines else None

    def run_to_next_deadline(self, threads: int, timeout: float = 10.0) -> float:
        """Discrete-event step for tests: wait until `threads` threads wait on the clock (`settle`), then advance
        it to their earliest deadline (not at all if that has passed). Returns the clock's monotonic time."""
        self.settle(threads, timeout)
        deadline = self.next_deadline()
        if deadline is None:
            raise TimeoutError("no thread waits on the clock for a time")
        self.advance(max(deadline - self.monotonic(), 0.0))
        return self.monotonic()

    def settle(self, threads: int, timeout: float = 10.0) -> None:
        """Block (real time, `timeout` at most) until `threads` threads wait on this clock since its last advance:
        the background threads have done what the last advance let them do."""

        def settled() -> bool:
            return self._settled_count() >= threads

        with self._settled:
            if not self._settled.wait_for(settled, timeout):
                raise TimeoutError(f"fewer than {threads} threads wait on the clock after {timeout}s")
