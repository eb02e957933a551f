"""Read the live side of a plan from the DTS API: list calls only, never one detail call per task.

`fetch_live` lists every migration task (pages of up to 1000, `marker`/`nextMarker`), indexes them by name
(two tasks with one name are kept in `duplicates`: the planner decides whether that matters, which it does only
for a name the run manages), keeps unnamed `unConfig` tasks as possible orphans of an interrupted create, and
reads the precheck items of the managed tasks that are `checkFailed` (one call each: the list does not carry
them), so that the plan can show why they failed, and the delay of managed one-click reverse pairs that run
(`newRollbackCheck`, one call each), so that a cutover can be judged. A task of another team costs no request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from dtsflow.background import Background
from dtsflow.client.live import Live, LiveTask, PrecheckItem, TaskStatus
from dtsflow.client.protocol import DtsClient
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.manifest.model import TaskSpec

LIST_PAGE_SIZE = 1000


OTHER_TASK_TYPES = ("bidirect", "group", "rollback")
"""Task types besides `migration` that the list can show (the API documentation's list filter)."""


def manages(tasks: Mapping[str, TaskSpec], prefixes: Sequence[str]) -> Callable[[str], bool]:
    """Whether a run manages a task name: a manifest names it, as a task's name or one of its `previousNames` (a
    task not renamed yet is still under that name), or it starts with a `prune.prefix`."""
    named = frozenset(tasks) | {old for spec in tasks.values() for old in spec.previous_names}
    prefix_tuple = tuple(prefixes)
    return lambda name: name in named or (bool(prefix_tuple) and name.startswith(prefix_tuple))


def list_live(client: DtsClient) -> tuple[list[LiveTask], dict[str, list[LiveTask]]]:
    """Every migration task, and the tasks of each other type (`OTHER_TASK_TYPES`, by type). The other types'
    lists are asked for meanwhile: their latency overlaps the migration list's."""
    others = [
        Background(functools.partial(client.list_tasks, page_size=LIST_PAGE_SIZE, task_type=kind), name="dtsflow-list")
        for kind in OTHER_TASK_TYPES
    ]
    try:
        tasks = client.list_tasks(page_size=LIST_PAGE_SIZE)
        # by type: an empty type would list all, but the Go SDK requires one
        return tasks, {kind: listed.result() for kind, listed in zip(OTHER_TASK_TYPES, others, strict=True)}
    except Exception:
        for listed in others:  # none still in flight when the caller closes the client
            listed.settle()
        raise


def other_types_by_name(
    others: Mapping[str, Sequence[LiveTask]], migration: Mapping[str, object]
) -> dict[str, tuple[str, str]]:
    """`Live.other_types`: the tasks of the other types by name, (type, dtsId), leaving out the names a live
    migration task holds (`migration`, by name: that task is the one a manifest name means)."""
    other_types: dict[str, tuple[str, str]] = {}
    for kind, listed in others.items():
        for other in listed:
            if other.task_name and other.task_name not in migration:
                other_types.setdefault(other.task_name, (kind, other.dts_id))
    return other_types


def fetch_live(client: DtsClient, managed: Callable[[str], bool] | None = None) -> Live:
    """Every live task, by name, plus the check items of the `checkFailed` tasks the run manages (`managed`;
    None reads them for every task)."""
    tasks, others = list_live(client)
    live = Live.from_tasks(tasks)
    other_types = other_types_by_name(others, live.tasks)
    ours = [
        task
        for task in sorted(live.tasks.values(), key=lambda t: t.task_name)
        if managed is None or managed(task.task_name)
    ]
    precheck: dict[str, Sequence[PrecheckItem]] = {}
    delays: dict[str, float] = {}
    for task in ours:
        if task.status == TaskStatus.CHECK_FAILED:
            # A pair's items are both directions' (`rollback/precheck`); a reverse item's name starts `reverse:`.
            items = (
                client.get_rollback_precheck(task.dts_id).items if task.is_pair else client.get_precheck(task.dts_id)
            )
            precheck[task.dts_id] = items
        if task.is_pair and task.status in RUNNING_STATUSES:
            delays[task.dts_id] = client.rollback_delay(task.dts_id)
    return Live(
        tasks=live.tasks,
        orphans=live.orphans,
        precheck=precheck,
        duplicates=live.duplicates,
        delays=delays,
        other_types=other_types,
    )
