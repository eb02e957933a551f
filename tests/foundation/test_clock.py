"""The manual clock's discrete-event stepping keeps exact time whatever wall time it starts at."""

from __future__ import annotations

import threading

from dtsflow.clock import ManualClock


def _waiter(clock: ManualClock, deadline: float, woke: list[float]) -> threading.Thread:
    cond = threading.Condition()

    def run() -> None:
        with cond:
            while clock.monotonic() < deadline:
                clock.wait_until(cond, deadline)
        woke.append(clock.monotonic())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_stepping_to_a_deadline_wakes_the_waiter_at_todays_wall_time() -> None:
    """Started at the current epoch (the default), monotonic time was `now - start` of two numbers near 1.7e9: an
    advance by a small remainder was lost to rounding, the waiter never saw its deadline, and the step hung."""
    clock = ManualClock()  # starts at today's wall time
    woke: list[float] = []
    deadlines = [0.1, 0.1 + 1e-9, 0.30000000000000004, 7.25]
    for deadline in deadlines:
        thread = _waiter(clock, deadline, woke)
        assert clock.run_to_next_deadline(1, timeout=5) >= deadline
        thread.join(timeout=5)
        assert not thread.is_alive(), f"the waiter for {deadline} s never woke"
    assert woke == sorted(woke) and all(w >= d for w, d in zip(woke, deadlines, strict=True))


def test_wall_time_moves_with_monotonic_time() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    clock.advance(2.5)
    assert clock.monotonic() == 2.5 and clock.now() == 1_700_000_002.5
