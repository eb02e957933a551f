"""The poll schedule counted, not timed: the shared poller runs against a scripted list whose tasks finish at
known clock times, and a `ManualClock` is moved from one wake-up to the next (`run_to_next_deadline`), so the
number of list calls and how late each wait saw its task finish are exact and need no real sleeping."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dtsflow.apply.poller import Estimate, Poller, PollPolicy, WaitOutcome
from dtsflow.client.live import LiveTask
from dtsflow.clock import ManualClock

POLICY = PollPolicy()  # the defaults: floor 0.05 s, 10% of the time waited, cap 5 s, precision 3%, tail 0.01 s


class FinishingTasks:
    """A DtsClient whose list shows each task `checking` until its finish time on the clock, then `checkPass`."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.done_at: dict[str, float] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def finish_in(self, dts_id: str, seconds: float) -> float:
        with self._lock:
            self.done_at[dts_id] = self.clock.monotonic() + seconds
            return self.done_at[dts_id]

    def list_tasks(self, *, status: str | None = None, page_size: int = 1000) -> list[LiveTask]:
        now = self.clock.monotonic()
        with self._lock:
            self.calls += 1
            done = dict(self.done_at)
        return [
            LiveTask.model_validate({"dtsId": i, "status": "checkPass" if now >= at else "checking"})
            for i, at in done.items()
        ]

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the poller called {name}")


def run_workers(clock: ManualClock, workers: list[Callable[[], None]]) -> None:
    """Run each worker in a thread; move the clock to the next wake-up whenever every thread waits on it."""
    threads = [threading.Thread(target=work) for work in workers]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        alive = sum(t.is_alive() for t in threads)
        try:
            clock.run_to_next_deadline(alive + 1, timeout=0.2)  # the workers and the poll thread
        except TimeoutError:
            continue  # a worker finished meanwhile: count again
    for thread in threads:
        thread.join()


def sequential_waits(
    poller: Poller, tasks: FinishingTasks, dts_id: str, durations: list[float], record: list[tuple[float, int]]
) -> Callable[[]]:
    """A worker that waits for `dts_id` to finish, once per duration: records (lateness, list calls) per wait."""

    def work() -> None:
        for seconds in durations:
            calls = tasks.calls
            done_at = tasks.finish_in(dts_id, seconds)
            result = poller.wait(dts_id, targets={"checkPass"}, timeout=600, kind="precheck")
            assert result.outcome is WaitOutcome.REACHED
            record.append((tasks.clock.monotonic() - done_at, tasks.calls - calls))

    return work


def test_an_unknown_kind_is_polled_at_a_tenth_of_the_time_waited() -> None:
    assert POLICY.next_look(0.0, None) == pytest.approx(0.05)
    assert POLICY.next_look(3.0, None) == pytest.approx(3.3)
    assert POLICY.next_look(100.0, None) == pytest.approx(105.0)


def test_a_known_kind_is_looked_at_in_the_middle_of_its_estimate_then_at_its_end_then_geometrically() -> None:
    wide = Estimate(lo=2.0, hi=3.2)
    assert POLICY.next_look(0.0, wide) == pytest.approx(2.6)  # the middle: a bisection over the run's waits
    assert 2.6 < POLICY.next_look(2.6, wide) <= 3.2  # too early: close in on the end in small steps
    assert POLICY.next_look(3.2, wide) == pytest.approx(3.52)  # slower than every earlier one: 10% again
    narrow = Estimate(lo=2.95, hi=3.0)
    assert POLICY.next_look(0.0, narrow) == pytest.approx(3.0)  # narrow: straight at the predicted finish
    assert POLICY.next_look(0.0, Estimate(lo=50.0, hi=60.0)) == pytest.approx(5.0)  # never beyond the cap


def test_an_estimate_narrows_with_each_wait_and_starts_over_when_a_task_is_slower_than_all_before() -> None:
    estimate = Estimate(lo=2.0, hi=3.2).learn(2.6, 3.2)
    assert estimate == Estimate(lo=2.6, hi=3.2)
    assert estimate.learn(2.9, 3.0) == Estimate(lo=2.9, hi=3.0)
    assert estimate.learn(4.0, 4.4) == Estimate(lo=4.0, hi=4.4)  # not done at 4.0 > 3.2: the old one is wrong
    assert Estimate(lo=2.9, hi=3.0).learn(1.0, 1.5) == Estimate(lo=1.0, hi=1.5)  # faster than lo: start over


@pytest.mark.parametrize("seconds", [0.3, 3.0, 30.0])
def test_after_the_first_wait_each_wait_costs_about_one_list_call_and_is_at_most_3_percent_late(
    seconds: float,
) -> None:
    clock = ManualClock(start=0.0)
    tasks = FinishingTasks(clock)
    record: list[tuple[float, int]] = []
    with Poller(tasks, policy=POLICY, clock=clock) as poller:  # type: ignore[arg-type]
        run_workers(clock, [sequential_waits(poller, tasks, "dts-1", [seconds] * 10, record)])
    first_late, first_calls = record[0]
    assert first_late <= 0.1 * seconds + 1e-9  # unknown: a tenth of the time waited at most
    later = record[1:]
    assert all(late <= 0.1 * seconds + 1e-9 for late, _ in later), record  # never later than an unknown kind
    # Once the estimate is narrow: at most 3% late, with one list call at the predicted finish (and one every
    # `cap` seconds before it, in case this task is much faster than the earlier ones).
    converged = record[-5:]
    assert all(late <= POLICY.precision * seconds + 1e-9 for late, _ in converged), record
    assert all(calls <= max(1, math.ceil(seconds / POLICY.cap)) for _, calls in converged), record
    # Against the geometric schedule alone (6, 29, 53 list calls for a wait of 0.3, 3, 30 s):
    assert sum(calls for _, calls in later) < len(later) * first_calls / 3


def test_one_list_call_serves_every_task_waiting_for_the_same_finish() -> None:
    clock = ManualClock(start=0.0)
    tasks = FinishingTasks(clock)
    records: list[list[tuple[float, int]]] = [[] for _ in range(10)]
    with Poller(tasks, policy=POLICY, clock=clock) as poller:  # type: ignore[arg-type]
        workers = [sequential_waits(poller, tasks, f"dts-{i}", [3.0] * 5, records[i]) for i in range(10)]
        run_workers(clock, workers)
        polls = poller.polls
    # Ten tasks waiting together cost what one costs: the first wave learns, each later one looks once.
    assert tasks.calls == polls
    single = FinishingTasks(ManualClock(start=0.0))
    alone: list[tuple[float, int]] = []
    with Poller(single, policy=POLICY, clock=single.clock) as poller:  # type: ignore[arg-type]
        run_workers(single.clock, [sequential_waits(poller, single, "dts-0", [3.0] * 5, alone)])
    assert tasks.calls == single.calls
    assert all(late <= 0.1 * 3.0 + 1e-9 for record in records for late, _ in record)


def test_a_task_slower_than_the_estimate_falls_back_to_the_geometric_schedule_and_relearns() -> None:
    clock = ManualClock(start=0.0)
    tasks = FinishingTasks(clock)
    record: list[tuple[float, int]] = []
    with Poller(tasks, policy=POLICY, clock=clock) as poller:  # type: ignore[arg-type]
        run_workers(clock, [sequential_waits(poller, tasks, "dts-1", [3.0] * 4 + [6.0] * 4, record)])
        slower = poller.estimates["precheck"]
    late, _ = record[4]
    assert late <= 0.1 * 6.0 + 1e-9  # the first slower one: a tenth of the time waited at most
    assert slower.lo >= 3.0 and slower.hi >= 6.0
    assert all(late <= POLICY.precision * 6.0 + 1e-9 for late, _ in record[5:])


def test_a_wait_times_out_on_the_manual_clock_without_real_sleeping() -> None:
    clock = ManualClock(start=0.0)
    tasks = FinishingTasks(clock)
    tasks.finish_in("dts-1", 1000.0)
    results: list[WaitOutcome] = []
    with Poller(tasks, policy=POLICY, clock=clock) as poller:  # type: ignore[arg-type]

        def work() -> None:
            results.append(poller.wait("dts-1", targets={"checkPass"}, timeout=120, kind="precheck").outcome)

        run_workers(clock, [work])
    assert results == [WaitOutcome.TIMEOUT]
    assert clock.monotonic() == pytest.approx(120.0)
    looks, at = 0, POLICY.next_look(0.0, None)
    while at <= 120.0:
        looks, at = looks + 1, POLICY.next_look(at, None)
    assert abs(tasks.calls - looks) <= 1  # exactly the schedule (72 looks), not more


def apply_waves(policy: PollPolicy, *, tasks: int, workers: int, seconds: float, latency: float) -> tuple[float, int]:
    """A simulated apply on the manual clock: `workers` threads take `tasks` tasks each through create, config and
    precheck (a request of `latency` each, the workers a few ms apart), a precheck of `seconds`, a start (running at
    once) and its wait. Returns (time / the service-side critical path, list calls)."""
    clock = ManualClock(start=0.0)
    lists = FinishingTasks(clock)
    queue = list(range(tasks))
    lock = threading.Lock()

    def pause(seconds: float) -> None:  # a request's latency, on the manual clock
        cond = threading.Condition()
        until = clock.monotonic() + seconds
        with cond:
            while clock.monotonic() < until:
                clock.wait_until(cond, until)

    with Poller(lists, policy=policy, clock=clock) as poller:  # type: ignore[arg-type]

        def worker(offset: float) -> Callable[[], None]:
            def work() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        dts_id = f"dts-{queue.pop(0)}"
                    pause(3 * latency + offset)  # create, config, precheck
                    lists.finish_in(dts_id, seconds)
                    assert poller.wait(dts_id, targets={"checkPass"}, timeout=600, kind="precheck").outcome is (
                        WaitOutcome.REACHED
                    )
                    pause(latency)  # start: the task shows its target at once
                    assert poller.wait(dts_id, targets={"checkPass"}, timeout=600, kind="start").outcome is (
                        WaitOutcome.REACHED
                    )
                    pause(latency)

            return work

        run_workers(clock, [worker(0.003 * i) for i in range(workers)])
    waves = math.ceil(tasks / workers)
    return clock.monotonic() / (latency + waves * (seconds + 6 * latency)), lists.calls


def test_one_list_call_gathers_the_waits_that_want_one_within_20_ms() -> None:
    """Ten workers a few ms apart each want their own look; gathering those within 20 ms into one call cuts the
    list calls by more than half, and keeps the apply within 1.15x of the service-side path."""
    alone = apply_waves(PollPolicy(gather=0.0), tasks=40, workers=10, seconds=0.3, latency=0.02)
    gathered = apply_waves(POLICY, tasks=40, workers=10, seconds=0.3, latency=0.02)
    assert POLICY.gather == 0.02
    assert gathered[1] * 2 < alone[1], (gathered, alone)
    assert gathered[0] <= 1.15, gathered
