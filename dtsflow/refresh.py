"""Read the live side of a plan from the DTS API: list calls only, never one detail call per task.

`fetch_live` lists every migration task (pages of up to 1000, `marker`/`nextMarker`), indexes them by name
(two tasks with one name is a `PlanError` naming both ids), keeps unnamed `unConfig` tasks as possible orphans
of an interrupted create, and reads the precheck items of the tasks that are `checkFailed` (one call each: the
list does not carry them), so that the plan can show why they failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dtsflow.errors import PlanError
from dtsflow.live import LiveTask, PrecheckItem, TaskStatus

if TYPE_CHECKING:  # the planner imports `Live` from here and must not load the client package
    from dtsflow.client import DtsClient

LIST_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Live:
    """The live side of a plan: named tasks, unnamed leftovers, and check items of `checkFailed` tasks."""

    tasks: Mapping[str, LiveTask] = field(default_factory=dict)
    """By `taskName`; unique (see `Live.from_tasks`)."""
    orphans: Sequence[LiveTask] = ()
    """Unnamed tasks in `unConfig`: possibly left by an interrupted create."""
    precheck: Mapping[str, Sequence[PrecheckItem]] = field(default_factory=dict)
    """By dtsId: the check items of tasks that are `checkFailed`."""

    @classmethod
    def from_tasks(
        cls, tasks: Sequence[LiveTask], precheck: Mapping[str, Sequence[PrecheckItem]] | None = None
    ) -> Live:
        """Index tasks by name. Two live tasks with one name is an error; `deleted` tasks are ignored."""
        by_name: dict[str, LiveTask] = {}
        orphans: list[LiveTask] = []
        for task in tasks:
            if task.status == TaskStatus.DELETED:
                continue
            if not task.task_name:
                if task.status == TaskStatus.UN_CONFIG:
                    orphans.append(task)
                continue
            other = by_name.get(task.task_name)
            if other is not None:
                raise PlanError(
                    f"two live tasks are named {task.task_name!r}: {other.dts_id} and {task.dts_id}; "
                    "dtsflow matches tasks by name, so rename or delete one of them in the DTS console"
                )
            by_name[task.task_name] = task
        return cls(tasks=by_name, orphans=orphans, precheck=dict(precheck or {}))


def fetch_live(client: DtsClient) -> Live:
    """Every live task, by name, plus the check items of `checkFailed` tasks."""
    tasks = client.list_tasks(page_size=LIST_PAGE_SIZE)
    live = Live.from_tasks(tasks)
    precheck = {
        task.dts_id: client.get_precheck(task.dts_id)
        for task in sorted(live.tasks.values(), key=lambda t: t.task_name)
        if task.status == TaskStatus.CHECK_FAILED
    }
    return Live(tasks=live.tasks, orphans=live.orphans, precheck=precheck)
