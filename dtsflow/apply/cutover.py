"""The cutover steps of apply: the lag gate, the delay check before a cutover's shutdown or switch, the switch.

Where a delay comes from: a one-click reverse pair's from `newRollbackCheck` (the service's delay check for the
pair), any other task's from `dynamicInfo.increment.delay` of a list started now (the shared poller's). Seconds,
read through `dtsflow.client.reverse`. All three steps are level-triggered: a switch reads the pair's direction
first and does nothing when it is already the wanted one, so a re-run after a crash neither switches twice nor
waits for what is already true.
"""

from __future__ import annotations

from collections.abc import Callable

from dtsflow.apply.guards import LevelChecks, StepFailure, TaskState, require_id
from dtsflow.apply.lag import show_delay
from dtsflow.apply.waits import StepWaiter
from dtsflow.client.protocol import DtsClient
from dtsflow.client.reverse import Direction
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.client.wire import switch_position
from dtsflow.errors import ApiError
from dtsflow.plan.model import Change, Step

SWITCH_CONFIRM_SECONDS = 60.0
"""How long a switch may take to show in the pair's directions (it is synchronous by our reading of the docs)."""


def _is_pair(change: Change) -> bool:
    return change.spec is not None and change.spec.reverse is not None


class CutoverSteps:
    def __init__(self, client: DtsClient, *, checks: LevelChecks, waiter: StepWaiter, clock: Callable[[], float]):
        self._client = client
        self._checks = checks
        self._waiter = waiter
        self._clock = clock

    def delay(self, change: Change, state: TaskState) -> float | None:
        """The task's replication delay now, in seconds; None when it shows none (not running, still loading)."""
        dts_id = require_id(state, change.task)
        live = self._checks.read_live(state)
        if live is None or live.status not in RUNNING_STATUSES or live.loading:
            return None
        if not _is_pair(change):
            return live.delay
        try:
            return self._client.rollback_delay(dts_id)
        except ApiError as exc:
            raise StepFailure(f"cannot read the pair's delay: {exc}", status=state.status) from None

    def wait_lag(self, change: Change, step: Step, state: TaskState) -> str:
        """Wait until the delay is at most the gate (`step.max_delay`)."""
        require_id(state, change.task)
        return self._waiter.wait_lag(
            change.task, step, lambda: self.delay(change, state), lambda: self._checks.interrupted
        )

    def guard(self, change: Change, step: Step, state: TaskState) -> None:
        """A cutover's shutdown or switch: refused while the delay is above the gate (the plan's --force leaves
        `max_delay` unset). A delay the service does not show does not block."""
        if step.max_delay is None:
            return
        delay = self.delay(change, state)
        if delay is not None and delay > step.max_delay:
            raise StepFailure(
                f"refusing the cutover: the replication delay is {show_delay(delay)}, above the gate "
                f"{show_delay(step.max_delay)}; wait for it (dtsflow status --wait-lag {step.max_delay:g}s) and apply "
                "again, or plan with --force",
                status=state.status,
            )

    def switch(self, change: Change, step: Step, state: TaskState) -> str:
        """Switch the pair to `step.direction` unless it already replicates that way, then confirm it."""
        dts_id = require_id(state, change.task)
        if step.direction is None or change.spec is None:
            raise StepFailure("the plan names no direction to switch to")
        wanted = Direction(step.direction)
        live = self._checks.read_live(state)
        if live is None:
            raise StepFailure("the pair no longer exists", status=state.status)
        if live.direction is wanted:
            return f"already {wanted}"
        if live.status not in step.expect:
            raise StepFailure(f"{state.found()}; switch needs it in {', '.join(step.expect)}", status=state.status)
        self.guard(change, step, state)
        try:
            self._client.switch(dts_id, switch_position(change.spec))
        except ApiError as exc:
            # The answer may have been lost after the switch landed: the direction says.
            live = self._checks.read_live(state)
            if live is not None and live.direction is wanted:
                return f"already {wanted} ({exc.code or 'no answer'} from switch)"
            raise StepFailure(f"{exc}; {state.found()}", status=state.status) from None
        state.mutated_at = self._clock()
        deadline = self._clock() + SWITCH_CONFIRM_SECONDS
        while True:
            live = self._checks.read_live(state)
            if live is not None and live.direction is wanted:
                return f"now {wanted}"
            if self._clock() >= deadline or self._checks.pause(0.1):
                seen = live.direction if live is not None else "gone"
                raise StepFailure(f"the switch was accepted but the pair still reads {seen}", status=state.status)
