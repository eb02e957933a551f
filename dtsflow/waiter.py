"""One shared poller for every task that waits: one list call per tick for all of them.

Asynchronous DTS steps (precheck, start, pause, shutdown, delete) return before the task reaches its new
status. Instead of each task polling its own detail endpoint, the tasks register a wait here, and one
thread polls `client.list_tasks()` and wakes every waiter whose task reached a target (or a failure)
status. The cost of polling is therefore one list call per tick whatever the number of tasks in flight.

Tick schedule (`PollPolicy`): the first poll comes `initial` seconds after a wait begins, then the interval
grows by `factor` up to `cap`. A new wait pulls the next poll forward to at most `initial` from now and
resets the interval, so a fresh precheck is seen quickly while long waits (a start on a big database)
settle at one list call every `cap` seconds. Defaults: 0.1 s, x1.5, 5 s cap; `DTSFLOW_POLL_INITIAL` and
`DTSFLOW_POLL_CAP` (seconds) override them, e.g. for a slow real service.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from dtsflow.client import DtsClient
from dtsflow.live import LiveTask

ABSENT = "deleted"
"""Pseudo-status of a task that the list no longer shows (released)."""

ABSENT_POLLS = 2
"""A waited-for task missing from this many consecutive lists has gone (one miss may be a list that lags a create)."""

ELSEWHERE_POLLS = 2
"""Consecutive lists showing a status the wait does not expect before the wait fails (one may be a passing state)."""

MAX_LIST_FAILURES = 3
"""Consecutive failed list calls (each already retried by the client) after which waits fail."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    initial: float = 0.1
    factor: float = 1.5
    cap: float = 5.0

    @classmethod
    def from_env(cls) -> PollPolicy:
        def number(name: str, default: float) -> float:
            raw = os.environ.get(name, "")
            try:
                value = float(raw)
            except ValueError:
                return default
            return value if value > 0 else default

        base = cls()
        return cls(
            initial=number("DTSFLOW_POLL_INITIAL", base.initial),
            factor=base.factor,
            cap=number("DTSFLOW_POLL_CAP", base.cap),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One list call's view of every task, by id; `started` is when the call began (clock seconds)."""

    started: float
    tasks: dict[str, LiveTask]

    def status(self, dts_id: str) -> str:
        live = self.tasks.get(dts_id)
        return live.status if live else ABSENT


class WaitOutcome(StrEnum):
    REACHED = "reached"
    FAILED = "failed"  # a failure status, or the task vanished
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    ERROR = "error"  # the list call itself kept failing


@dataclass(frozen=True, slots=True)
class WaitResult:
    outcome: WaitOutcome
    status: str | None = None
    live: LiveTask | None = None
    message: str = ""


PollCallback = Callable[[LiveTask | None, str], None]


@dataclass(eq=False)
class _Waiter:
    dts_id: str
    targets: frozenset[str]
    stops: frozenset[str]
    on_poll: PollCallback | None
    tolerate: frozenset[str] | None = None  # None: wait through any status
    absent_seen: int = 0  # consecutive snapshots without the task
    elsewhere_seen: int = 0  # consecutive snapshots in a status outside targets, stops and `tolerate`
    done: threading.Event = field(default_factory=threading.Event)
    result: WaitResult | None = None

    def finish(self, result: WaitResult) -> None:
        if self.result is None:
            self.result = result
            self.done.set()


class Poller:
    """The shared poll loop. Use as a context manager; `wait()` blocks the calling task's thread."""

    def __init__(
        self,
        client: DtsClient,
        *,
        policy: PollPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.policy = policy or PollPolicy.from_env()
        self._clock = clock
        self._cond = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._refresh_wanted = False
        self._closed = False
        self._interrupted = False
        self._interval = self.policy.initial
        self._next_poll = 0.0
        self._failures = 0
        self.latest: Snapshot | None = None
        self.polls = 0
        self._thread = threading.Thread(target=self._run, name="dtsflow-poller", daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def interrupt(self) -> None:
        """Ctrl-C: every current and future wait ends at once as INTERRUPTED."""
        with self._cond:
            self._interrupted = True
            for waiter in self._waiters:
                waiter.finish(WaitResult(WaitOutcome.INTERRUPTED, message="interrupted"))
            self._waiters.clear()
            self._cond.notify_all()

    # -- used by task threads ------------------------------------------------------------------------
    def wait(
        self,
        dts_id: str,
        *,
        targets: Iterable[str],
        stops: Iterable[str] = (),
        timeout: float,
        on_poll: PollCallback | None = None,
        tolerate: Iterable[str] | None = None,
    ) -> WaitResult:
        """Block until a list call shows `dts_id` in `targets` (or `stops`, or gone), or `timeout` passes.

        With `tolerate`, a task seen in any other status (not a target, stop or tolerated one) in
        `ELSEWHERE_POLLS` consecutive lists has moved somewhere unexpected: the wait fails with that status.
        """
        waiter = _Waiter(
            dts_id, frozenset(targets), frozenset(stops), on_poll, None if tolerate is None else frozenset(tolerate)
        )
        with self._cond:
            if self._interrupted:
                return WaitResult(WaitOutcome.INTERRUPTED, message="interrupted")
            self._waiters.append(waiter)
            self._interval = self.policy.initial
            first = self._clock() + self.policy.initial
            self._next_poll = min(self._next_poll, first) if len(self._waiters) > 1 else first
            self._cond.notify_all()
        if not waiter.done.wait(timeout=max(timeout, 0.0)):
            with self._cond:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                last = self.latest.tasks.get(dts_id) if self.latest else None
            waiter.finish(
                WaitResult(
                    WaitOutcome.TIMEOUT,
                    status=last.status if last else None,
                    live=last,
                    message=f"timed out after {timeout:g}s",
                )
            )
        assert waiter.result is not None
        return waiter.result

    def fresh(self, after: float, *, timeout: float = 60.0) -> Snapshot | None:
        """A snapshot whose list call began at or after `after` (clock seconds); polls now if needed.

        Concurrent callers share the same list call. None when interrupted, closed or the list keeps failing.
        """
        deadline = self._clock() + timeout
        with self._cond:
            while True:
                if self.latest is not None and self.latest.started >= after:
                    return self.latest
                if self._closed or self._interrupted or self._failures >= MAX_LIST_FAILURES:
                    return None
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return None
                self._refresh_wanted = True
                self._cond.notify_all()
                self._cond.wait(timeout=remaining)

    @property
    def interval(self) -> float:
        """The gap before the next poll (the backoff's current step); read by tests of the schedule."""
        return self._interval

    # -- the poll thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    if self._refresh_wanted:
                        break
                    if self._waiters and not self._interrupted:
                        delay = self._next_poll - self._clock()
                        if delay <= 0:
                            break
                        self._cond.wait(timeout=delay)
                    else:
                        self._cond.wait()
                self._refresh_wanted = False
            started = self._clock()
            try:
                tasks = self._client.list_tasks()
            except Exception as exc:  # an ApiError after the client's own retries, or a bug: fail the waits
                self._on_list_failure(exc)
                continue
            self._on_snapshot(Snapshot(started, {t.dts_id: t for t in tasks}))

    def _on_list_failure(self, exc: Exception) -> None:
        with self._cond:
            self.polls += 1
            self._failures += 1
            if self._failures >= MAX_LIST_FAILURES:
                for waiter in self._waiters:
                    waiter.finish(WaitResult(WaitOutcome.ERROR, message=f"cannot list tasks: {exc}"))
                self._waiters.clear()
            self._interval = min(self.policy.cap, self._interval * self.policy.factor)
            self._next_poll = self._clock() + self._interval
            self._cond.notify_all()

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        with self._cond:
            self.polls += 1
            self._failures = 0
            self.latest = snapshot
            still: list[_Waiter] = []
            for waiter in self._waiters:
                live = snapshot.tasks.get(waiter.dts_id)
                status = live.status if live else ABSENT
                if waiter.on_poll is not None:
                    waiter.on_poll(live, status)
                if status in waiter.targets:
                    waiter.finish(WaitResult(WaitOutcome.REACHED, status=status, live=live))
                elif status in waiter.stops:
                    waiter.finish(WaitResult(WaitOutcome.FAILED, status=status, live=live, message=_errmsg(live)))
                elif live is None and waiter.absent_seen + 1 >= ABSENT_POLLS:
                    waiter.finish(WaitResult(WaitOutcome.FAILED, status=ABSENT, message="the task no longer exists"))
                elif (
                    live is not None
                    and waiter.tolerate is not None
                    and status not in waiter.tolerate
                    and waiter.elsewhere_seen + 1 >= ELSEWHERE_POLLS
                ):
                    message = f"the task moved to {status}" + (f": {live.errmsg}" if live.errmsg else "")
                    waiter.finish(WaitResult(WaitOutcome.FAILED, status=status, live=live, message=message))
                else:
                    waiter.absent_seen = waiter.absent_seen + 1 if live is None else 0
                    elsewhere = live is not None and waiter.tolerate is not None and status not in waiter.tolerate
                    waiter.elsewhere_seen = waiter.elsewhere_seen + 1 if elsewhere else 0
                    still.append(waiter)
            self._waiters = still
            self._interval = min(self.policy.cap, self._interval * self.policy.factor)
            self._next_poll = self._clock() + self._interval
            self._cond.notify_all()


def _errmsg(live: LiveTask | None) -> str:
    return live.errmsg if live and live.errmsg else ""
