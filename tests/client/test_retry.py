"""Backoff math, Retry-After parsing, the retry budget and the rate limiter, with injected RNG and clock."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from dtsflow.client.retry import (
    MAX_RETRY_AFTER,
    AdaptiveThrottle,
    Backoff,
    RateLimiter,
    RetryBudget,
    is_retryable,
    parse_retry_after,
)
from dtsflow.clock import ManualClock
from dtsflow.errors import ApiError


def test_backoff_ceilings_double_from_300ms_and_cap_at_20s() -> None:
    backoff = Backoff()
    assert [backoff.ceiling(n) for n in range(9)] == [0.3, 0.6, 1.2, 2.4, 4.8, 9.6, 19.2, 20.0, 20.0]
    assert backoff.ceiling(10_000) == 20.0  # no overflow for absurd retry numbers


def test_full_jitter_is_uniform_below_the_ceiling() -> None:
    backoff = Backoff()
    rng = random.Random(7)
    for retry in range(6):
        delays = [backoff.delay(retry, rng) for _ in range(2000)]
        ceiling = backoff.ceiling(retry)
        assert all(0.0 <= d <= ceiling for d in delays)
        mean = sum(delays) / len(delays)
        assert abs(mean - ceiling / 2) < ceiling * 0.05  # full jitter: mean is half the ceiling
        assert min(delays) < ceiling * 0.05 and max(delays) > ceiling * 0.95


def test_delay_uses_the_rng_it_is_given() -> None:
    backoff = Backoff()
    expected = random.Random(42).uniform(0.0, 1.2)
    assert backoff.delay(2, random.Random(42)) == expected


def test_retry_after_wins_and_is_capped() -> None:
    backoff = Backoff()
    rng = random.Random(1)
    assert backoff.delay(0, rng, retry_after=2.5) == 2.5
    assert backoff.delay(0, rng, retry_after=0.0) == 0.0
    assert backoff.delay(0, rng, retry_after=3600.0) == MAX_RETRY_AFTER


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0.5 ", now) == 0.5
    assert parse_retry_after("-4", now) == 0.0
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now) == pytest.approx(7.0)
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after("soon", now) is None


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (0, "ConnectionError", True),
        (0, "Timeout", True),
        (429, "TooManyRequests", True),
        (500, "InternalError", True),
        (502, "BadGateway", True),
        (503, "ServiceUnavailable", True),
        (504, "GatewayTimeout", True),
        (400, "RequestExpired", True),
        (403, "RequestExpired", True),
        (400, "InvalidHTTPRequest", False),
        (400, "SignatureDoesNotMatch", False),
        (403, "AccessDenied", False),
        (404, "NotFound", False),
        (409, "InvalidInstanceStatus", False),
        (412, "PreconditionFailed", False),
        (501, "NotImplemented", False),
        (200, "MalformedResponse", False),
    ],
)
def test_what_is_retried(status: int, code: str, retryable: bool) -> None:
    assert is_retryable(ApiError(status, code, "m")) is retryable


def test_budget_costs_and_refunds() -> None:
    budget = RetryBudget()
    assert budget.level == 500
    assert budget.acquire(after_timeout=False) == 5
    assert budget.acquire(after_timeout=True) == 10
    assert budget.level == 485
    budget.on_success(15)  # a success after retries gives back what they took
    assert budget.level == 500
    budget.on_success(0)  # a success without retries refunds 1, never above capacity
    assert budget.level == 500
    assert budget.acquire(after_timeout=False) == 5
    budget.on_success(0)
    assert budget.level == 496


def test_empty_budget_refuses_retries() -> None:
    budget = RetryBudget(capacity=12)
    assert budget.acquire(after_timeout=False) == 5
    assert budget.acquire(after_timeout=True) is None  # 7 left, a timeout retry costs 10
    assert budget.acquire(after_timeout=False) == 5
    assert budget.acquire(after_timeout=False) is None
    assert budget.level == 2


def test_budget_is_thread_safe() -> None:
    budget = RetryBudget(capacity=500)
    taken: list[int | None] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            got = budget.acquire(after_timeout=False)
            with lock:
                taken.append(got)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(1 for t in taken if t) == 100  # exactly 500 / 5 retries were granted among 400 asks
    assert budget.level == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def released_at(limiter: RateLimiter, clock: ManualClock, requests: int, queued: int) -> list[float]:
    """The clock times at which `requests` threads, all asking at once, were let go: `queued` of them wait for
    a slot, and the clock is stepped from one slot to the next (no real sleeping), each step once the thread it
    let go has noted the time."""
    times: list[float] = []
    noted = threading.Condition()

    def one() -> None:
        limiter.acquire()
        with noted:
            times.append(clock.monotonic())
            noted.notify_all()

    threads = [threading.Thread(target=one) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for waiting in range(queued, 0, -1):
        with noted:
            assert noted.wait_for(lambda done=requests - waiting: len(times) == done, 10)
        clock.run_to_next_deadline(waiting)  # the earliest slot comes: exactly one thread goes
    for thread in threads:
        thread.join(10)
    return sorted(times)


def test_rate_limiter_spaces_requests_on_the_clock() -> None:
    clock = ManualClock(start=0)
    limiter = RateLimiter(2.0, burst=2, clock=clock)
    # 6 requests at 2/s with a burst of 2: two at once, then one every 0.5 s of clock time
    assert released_at(limiter, clock, 6, queued=4) == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])


def test_rate_limiter_default_spaces_evenly() -> None:
    clock = ManualClock(start=0)
    limiter = RateLimiter(4.0, clock=clock)
    assert released_at(limiter, clock, 4, queued=3) == pytest.approx([0.0, 0.25, 0.5, 0.75])


def test_rate_limiter_lets_no_request_go_before_its_slot() -> None:
    clock = ManualClock(start=0)
    limiter = RateLimiter(1.0, clock=clock)
    limiter.acquire()
    second = threading.Thread(target=limiter.acquire)
    second.start()
    clock.settle(1)
    clock.advance(0.999)  # not yet: the thread looks at the clock and waits again
    clock.settle(1)
    assert second.is_alive() and clock.next_deadline() == pytest.approx(1.0)
    clock.advance(0.001)
    second.join(10)
    assert not second.is_alive()


def test_rate_limiter_refills_while_idle() -> None:
    clock = ManualClock(start=0)
    limiter = RateLimiter(1.0, clock=clock)
    assert limiter.acquire() == 0.0
    clock.advance(5.0)
    assert limiter.acquire() == 0.0  # refilled, but only to the burst of 1
    assert released_at(limiter, clock, 1, queued=1) == pytest.approx([6.0])


def test_rate_limiter_rejects_nonpositive_rates() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_adaptive_throttle_pauses_everyone_and_halves_the_requests_in_flight() -> None:
    now = [100.0]
    slept: list[float] = []
    throttle = AdaptiveThrottle(clock=lambda: now[0], sleep=slept.append)
    sent = [throttle.acquire() for _ in range(8)]  # eight requests in flight, unthrottled
    assert throttle.limit is None and slept == []
    assert throttle.on_throttled(sent[0], retry_after=2.0) is True  # the first 429 of the run: say so
    assert throttle.limit == 4.0 and throttle.gap == 1.0  # nothing accepted in the last second: 1 request/s
    assert throttle.on_throttled(sent[1], retry_after=2.0) is False  # sent before the cut: no second cut
    assert throttle.limit == 4.0
    for _ in range(8):
        throttle.release()
    other: list[float] = []
    thread = threading.Thread(target=lambda: other.append(throttle.acquire()))
    thread.start()
    thread.join()
    assert other == [102.0] and slept == [2.0]  # another thread waits out the Retry-After
    throttle.release()
    now[0] = 103.0
    again = throttle.acquire()
    throttle.release()
    throttle.on_throttled(again, retry_after=None)  # sent under the limit and throttled again: halve
    assert throttle.limit == 2.0 and throttle.gap == 2.0  # spaced twice as far apart
    throttle.on_success()
    assert throttle.gap == 2.0 * 0.95
    assert throttle.limit == 2.5  # about one more per round of requests
    for _ in range(3000):
        throttle.on_success()
    assert throttle.limit is None  # lifted once the service keeps saying yes
