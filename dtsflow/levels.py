"""Level-triggered checks around one step's API call: is the task where the step expects it, and after a
failed call, did the step's goal land anyway?

- Before the call, the task's status (from the newest shared list snapshot taken after our last call to it,
  or the plan's live status for the first step) must be in `step.expect`. A task already at the step's goal
  (or beyond it) is a success without a call; one in the step's own transition is only waited for; anything
  else is re-read once and then fails with what was found. Right after a synchronous call of ours nothing
  newer is known and the call is made without a read: the service enforces its own allowed-from rules.
- After a failed call, the task is re-read: already at the goal is a success; in the step's transition, or
  moved on after an ambiguous answer (none, or 5xx), means the call landed and the step waits as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dtsflow.errors import ApiError
from dtsflow.events import PrecheckFailure
from dtsflow.live import TaskStatus
from dtsflow.plan import Step, StepKind
from dtsflow.statuses import RUNNING_STATUSES
from dtsflow.transitions import STARTED_STATUSES, TRANSIENT_STATUSES, UNDERWAY
from dtsflow.waiter import ABSENT, Poller

UNDERWAY_NOTE = "already underway"

STARTED = STARTED_STATUSES | {TaskStatus.FINISHED}
"""Statuses of a task that has been started at least once (a finished one included)."""
BEYOND: dict[StepKind, frozenset[str]] = {
    StepKind.PRECHECK: STARTED,
    StepKind.SKIP_PRECHECK: STARTED,
}
"""Statuses that mean the step's goal was passed already (a task that has started was prechecked): success."""


class StepFailure(Exception):
    def __init__(self, message: str, status: str | None = None, checks: list[PrecheckFailure] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.checks = checks or []


class Interrupted(Exception):
    """Ctrl-C arrived while a step waited; no further step of the task runs."""


@dataclass
class TaskState:
    """What a task's worker knows about its task."""

    dts_id: str | None
    status: str | None  # None: unknown (right after a synchronous call of ours)
    mutated_at: float  # clock time of our last call that may have changed the task
    fresh_create: bool = False  # the id came from a create in this run (a token may have answered an old id)
    regenerated: bool = False
    errmsg: str = ""  # the task's errmsg as last seen by a wait or a re-read

    def found(self) -> str:
        """What a failure says about where the task is, with the service's errmsg (e.g. why configFailed)."""
        return f"the task is {self.status}" + (f" ({self.errmsg})" if self.errmsg else "")


def targets(step: Step) -> frozenset[str]:
    """Statuses in which the step is done: its `wait_for`, gone for a delete, and what lies beyond."""
    done = frozenset(step.wait_for) | BEYOND.get(step.kind, frozenset())
    if step.kind is StepKind.DELETE:
        return done | {ABSENT}
    return done


def tolerated(step: Step) -> frozenset[str]:
    """Statuses a wait sits through: where the step starts from, its own transition, passing states
    (`TRANSIENT_STATUSES`, whatever the step). Any other status seen in two lists in a row fails the wait."""
    sits_through = frozenset(step.expect) | UNDERWAY.get(step.kind, frozenset()) | TRANSIENT_STATUSES
    if step.kind is StepKind.START:
        sits_through |= RUNNING_STATUSES
    return sits_through


def require_id(state: TaskState, task: str) -> str:
    if state.dts_id is None:
        raise StepFailure(f"no dtsId known for {task}")
    return state.dts_id


class LevelChecks:
    """Reads of a task's status through the shared poller, and the before/after rules of a step's call."""

    def __init__(self, poller: Poller, clock: Callable[[], float], stop_event: threading.Event) -> None:
        self._poller = poller
        self._clock = clock
        self._stop_event = stop_event

    def known_status(self, state: TaskState) -> str | None:
        """The task's status if something newer than our last call to it says so."""
        assert state.dts_id is not None
        latest = self._poller.latest
        if latest is not None and latest.started > state.mutated_at:
            state.status = latest.status(state.dts_id)
        return state.status

    def reread(self, state: TaskState) -> str:
        assert state.dts_id is not None
        snapshot = self._poller.fresh(after=self._clock())
        if snapshot is None:
            if self._stop_event.is_set():
                raise Interrupted()
            raise StepFailure("cannot re-read the task: listing tasks failed")
        state.status = snapshot.status(state.dts_id)
        live = snapshot.tasks.get(state.dts_id)
        state.errmsg = live.errmsg if live else ""
        return state.status

    def named(self, state: TaskState, name: str) -> bool:
        """Whether the latest list shows the task under `name`."""
        latest = self._poller.latest
        live = latest.tasks.get(state.dts_id or "") if latest else None
        return live is not None and live.task_name == name

    def check_expected(self, step: Step, state: TaskState) -> str | None:
        """Before the call: None = make the call; `already X` = done without a call;
        `UNDERWAY_NOTE` = the step's transition is in progress, only wait."""
        status = self.known_status(state)
        goal = targets(step)
        underway = UNDERWAY.get(step.kind, frozenset())
        if status is None or not step.expect or status in step.expect:
            return None
        if status in goal:
            return f"already {status}"
        status = self.reread(state)  # what we knew may be old: look once more before failing
        if status in goal:
            return f"already {status}"
        if status in underway:
            return UNDERWAY_NOTE
        if status not in step.expect:
            raise StepFailure(f"{state.found()}; {step.kind.value} needs it in {', '.join(step.expect)}", status=status)
        return None

    def call(self, step: Step, state: TaskState, call: Callable[[str], object]) -> str | None:
        """Make the call. On an error, re-read: None = the call is made (or landed); a note = already done."""
        assert state.dts_id is not None
        try:
            call(state.dts_id)
        except ApiError as exc:
            status = self.reread(state)
            goal = targets(step)
            if status in goal:
                return f"already {status} ({exc.code or 'no answer'} from {step.kind.value})"
            if status in UNDERWAY.get(step.kind, frozenset()):
                state.mutated_at, state.status = self._clock(), None
                return None  # landed after all (or another apply's): wait for its outcome
            ambiguous = exc.status == 0 or exc.status >= 500
            moved = status not in step.expect and status not in step.fail_on and status != ABSENT
            if not (ambiguous and goal and moved):
                raise StepFailure(f"{exc}; {state.found()}", status=status) from None
        state.mutated_at = self._clock()
        state.status = None
        return None
