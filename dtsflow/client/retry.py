"""When and how long to wait before trying a DTS request again (anchors-reliability-perf.md §1b).

- Exponential backoff with full jitter: before retry n (0-based) wait `uniform(0, min(cap, base * 2**n))`.
- A `Retry-After` header (429/503) is honoured instead, up to `MAX_RETRY_AFTER` seconds.
- A per-run retry budget (botocore's retry quota): a token bucket of 500; a retry costs 5 (10 after a timeout);
  a success refunds what its retries took, or 1 when it needed none. An empty bucket means no more retries,
  so a failing service sees at most ~100 retries from one run, not attempts × requests.
- Retried: connection errors, timeouts, HTTP 429/500/502/503/504 and code `RequestExpired` (any status);
  never any other 4xx.

Pure policy objects with injectable randomness; the HTTP client does the sleeping and the counting.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.errors import ApiError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_CODES = frozenset({"RequestExpired"})
NO_RESPONSE_CODES = frozenset({"ConnectionError", "Timeout"})  # status 0: nothing came back
MAX_RETRY_AFTER = 60.0  # never sleep longer than this on a server's say-so


def is_retryable(error: ApiError) -> bool:
    if error.status == 0:
        return error.code in NO_RESPONSE_CODES
    return error.status in RETRYABLE_STATUSES or error.code in RETRYABLE_CODES


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff; `attempts` counts the first try too."""

    attempts: int = 4
    base: float = 0.3
    cap: float = 20.0

    def ceiling(self, retry: int) -> float:
        """The largest delay before retry number `retry` (0 = the first retry)."""
        return float(min(self.cap, self.base * (2 ** min(retry, 62))))

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return rng.uniform(0.0, self.ceiling(retry))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


class RetryBudget:
    """A thread-safe token bucket shared by every request of one run (botocore `RetryQuota`)."""

    def __init__(self, capacity: int = 500, retry_cost: int = 5, timeout_cost: int = 10, success_refund: int = 1):
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._level = capacity
        self._lock = threading.Lock()

    @property
    def level(self) -> int:
        return self._level

    def acquire(self, *, after_timeout: bool) -> int | None:
        """Take the cost of one retry; None (no retry) when the bucket cannot pay it."""
        cost = self.timeout_cost if after_timeout else self.retry_cost
        with self._lock:
            if self._level < cost:
                return None
            self._level -= cost
            return cost

    def on_success(self, spent: int) -> None:
        """A request succeeded after its retries took `spent` tokens (0: it needed none)."""
        with self._lock:
            self._level = min(self.capacity, self._level + (spent or self.success_refund))


class ClientStats:
    """Thread-safe counts of what the client sent: attempts and retries per operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # every HTTP attempt, by operation
        self.retries: Counter[str] = Counter()  # attempts after the first, by operation
        self.failures: Counter[str] = Counter()  # calls that ended in ApiError, by operation
        self.budget_exhausted = 0  # retries refused because the run's retry budget was empty

    def attempt(self, operation: str) -> None:
        with self._lock:
            self.requests[operation] += 1

    def retry(self, operation: str) -> None:
        with self._lock:
            self.retries[operation] += 1

    def failure(self, operation: str, *, budget_exhausted: bool = False) -> None:
        with self._lock:
            self.failures[operation] += 1
            self.budget_exhausted += int(budget_exhausted)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "retries": dict(self.retries),
                "failures": dict(self.failures),
                "total_requests": sum(self.requests.values()),
                "total_retries": sum(self.retries.values()),
                "budget_exhausted": self.budget_exhausted,
            }


class RateLimiter:
    """A token bucket of `rate` requests per second shared by all threads.

    The default burst is 1: requests are spaced evenly, so no window of any length sees more than the rate
    (a server cap with a small burst is never tripped by a client-side burst). Each request reserves its slot on
    `clock` and waits for it through `clock.wait_until`, so a `ManualClock` lets a test step the queue of waiting
    threads slot by slot (`run_to_next_deadline`) without real sleeping.
    """

    def __init__(self, rate: float, *, burst: float = 1.0, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self._tokens = self.burst
        self._clock = clock
        self._stamp = clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until one request may go; returns the time waited (for tests)."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0  # reserve now; a negative level is the queue of waiters ahead
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            slot = now + wait
            # A condition of this call only: nothing notifies it, the clock's time (real or advanced) ends the wait.
            cond = threading.Condition()
            with cond:
                while self._clock.monotonic() < slot:
                    self._clock.wait_until(cond, slot)
        return wait


class AdaptiveThrottle:
    """Slows the whole run down when the service answers 429: one pause for every thread, requests spaced out,
    and fewer in flight (additive increase, multiplicative decrease).

    Off until the first 429. Then no request of the run is sent before the service's `Retry-After` (or
    `default_pause`); requests are spaced at about the rate the service accepted in the second before (`gap`
    seconds apart), and the requests in flight are limited to half of those that were in flight. Each later 429
    of a request sent after the last cut doubles the gap and halves the limit (never below 1); each success
    shrinks the gap by 5% and adds `1/limit` to the limit, so the run speeds up again until the next 429, and
    both are lifted once the service keeps saying yes. Thread-safe; the clock and sleep are injectable.
    """

    WINDOW = 1.0  # seconds of accepted requests that estimate the quota at the first 429
    MAX_GAP = 10.0

    def __init__(
        self,
        *,
        ceiling: float = 64.0,
        default_pause: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = ceiling
        self.default_pause = default_pause
        self.limit: float | None = None  # requests in flight; None = not throttled
        self.gap = 0.0  # seconds between two requests; 0 = not spaced
        self.throttled = 0  # 429 answers seen
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self._resume_at = float("-inf")  # no request is sent before this (Retry-After)
        self._next_at = float("-inf")  # the earliest time of the next request while spaced
        self._cut_at = float("-inf")  # when the limit was last cut
        self._accepted: list[float] = []  # times of the latest successes
        self._waited = threading.local()  # .until: the pause this thread has already waited out

    def acquire(self) -> float:
        """Wait for this request's turn; returns when it is sent (give it to `on_throttled`). Pair with `release`."""
        with self._cond:
            while self.limit is not None and self._in_flight >= self.limit:
                self._cond.wait(timeout=0.5)
            self._in_flight += 1
            now = self._clock()
            start = now
            if self._resume_at > now and getattr(self._waited, "until", None) != self._resume_at:
                self._waited.until = self._resume_at
                start = self._resume_at
            if self.gap > 0:
                start = max(start, self._next_at)
                self._next_at = start + self.gap
        if start > now:
            self._sleep(start - now)
        return start

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def on_success(self) -> None:
        with self._cond:
            self._accepted.append(self._clock())
            if len(self._accepted) > 128:
                del self._accepted[:64]
            if self.gap > 0:
                self.gap *= 0.95
                if self.gap < 0.001:
                    self.gap = 0.0
            if self.limit is not None:
                self.limit += 1.0 / self.limit
                if self.limit >= self.ceiling:
                    self.limit = None
                self._cond.notify_all()

    def on_throttled(self, sent_at: float, retry_after: float | None) -> bool:
        """A 429 for a request sent at `sent_at`; True the first time in this run (say so once)."""
        with self._cond:
            now = self._clock()
            self.throttled += 1
            pause = retry_after if retry_after is not None else self.default_pause
            self._resume_at = max(self._resume_at, now + min(max(pause, 0.0), MAX_RETRY_AFTER))
            self._waited.until = self._resume_at  # the caller sleeps its Retry-After before retrying
            if self.limit is None:
                self.limit = max(1.0, self._in_flight / 2.0)
                accepted = sum(1 for t in self._accepted if t >= now - self.WINDOW)
                self.gap = max(self.gap, 1.0 / max(accepted, 1))
                self._cut_at = now
            elif sent_at > self._cut_at:  # sent under the current limits and still too much: cut again
                self.limit = max(1.0, self.limit / 2.0)
                self.gap = min(self.MAX_GAP, max(self.gap * 2.0, 0.01))
                self._cut_at = now
            return self.throttled == 1
