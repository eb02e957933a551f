"""One shared poller for every task that waits: one list call per tick for all of them.

Asynchronous DTS steps (precheck, start, pause, shutdown, delete) return before the task reaches its new
status. Instead of each task polling its own detail endpoint, the tasks register a wait here, and one
thread polls `client.list_tasks()` and wakes every waiter whose task reached a target (or a failure)
status. The cost of polling is therefore one list call per tick whatever the number of tasks in flight.

Tick schedule (`PollPolicy`). A wait of a kind this run has not yet seen finish (a step kind: precheck, start,
...) looks after a small fraction (`fraction`, 10%) of the time it has waited so far, never sooner than `floor`
(0.05 s) nor later than `cap` (5 s): such a wait is seen done at most ~10% after the service finished it. Every
wait that finishes teaches the poller its kind's duration as an interval (`Estimate`): the longest time a wait of
that kind was seen not done yet, and the shortest time one was seen done. A later wait of that kind then looks
when it is predicted to finish instead of geometrically: in the middle of the interval while it is wider than
`precision` (3%) of the duration (each look narrows it, as a bisection over the run's waits), at its end once it
is narrow; past the end (this task is slower than the earlier ones) it falls back to the fraction schedule. So
after the first wave of a kind, each wait costs about one list call at its predicted finish, late by at most the
interval's width. The next list call is the earliest any wait wants, held back by up to `gather` (20 ms) for the
waits that want one just after it, and it serves them all: tasks in flight together a few ms apart then cost one
call, not one each (a simulated apply of 40 tasks, ten at a time, with 0.3 s prechecks: 18 list calls instead
of 44, equally fast). A long wait settles
at one list call every `cap` seconds. `DTSFLOW_POLL_FLOOR` and `DTSFLOW_POLL_CAP` (seconds) override the bounds,
e.g. for a slow real service.

Callbacks (`on_poll`) run outside the poller's lock, each on its own: a callback that raises fails its own
wait (with what it raised) and nothing else. If the poll thread itself dies, every wait fails at once with
the cause, and so does every later one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from dtsflow.apply.snapshot import ABSENT, Snapshot
from dtsflow.client.live import LiveTask
from dtsflow.client.protocol import DtsClient
from dtsflow.clock import SYSTEM_CLOCK, Clock

ABSENT_POLLS = 2
"""A waited-for task missing from this many consecutive lists has gone (one miss may be a list that lags a create)."""

ELSEWHERE_POLLS = 2
"""Consecutive lists showing a status the wait does not expect before the wait fails (one may be a passing state)."""

MAX_LIST_FAILURES = 3
"""Consecutive failed list calls (each already retried by the client) after which waits fail."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the finished waits of one kind showed: one was still not done `lo` seconds into its wait, and one
    was done `hi` seconds into it (times from the wait's start to the start of the list call that saw it)."""

    lo: float
    hi: float

    def learn(self, lo: float, hi: float) -> Estimate:
        """The estimate after a wait that was not done at `lo` and done at `hi`."""
        if lo >= self.hi:  # slower than every earlier wait: the old interval no longer holds
            return Estimate(lo, hi)
        narrowed = Estimate(max(self.lo, lo), min(self.hi, hi))
        return narrowed if narrowed.lo < narrowed.hi else Estimate(lo, hi)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    floor: float = 0.05
    fraction: float = 0.1
    cap: float = 5.0
    precision: float = 0.03  # an estimate narrower than this fraction of its duration is not narrowed further
    tail: float = 0.01  # the shortest gap between two looks of a wait whose kind has an estimate
    gather: float = 0.02  # a list call waits this long at most for the other waits that want one soon after

    def gap(self, waited: float) -> float:
        """The time to the next look for a wait of a kind not yet seen finish, that has waited `waited` s."""
        return min(self.cap, max(self.floor, self.fraction * waited))

    def next_look(self, waited: float, estimate: Estimate | None) -> float:
        """When (seconds into the wait) a wait that was last seen not done at `waited` should look next."""
        if estimate is None:
            return waited + self.gap(waited)
        narrow = estimate.hi - estimate.lo <= max(self.tail, self.precision * estimate.hi)
        predicted = estimate.hi if narrow else (estimate.lo + estimate.hi) / 2
        if waited < predicted - self.tail / 2:
            return min(predicted, waited + self.cap)
        if waited < estimate.hi - self.tail / 2:  # the middle was too early: close in on the end in small steps
            return min(estimate.hi, waited + max(self.tail, self.precision * waited))
        return waited + min(self.cap, max(self.tail, self.fraction * waited))

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
        return cls(floor=number("DTSFLOW_POLL_FLOOR", base.floor), cap=number("DTSFLOW_POLL_CAP", base.cap))


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
    began: float
    due: float  # clock time of the next look this wait wants
    kind: str | None = None  # what the wait is for (a step kind): waits of one kind teach each other's schedule
    tolerate: frozenset[str] | None = None  # None: wait through any status
    absent_seen: int = 0  # consecutive snapshots without the task
    elsewhere_seen: int = 0  # consecutive snapshots in a status outside targets, stops and `tolerate`
    not_done_at: float = 0.0  # seconds into the wait of the latest look that saw it not done
    result: WaitResult | None = None
    clock: Clock = SYSTEM_CLOCK
    cond: threading.Condition = field(default_factory=threading.Condition)

    def finish(self, result: WaitResult) -> None:
        with self.cond:
            if self.result is None:
                self.result = result
                self.clock.notify_all(self.cond)

    def decide(self, live: LiveTask | None, status: str) -> WaitResult | None:
        """What this snapshot means for the wait: a result, or None to keep waiting (counters updated)."""
        if status in self.targets:
            return WaitResult(WaitOutcome.REACHED, status=status, live=live)
        if status in self.stops:
            return WaitResult(WaitOutcome.FAILED, status=status, live=live, message=_errmsg(live))
        if live is None and self.absent_seen + 1 >= ABSENT_POLLS:
            return WaitResult(WaitOutcome.FAILED, status=ABSENT, message="the task no longer exists")
        elsewhere = live is not None and self.tolerate is not None and status not in self.tolerate
        if live is not None and elsewhere and self.elsewhere_seen + 1 >= ELSEWHERE_POLLS:
            message = f"the task moved to {status}" + (f": {live.errmsg}" if live.errmsg else "")
            return WaitResult(WaitOutcome.FAILED, status=status, live=live, message=message)
        self.absent_seen = self.absent_seen + 1 if live is None else 0
        self.elsewhere_seen = self.elsewhere_seen + 1 if elsewhere else 0
        return None


class Poller:
    """The shared poll loop. Use as a context manager; `wait()` blocks the calling task's thread."""

    def __init__(self, client: DtsClient, *, policy: PollPolicy | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self._client = client
        self.policy = policy or PollPolicy.from_env()
        self._clock = clock
        self._cond = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._refresh_wanted = False
        self._closed = False
        self._interrupted = False
        self._dead: str | None = None  # why the poll thread stopped, if it did
        self._failures = 0
        self.last_error: Exception | None = None  # the last failed list call's error
        self._last_error_started = float("-inf")
        self.latest: Snapshot | None = None
        self.polls = 0
        self.estimates: dict[str, Estimate] = {}  # per kind of wait, what the finished ones showed
        self._thread = threading.Thread(target=self._run, name="dtsflow-poller", daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._clock.notify_all(self._cond)
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def interrupt(self) -> None:
        """Ctrl-C: every current and future wait ends at once as INTERRUPTED."""
        with self._cond:
            self._interrupted = True
            waiters, self._waiters = self._waiters, []
            self._clock.notify_all(self._cond)
        for waiter in waiters:
            waiter.finish(WaitResult(WaitOutcome.INTERRUPTED, message="interrupted"))

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
        kind: str | None = None,
    ) -> WaitResult:
        """Block until a list call shows `dts_id` in `targets` (or `stops`, or gone), or `timeout` passes.

        With `tolerate`, a task seen in any other status (not a target, stop or tolerated one) in
        `ELSEWHERE_POLLS` consecutive lists has moved somewhere unexpected: the wait fails with that status.
        `kind` names what is waited for (a step kind): the durations of finished waits of a kind schedule the
        looks of later ones (see the module's docstring).
        """
        now = self._clock.monotonic()
        waiter = _Waiter(
            dts_id,
            frozenset(targets),
            frozenset(stops),
            on_poll,
            began=now,
            due=now,
            kind=kind,
            tolerate=None if tolerate is None else frozenset(tolerate),
            clock=self._clock,
        )
        with self._cond:
            if self._interrupted:
                return WaitResult(WaitOutcome.INTERRUPTED, message="interrupted")
            if self._dead is not None:
                return WaitResult(WaitOutcome.ERROR, message=self._dead)
            waiter.due = now + self.policy.next_look(0.0, self._estimate(kind))
            self._waiters.append(waiter)
            self._clock.notify_all(self._cond)
        deadline = now + max(timeout, 0.0)
        with waiter.cond:
            while waiter.result is None and self._clock.monotonic() < deadline:
                self._clock.wait_until(waiter.cond, deadline)
            finished = waiter.result is not None
        if not finished:
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

        Concurrent callers share the same list call. None when interrupted, closed, the poll thread died, or the
        list call made for this request failed (`last_error` says why); every call tries again.
        """
        asked = self._clock.monotonic()
        deadline = asked + timeout
        with self._cond:
            while True:
                if self.latest is not None and self.latest.started >= after:
                    return self.latest
                if self._closed or self._interrupted or self._dead is not None:
                    return None
                if self._last_error_started >= asked:
                    return None  # the list call made since we asked failed
                if self._clock.monotonic() >= deadline:
                    return None
                self._refresh_wanted = True
                self._clock.notify_all(self._cond)
                self._clock.wait_until(self._cond, deadline)

    def failure(self) -> str:
        """Why the last re-read failed, for the user: the API's error (code, message, request id) if any."""
        if self._dead is not None:
            return self._dead
        return str(self.last_error) if self.last_error is not None else "listing tasks failed"

    # -- the poll thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._next_tick():
                started = self._clock.monotonic()
                try:
                    tasks = self._client.list_tasks()
                except Exception as exc:  # an ApiError after the client's own retries, or a bug: fail the waits
                    self._on_list_failure(exc, started)
                    continue
                self._on_snapshot(Snapshot(started, {t.dts_id: t for t in tasks}))
        except BaseException as exc:  # a bug of the poller itself: no wait may sit until its timeout
            self._die(exc)

    def _next_tick(self) -> bool:
        """Block until the next list call is due (False: closed)."""
        with self._cond:
            while True:
                if self._closed:
                    return False
                now = self._clock.monotonic()
                if self._refresh_wanted:
                    break
                if self._waiters and not self._interrupted:
                    due = min(w.due for w in self._waiters)
                    # One call for the waits that want one within `gather` of the first: later by that at most.
                    due = max(w.due for w in self._waiters if w.due <= due + self.policy.gather)
                    if due <= now:
                        break
                    self._clock.wait_until(self._cond, due)
                else:
                    self._clock.wait_until(self._cond, None)
            self._refresh_wanted = False
            return True

    def _estimate(self, kind: str | None) -> Estimate | None:
        return None if kind is None else self.estimates.get(kind)

    def _learn(self, kind: str, lo: float, hi: float) -> None:
        known = self.estimates.get(kind)
        self.estimates[kind] = Estimate(lo, hi) if known is None else known.learn(lo, hi)

    def _die(self, exc: BaseException) -> None:
        with self._cond:
            self._dead = f"the poll thread stopped: {type(exc).__name__}: {exc}"
            waiters, self._waiters = self._waiters, []
            self._clock.notify_all(self._cond)
        for waiter in waiters:
            waiter.finish(WaitResult(WaitOutcome.ERROR, message=self._dead))

    def _on_list_failure(self, exc: Exception, started: float) -> None:
        failed: list[_Waiter] = []
        with self._cond:
            self.polls += 1
            self._failures += 1
            self.last_error = exc
            self._last_error_started = started
            if self._failures >= MAX_LIST_FAILURES:
                failed, self._waiters = self._waiters, []
            for waiter in self._waiters:
                waited = max(started - waiter.began, 0.0)
                waiter.due = waiter.began + self.policy.next_look(waited, self._estimate(waiter.kind))
            self._clock.notify_all(self._cond)
        for waiter in failed:
            waiter.finish(WaitResult(WaitOutcome.ERROR, message=f"cannot list tasks: {exc}"))

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        seen: list[tuple[_Waiter, LiveTask | None, str, WaitResult | None]] = []
        with self._cond:
            self.polls += 1
            self._failures = 0
            self.latest = snapshot
            still: list[_Waiter] = []
            for waiter in self._waiters:
                live = snapshot.tasks.get(waiter.dts_id)
                status = live.status if live else ABSENT
                result = waiter.decide(live, status)
                seen.append((waiter, live, status, result))
                waited = max(snapshot.started - waiter.began, 0.0)
                if result is None:
                    waiter.not_done_at = waited
                    still.append(waiter)
                elif result.outcome is WaitOutcome.REACHED and waiter.kind is not None:
                    self._learn(waiter.kind, waiter.not_done_at, waited)
            for waiter in still:  # after learning: this list may have taught the others' kind
                waiter.due = waiter.began + self.policy.next_look(waiter.not_done_at, self._estimate(waiter.kind))
            self._waiters = still
            self._clock.notify_all(self._cond)
        # Outside the lock, each on its own: a callback that raises fails its own wait, nothing else.
        for waiter, live, status, result in seen:
            if waiter.on_poll is not None:
                try:
                    waiter.on_poll(live, status)
                except Exception as exc:
                    with self._cond:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
                    result = WaitResult(
                        WaitOutcome.ERROR, status=status, live=live, message=f"{type(exc).__name__}: {exc}"
                    )
            if result is not None:
                waiter.finish(result)


def _errmsg(live: LiveTask | None) -> str:
    return live.errmsg if live and live.errmsg else ""
