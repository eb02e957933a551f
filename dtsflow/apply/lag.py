"""Waiting for replication delays to fall to a gate: apply's lag-gate step and `dtsflow status --wait-lag`.

A reading is the delay of each watched task in seconds (None: the service shows none yet, e.g. still loading);
the wait ends when every delay is known and at most the gate, or when the time is up. Readings are taken on the
poll schedule (`PollPolicy`: soon at first, then further apart as the wait goes on, up to its cap), and each one is passed to `on_reading`
so that people see the delay fall. Where the delay comes from is the caller's `read` (the shared list for a
plain task, `newRollbackCheck` for a one-click reverse pair).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from dtsflow.apply.poller import PollPolicy

Delays = Mapping[str, float | None]
SLICE = 0.2
"""Longest single sleep, so that an interruption is noticed promptly whatever the poll interval."""


class LagOutcome(StrEnum):
    REACHED = "reached"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class LagResult:
    outcome: LagOutcome
    delays: dict[str, float | None]
    elapsed: float


def below(delays: Delays, gate: float) -> bool:
    """Every delay known and at most `gate`."""
    return all(d is not None and d <= gate for d in delays.values())


def wait_for_lag(
    read: Callable[[], Delays],
    *,
    gate: float,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_reading: Callable[[Delays, float], None] = lambda delays, elapsed: None,
    interrupted: Callable[[], bool] = lambda: False,
    policy: PollPolicy | None = None,
) -> LagResult:
    """Read until every delay is at most `gate` seconds, `timeout` seconds passed, or `interrupted()`.

    `read` may raise (an API error): the caller decides whether that ends the wait."""
    schedule = policy or PollPolicy.from_env()
    began = clock()
    while True:
        delays = dict(read())
        elapsed = clock() - began
        on_reading(delays, elapsed)
        if below(delays, gate):
            return LagResult(LagOutcome.REACHED, delays, elapsed)
        remaining = timeout - elapsed
        if remaining <= 0:
            return LagResult(LagOutcome.TIMEOUT, delays, elapsed)
        pause = min(schedule.gap(elapsed), remaining)
        while pause > 0:
            if interrupted():
                return LagResult(LagOutcome.INTERRUPTED, delays, clock() - began)
            step = min(pause, SLICE)
            sleep(step)
            pause -= step


def show_delay(delay: float | None) -> str:
    return "-" if delay is None else f"{delay:g}s"
