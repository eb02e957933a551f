"""Typed events the executor emits while it applies a plan.

The executor never prints: it calls an `Observer` with these events, and the renderers in
`dtsflow.apply.progress` turn them into live progress, plain lines or JSON lines. The report
(`dtsflow.apply.report.ApplyReport`) is built from the executor's own results, not from parsing events.

Every event has a stable `event` name and `to_dict()`; `--format json` writes one such dict per line with
`format_version`. Events carry names, ids, statuses and the API's messages, never a secret value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from dtsflow.client.live import PrecheckItem

EVENT_FORMAT_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Event:
    event: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        return {"format_version": EVENT_FORMAT_VERSION, "event": self.event, **body}


@dataclass(frozen=True, slots=True)
class ApplyStarted(Event):
    """`tasks`: the tasks with changes, each of which ends with a `task_finished`; `unchanged`: the plan's tasks
    that need nothing (no event of their own; the report lists them)."""

    event: ClassVar[str] = "apply_started"
    tasks: int
    parallelism: int
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class TaskStarted(Event):
    event: ClassVar[str] = "task_started"
    task: str
    action: str
    steps: list[str]
    dts_id: str | None = None


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    event: ClassVar[str] = "step_started"
    task: str
    step: str
    index: int  # 1-based position in the task's steps
    total: int
    dts_id: str | None = None


@dataclass(frozen=True, slots=True)
class StepPolled(Event):
    """A shared list call saw this task while one of its steps waited (status changes and progress only)."""

    event: ClassVar[str] = "step_polled"
    task: str
    step: str
    status: str
    base_percent: float | None = None
    elapsed: float = 0.0
    delay: float | None = None  # seconds of replication delay, while a lag gate is waited for


@dataclass(frozen=True, slots=True)
class StepWaiting(Event):
    """A heartbeat: the step still waits for `waiting_for` (a status, or a replication delay), `elapsed` seconds
    into its wait; one every `HEARTBEAT_SECONDS` of a wait, whether or not anything changed (CI logs that stay
    silent look hung)."""

    event: ClassVar[str] = "step_waiting"
    task: str
    step: str
    waiting_for: str
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class StepSucceeded(Event):
    event: ClassVar[str] = "step_succeeded"
    task: str
    step: str
    status: str | None = None
    note: str = ""  # e.g. "already running", "skipped failed checks: srcMysqlBinlogFormat"
    elapsed: float = 0.0
    dts_id: str | None = None


@dataclass(frozen=True, slots=True)
class PrecheckFailure:
    """A failed check item as shown to people (name, message, description)."""

    name: str
    message: str
    description: str

    @classmethod
    def of(cls, item: PrecheckItem) -> PrecheckFailure:
        return cls(name=item.name, message=item.message, description=item.subscription)


@dataclass(frozen=True, slots=True)
class StepFailed(Event):
    event: ClassVar[str] = "step_failed"
    task: str
    step: str
    message: str
    status: str | None = None
    failed_checks: list[PrecheckFailure] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class TaskFinished(Event):
    """outcome: applied | failed | skipped | interrupted | unchanged (see `dtsflow.apply.report.Outcome`)."""

    event: ClassVar[str] = "task_finished"
    task: str
    outcome: str
    message: str = ""
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    dts_id: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class ApplyFinished(Event):
    event: ClassVar[str] = "apply_finished"
    applied: int
    failed: int
    not_attempted: int
    unchanged: int
    interrupted: bool
    elapsed: float
    timed_out: bool = False  # the --timeout deadline ended the run with tasks not applied


@dataclass(frozen=True, slots=True)
class DriftDetected(Event):
    """`apply --watch`: a task differs from its manifest at the start of a cycle (changed in the console, or new)."""

    event: ClassVar[str] = "drift_detected"
    cycle: int
    task: str
    action: str
    live_status: str | None
    desired: str | None
    steps: list[str]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DriftCorrected(Event):
    """`apply --watch`: what the cycle's apply did about one drift (outcome as in `TaskFinished`)."""

    event: ClassVar[str] = "drift_corrected"
    cycle: int
    task: str
    outcome: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class WatchCycle(Event):
    """`apply --watch`: one cycle is over; the next starts in `next_in` seconds."""

    event: ClassVar[str] = "watch_cycle"
    cycle: int
    drifts: int
    corrected: int
    failed: int
    next_in: float


@dataclass(frozen=True, slots=True)
class WatchError(Event):
    """`apply --watch`: a cycle could not plan (invalid manifest, API error, lock held); the watch goes on."""

    event: ClassVar[str] = "watch_error"
    cycle: int
    message: str


@dataclass(frozen=True, slots=True)
class WatchStopped(Event):
    event: ClassVar[str] = "watch_stopped"
    cycles: int
    signal: str
    interrupted_apply: bool = False


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...


def null_observer(event: Event) -> None:
    """Observer that ignores everything (library use, tests)."""
