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
    (a server cap with a small burst is never tripped by a client-side burst).
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until one request may go; returns the time waited (for tests)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0  # reserve now; a negative level is the queue of waiters ahead
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait
