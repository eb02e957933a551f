"""Typed events the executor emits while it applies a plan.

The executor never prints: it calls an `Observer` with these events, and the renderers in
`dtsflow.progress` turn them into live progress, plain lines or JSON lines. The report
(`dtsflow.report.ApplyReport`) is built from the executor's own results, not from parsing events.

Every event has a stable `event` name and `to_dict()`; `--format json` writes one such dict per line with
`format_version`. Events carry names, ids, statuses and the API's messages, never a secret value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from dtsflow.live import PrecheckItem

EVENT_FORMAT_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Event:
    event: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        return {"format_version": EVENT_FORMAT_VERSION, "event": self.event, **body}


@dataclass(frozen=True, slots=True)
class ApplyStarted(Event):
    event: ClassVar[str] = "apply_started"
    tasks: int
    parallelism: int


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


@dataclass(frozen=True, slots=True)
class StepSucceeded(Event):
    event: ClassVar[str] = "step_succeeded"
    task: str
    step: str
    status: str | None = None
    note: str = ""  # e.g. "already running", "skipped failed checks: srcBinlogFormat"
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
    """outcome: applied | failed | skipped | interrupted | unchanged (see `dtsflow.report.Outcome`)."""

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


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...


def null_observer(event: Event) -> None:
    """Observer that ignores everything (library use, tests)."""


class EventLog:
    """Observer that keeps every event (tests, library use)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
