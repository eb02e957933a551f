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
from dataclasses import dataclass, field

from dtsflow.apply.events import PrecheckFailure
from dtsflow.apply.poller import Poller
from dtsflow.apply.snapshot import ABSENT
from dtsflow.client.live import LiveTask
from dtsflow.clock import Clock
from dtsflow.errors import ApiError
from dtsflow.plan.model import Step

UNDERWAY_NOTE = "already underway"


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
    warnings: list[str] = field(default_factory=list)  # for the report, whatever the task's outcome

    def found(self) -> str:
        """What a failure says about where the task is, with the service's errmsg (e.g. why configFailed)."""
        return f"the task is {self.status}" + (f" ({self.errmsg})" if self.errmsg else "")


def require_id(state: TaskState, task: str) -> str:
    if state.dts_id is None:
        raise StepFailure(f"no dtsId known for {task}")
    return state.dts_id


class LevelChecks:
    """Reads of a task's status through the shared poller, and the before/after rules of a step's call."""

    def __init__(self, poller: Poller, clock: Clock, stop_event: threading.Event) -> None:
        self._poller = poller
        self._time = clock
        self._clock = clock.monotonic
        self._stop_event = stop_event
        self._woken = threading.Condition()  # a pause waits on it; `interrupt` wakes it

    def interrupt(self) -> None:
        """Ctrl-C (the scheduler calls it once `stop_event` is set): a pause between re-reads ends at once."""
        with self._woken:
            self._time.notify_all(self._woken)

    def pause(self, seconds: float) -> bool:
        """Let `seconds` of the clock pass between two re-reads; True when interrupted (now or during it).

        Through `Clock.wait_until`, so a `ManualClock` steps it like the poller's waits (no real sleeping)."""
        until = self._clock() + seconds
        with self._woken:
            while not self._stop_event.is_set() and self._clock() < until:
                self._time.wait_until(self._woken, until)
        return self._stop_event.is_set()

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
            raise StepFailure(f"cannot re-read the task: {self._poller.failure()}")
        state.status = snapshot.status(state.dts_id)
        live = snapshot.tasks.get(state.dts_id)
        state.errmsg = live.errmsg if live else ""
        return state.status

    def wait_for_standard(self, task: str, state: TaskState, standard: str, timeout: float) -> None:
        """After a resize: re-read until the task shows `standard` (caselessly); StepFailure after `timeout`."""
        assert state.dts_id is not None
        deadline = self._clock() + timeout
        shown = ""
        pause = 0.05
        while True:
            snapshot = self._poller.fresh(after=self._clock())
            if snapshot is None:
                if self._stop_event.is_set():
                    raise Interrupted()
                raise StepFailure(f"cannot re-read the task after its resize: {self._poller.failure()}")
            live = snapshot.tasks.get(state.dts_id)
            shown = live.pay_info.standard if live is not None else ""
            if shown.strip().lower() == standard.strip().lower():
                return
            if self._clock() >= deadline:
                raise StepFailure(
                    f"{task}: the resize to {standard} was accepted, but the task still shows standard "
                    f"{shown or '(none)'}"
                )
            if self.pause(pause):
                raise Interrupted()
            pause = min(pause * 2, 5.0)

    def read_live(self, state: TaskState) -> LiveTask | None:
        """The task as a list started now shows it (None: gone); also updates `state`."""
        self.reread(state)
        latest = self._poller.latest
        return latest.tasks.get(state.dts_id or "") if latest else None

    @property
    def interrupted(self) -> bool:
        return self._stop_event.is_set()

    def named(self, state: TaskState, name: str) -> bool:
        """Whether the latest list shows the task under `name`."""
        latest = self._poller.latest
        live = latest.tasks.get(state.dts_id or "") if latest else None
        return live is not None and live.task_name == name

    def check_expected(self, step: Step, state: TaskState) -> str | None:
        """Before the call: None = make the call; `already X` = done without a call;
        `UNDERWAY_NOTE` = the step's transition is in progress, only wait."""
        status = self.known_status(state)
        goal = step.goal
        if status is None or not step.expect or status in step.expect:
            return None
        if status in goal:
            return f"already {status}"
        status = self.reread(state)  # what we knew may be old: look once more before failing
        if status in goal:
            return f"already {status}"
        if status in step.underway:
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
            goal = step.goal
            if status in goal:
                return f"already {status} ({exc.code or 'no answer'} from {step.kind.value})"
            if status in step.underway:
                state.mutated_at, state.status = self._clock(), None
                return None  # landed after all (or another apply's): wait for its outcome
            ambiguous = exc.status == 0 or exc.status >= 500
            moved = status not in step.expect and status not in step.fail_on and status != ABSENT
            if not (ambiguous and goal and moved):
                raise StepFailure(f"{exc}; {state.found()}", status=status) from None
        state.mutated_at = self._clock()
        state.status = None
        return None
