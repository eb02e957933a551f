"""Waiting for an asynchronous step's outcome through the shared `Poller`, with the step's timeout, the
run's `--timeout` deadline, progress events, and the outcome turned into the task's state or a failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from dtsflow.events import Event, StepPolled
from dtsflow.levels import Interrupted, StepFailure, TaskState, tolerated
from dtsflow.live import LiveTask, TaskStatus
from dtsflow.plan import Step, StepKind
from dtsflow.progress import base_percent
from dtsflow.waiter import Poller, WaitOutcome, WaitResult

DEFAULT_WAIT_SECONDS: dict[StepKind, float] = {
    StepKind.PRECHECK: 15 * 60,  # the manifest's precheck.timeout overrides (step.timeout_seconds)
    StepKind.SKIP_PRECHECK: 15 * 60,
    StepKind.START: 30 * 60,
    StepKind.PAUSE: 10 * 60,
    StepKind.SHUTDOWN: 10 * 60,
    StepKind.DELETE: 20 * 60,
}
DEFAULT_WAIT_OTHER = 10 * 60

STALE_CHECKFAILED_GRACE = 2.0
"""After a precheck call from `checkFailed`, an unchanged `checkFailed` seen within this time may be the old
result (the service flips to `checking` asynchronously); it is trusted only after this grace period."""

PROGRESS_STATUSES = frozenset({TaskStatus.RUNNING, TaskStatus.FINISHED})
"""Statuses in which `dynamicInfo.base` says something about the load (not during a precheck)."""


class StepWaiter:
    def __init__(
        self,
        poller: Poller,
        clock: Callable[[], float],
        emit: Callable[[Event], None],
        deadline: float | None,
    ) -> None:
        self._poller = poller
        self._clock = clock
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
        limit = step.timeout_seconds or DEFAULT_WAIT_SECONDS.get(step.kind, DEFAULT_WAIT_OTHER)
        timeout = limit
        if self._deadline is not None and self._deadline - self._clock() < limit:
            timeout = self._deadline - self._clock()
            limit_text = "timed out at the --timeout deadline"
        else:
            source = " (precheck.timeout)" if step.timeout_seconds else ""
            limit_text = f"timed out after {_duration(limit)}{source}"
        began = self._clock()
        grace_until = began + STALE_CHECKFAILED_GRACE
        last_shown: tuple[str, float | None] | None = None  # events only when status or progress changed

        def on_poll(live: LiveTask | None, status: str) -> None:
            nonlocal last_shown
            percent = base_percent(live) if live and status in PROGRESS_STATUSES else None
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
                tolerate=tolerated(step),
            )
            if (
                stale is not None
                and result.status == stale
                and result.outcome in (WaitOutcome.REACHED, WaitOutcome.FAILED)
                and self._clock() < grace_until
            ):
                continue  # possibly the result from before our call; look again
            break
        # Name what the step waits for, not every status beyond it that would also do.
        wanted = " or ".join(sorted(step.wait_for) or sorted(targets))
        return _settle(result, state, f"{limit_text} waiting for {wanted}")


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


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
