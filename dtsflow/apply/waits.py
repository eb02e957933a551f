"""Waiting for an asynchronous step's outcome through the shared `Poller`, with the step's timeout, the
run's `--timeout` deadline, progress events, and the outcome turned into the task's state or a failure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import assert_never

from dtsflow.apply.events import Event, StepPolled, StepWaiting
from dtsflow.apply.guards import Interrupted, StepFailure, TaskState
from dtsflow.apply.lag import LagOutcome, show_delay, wait_for_lag
from dtsflow.apply.poller import Poller, WaitOutcome, WaitResult
from dtsflow.client.live import LiveTask, TaskStatus
from dtsflow.client.statuses import describe_statuses
from dtsflow.clock import Clock
from dtsflow.manifest.grammar import format_duration
from dtsflow.plan.model import Step

STALE_CHECKFAILED_GRACE = 2.0
"""After a precheck call from `checkFailed`, an unchanged `checkFailed` seen within this time may be the old
result (the service flips to `checking` asynchronously); it is trusted only after this grace period."""

HEARTBEAT_SECONDS = 30.0
"""A wait says it is still waiting this often (`StepWaiting`), also when nothing changed: output that stays silent
for minutes looks hung in a CI log (and some CI systems kill a job that prints nothing for a while)."""

PROGRESS_STATUSES = frozenset({TaskStatus.RUNNING, TaskStatus.FINISHED})
"""Statuses in which `dynamicInfo.base` says something about the load (not during a precheck)."""


class StepWaiter:
    def __init__(
        self,
        poller: Poller,
        clock: Clock,
        emit: Callable[[Event], None],
        deadline: float | None,
    ) -> None:
        self._poller = poller
        self._time = clock  # the lag gate pauses between readings on it: a ManualClock's sleep takes no real time
        self._clock = clock.monotonic
        self._emit = emit
        self._deadline = deadline

    def wait(
        self,
        task: str,
        step: Step,
        state: TaskState,
        targets: frozenset[str],
        stops: frozenset[str],
        *,
        stale: str | None = None,
    ) -> str:
        """Block until the task reaches `targets` (returns the status); StepFailure on `stops`, a move
        elsewhere, a timeout or failing lists; Interrupted on Ctrl-C. `stale`: see STALE_CHECKFAILED_GRACE."""
        assert state.dts_id is not None
        limit = step.timeout_seconds or step.default_timeout_seconds
        timeout = limit
        if self._deadline is not None and self._deadline - self._clock() < limit:
            timeout = self._deadline - self._clock()
            limit_text = "timed out at the --timeout deadline"
        else:
            source = " (precheck.timeout)" if step.timeout_seconds else ""
            limit_text = f"timed out after {format_duration(limit)}{source}"
        began = self._clock()
        grace_until = began + STALE_CHECKFAILED_GRACE
        last_shown: tuple[str, float | None] | None = None  # events only when status or progress changed
        # Name what the step waits for, not every status beyond it that would also do.
        wanted = describe_statuses(step.wait_for or targets)
        heartbeat = _Heartbeat(task, step.kind.value, wanted, began, self._clock, self._emit)

        def on_poll(live: LiveTask | None, status: str) -> None:
            nonlocal last_shown
            heartbeat.beat()
            percent = live.base_percent if live and status in PROGRESS_STATUSES else None
            if (status, percent) != last_shown:
                last_shown = (status, percent)
                self._emit(
                    StepPolled(
                        task=task,
                        step=step.kind.value,
                        status=status,
                        base_percent=percent,
                        elapsed=round(self._clock() - began, 3),
                    )
                )

        while True:
            result = self._poller.wait(
                state.dts_id,
                targets=targets,
                stops=stops,
                timeout=max(timeout - (self._clock() - began), 0.0),
                on_poll=on_poll,
                tolerate=step.sits_through,
                kind=step.kind.value,
            )
            if (
                stale is not None
                and result.status == stale
                and result.outcome in (WaitOutcome.REACHED, WaitOutcome.FAILED)
                and self._clock() < grace_until
            ):
                continue  # possibly the result from before our call; look again
            break
        return _settle(result, state, f"{limit_text} waiting for {wanted}")

    def wait_lag(
        self,
        task: str,
        step: Step,
        read_delay: Callable[[], float | None],
        interrupted: Callable[[], bool],
    ) -> str:
        """The lag gate: read the delay on the poll schedule until it is at most `step.max_delay`, showing each
        reading (StepPolled with `delay`); StepFailure at the step's timeout or the --timeout deadline."""
        gate = step.max_delay if step.max_delay is not None else 0.0
        limit = step.timeout_seconds or step.default_timeout_seconds
        timeout, limit_text = limit, f"timed out after {format_duration(limit)}"
        if self._deadline is not None and self._deadline - self._clock() < limit:
            timeout, limit_text = max(self._deadline - self._clock(), 0.0), "timed out at the --timeout deadline"
        shown: list[float | None] = []
        wanted = f"a replication delay of at most {show_delay(gate)}"
        heartbeat = _Heartbeat(task, step.kind.value, wanted, self._clock(), self._clock, self._emit)

        def on_reading(delays: Mapping[str, float | None], elapsed: float) -> None:
            heartbeat.beat()
            delay = delays[task]
            if shown[-1:] != [delay]:
                shown.append(delay)
                self._emit(
                    StepPolled(
                        task=task, step=step.kind.value, status="running", delay=delay, elapsed=round(elapsed, 3)
                    )
                )

        result = wait_for_lag(
            lambda: {task: read_delay()},
            gate=gate,
            timeout=timeout,
            clock=self._clock,
            sleep=self._time.sleep,
            on_reading=on_reading,
            interrupted=interrupted,
            policy=self._poller.policy,
        )
        delay = result.delays.get(task)
        match result.outcome:
            case LagOutcome.REACHED:
                return f"delay {show_delay(delay)}, at most {show_delay(gate)}"
            case LagOutcome.INTERRUPTED:
                raise Interrupted()
            case LagOutcome.TIMEOUT:
                raise StepFailure(
                    f"{limit_text} waiting for a replication delay of at most {show_delay(gate)}; "
                    f"last delay {show_delay(delay)}"
                )
            case _:
                assert_never(result.outcome)


class _Heartbeat:
    """Emits `StepWaiting` when a look at the task comes `HEARTBEAT_SECONDS` or more after the last one (or the
    wait's start); the looks come at least every poll cap (5 s), so a beat is at most that late."""

    def __init__(
        self,
        task: str,
        step: str,
        waiting_for: str,
        began: float,
        clock: Callable[[], float],
        emit: Callable[[Event], None],
    ) -> None:
        self._task, self._step, self._waiting_for = task, step, waiting_for
        self._began = began
        self._next = began + HEARTBEAT_SECONDS
        self._clock = clock
        self._emit = emit

    def beat(self) -> None:
        now = self._clock()
        if now < self._next:
            return
        while self._next <= now:  # the next mark of the wait's own 30 s grid: late looks do not add up
            self._next += HEARTBEAT_SECONDS
        self._emit(
            StepWaiting(
                task=self._task, step=self._step, waiting_for=self._waiting_for, elapsed=round(now - self._began, 3)
            )
        )


def _settle(result: WaitResult, state: TaskState, timed_out: str) -> str:
    if result.live is not None:
        state.errmsg = result.live.errmsg
    match result.outcome:
        case WaitOutcome.REACHED:
            state.status = result.status
            state.mutated_at = float("-inf")
            return result.status or ""
        case WaitOutcome.FAILED:
            state.status = result.status
            detail = f": {result.message}" if result.message else ""
            raise StepFailure(f"the task went to {result.status}{detail}", status=result.status)
        case WaitOutcome.TIMEOUT:
            state.status = result.status
            raise StepFailure(f"{timed_out}; last status {result.status or 'unknown'}", status=result.status)
        case WaitOutcome.INTERRUPTED:
            raise Interrupted()
        case WaitOutcome.ERROR:
            raise StepFailure(result.message)
        case _:
            assert_never(result.outcome)
