"""The status view: each manifest task's live task, its progress, and whether it is in sync, read from the
planner (a task is in sync when `dtsflow plan` would plan nothing for it). Pure: the live tasks are given, and the
check items of a `checkFailed` task come through the `get_precheck` function the caller passes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dtsflow.client.live import LiveTask, PrecheckItem, TaskStatus
from dtsflow.client.statuses import retrying_warning

if TYPE_CHECKING:
    from dtsflow.manifest.model import TaskSpec
    from dtsflow.plan.planner import Manifests


@dataclass(slots=True)
class TaskStatusRow:
    task: str
    desired: str
    dts_id: str | None = None
    status: str | None = None  # None: the task does not exist
    base_percent: float | None = None
    increment_delay: float | None = None
    errmsg: str = ""
    precheck: list[PrecheckItem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    in_sync: bool | None = None  # None until `mark_sync` asked the planner
    out_of_sync: str = ""  # why not: the plan's reason or error
    expected_finish: str | None = None  # the service's expected end of the full load, ISO 8601 UTC
    renamed_from: str | None = None  # `previousNames`: the live task still has this name, to be renamed


def collect(
    tasks: Mapping[str, TaskSpec], live: list[LiveTask], get_precheck: Callable[[str], Iterable[PrecheckItem]]
) -> list[TaskStatusRow]:
    """Rows in manifest order; `get_precheck(dts_id)` reads the check items of a checkFailed task. The live task
    of a row is the one the planner matches (by name, a `deleted` task's name being free again, else by one of
    its `previousNames`: a task not renamed yet)."""
    from dtsflow.client.live import Live
    from dtsflow.plan.planner import match_live
    from dtsflow.plan.transitions import STARTED_STATUSES

    indexed = Live.from_tasks(live)
    rows: list[TaskStatusRow] = []
    for name, spec in tasks.items():
        # Matching more than one live task is the planner's error (in the row's `out_of_sync`); the row shows
        # the task with the name.
        matched, renamed_from, _ambiguous = match_live(spec, indexed)
        task = matched or indexed.tasks.get(name)
        row = TaskStatusRow(task=name, desired=str(spec.state), renamed_from=renamed_from)
        if task is not None:
            row.dts_id, row.status, row.errmsg = task.dts_id, task.status, task.errmsg
            # Before a start the numbers are placeholders (0%, 0s), not progress. After a shutdown the load is
            # history and nothing replicates: the service's delay only counts the seconds since, so none is shown.
            if task.status in STARTED_STATUSES or task.status == TaskStatus.FINISHED:
                row.base_percent = task.base_percent
            if task.status in STARTED_STATUSES:
                row.increment_delay = task.delay
                finish = task.expected_finish
                row.expected_finish = iso_utc(finish) if finish is not None else None
            row.duplicates = list(indexed.duplicates.get(task.task_name, ()))[1:]
            if task.status == TaskStatus.RETRYING:
                row.warnings.append(retrying_warning(name, task.dts_id))
            if task.status == TaskStatus.CHECK_FAILED:
                row.precheck = list(get_precheck(task.dts_id))
        rows.append(row)
    return rows


def iso_utc(epoch: float) -> str:
    """Epoch seconds as `2026-01-02T03:04:05Z`."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_sync(
    rows: list[TaskStatusRow],
    manifests: Manifests,
    live: list[LiveTask],
    others: Mapping[str, Sequence[LiveTask]] | None = None,
) -> None:
    """Set each row's `in_sync` from the plan of these manifests against these live tasks (and `others`, the
    tasks of the other types by type, whose names the planner checks): in sync when the plan has nothing to do
    for the task (no step, no config change, no error). Pure: the rows' check items are the plan's, and nothing
    else is read."""
    from dtsflow.client.live import Live
    from dtsflow.plan.model import Action
    from dtsflow.plan.planner import make_plan
    from dtsflow.plan.refresh import other_types_by_name

    indexed = Live.from_tasks(live, {r.dts_id: r.precheck for r in rows if r.dts_id and r.precheck})
    # Two live tasks with one name make the planner refuse the whole plan; the row already lists them and is
    # not in sync (apply would refuse it too), and the other tasks can still be judged.
    plan = make_plan(
        manifests,
        Live(
            tasks=indexed.tasks,
            orphans=indexed.orphans,
            precheck=indexed.precheck,
            other_types=other_types_by_name(others or {}, indexed.tasks),
        ),
    )
    changes = {c.task: c for c in plan.changes}
    for row in rows:
        change = changes.get(row.task)
        if row.duplicates:
            row.in_sync, row.out_of_sync = False, "more than one live task has this name"
        elif change is None:  # every manifest task has a change; kept total for safety
            row.in_sync, row.out_of_sync = False, "not planned"
        elif change.error:
            row.in_sync, row.out_of_sync = False, change.error
        elif change.action is not Action.NOOP or change.steps:
            row.in_sync, row.out_of_sync = False, f"{change.action}: {change.reason}"
        else:
            row.in_sync, row.out_of_sync = True, ""


def all_in_sync(rows: list[TaskStatusRow]) -> bool:
    return all(row.in_sync for row in rows)
