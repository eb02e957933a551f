"""One list call's view of every task: what the poller hands to waits, guards and crash recovery."""

from __future__ import annotations

from dataclasses import dataclass

from dtsflow.client.live import LiveTask
from dtsflow.client.statuses import TaskStatus

ABSENT = str(TaskStatus.DELETED)
"""Pseudo-status of a task that the list no longer shows (released): the API's own word for it."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One list call's view of every task, by id; `started` is when the call began (clock seconds)."""

    started: float
    tasks: dict[str, LiveTask]

    def status(self, dts_id: str) -> str:
        live = self.tasks.get(dts_id)
        return live.status if live else ABSENT
