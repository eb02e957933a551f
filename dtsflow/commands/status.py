"""`dtsflow status PATH...`: each manifest task's live status, progress, increment delay and last precheck.

Costs one list call (pages of up to 1000), plus one precheck read per task that is `checkFailed` (the only
status whose check items explain something). Read-only: never a mutating call.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dtsflow.events import EVENT_FORMAT_VERSION
from dtsflow.live import LiveTask, PrecheckItem, TaskStatus

if TYPE_CHECKING:
    from dtsflow.manifest import TaskSpec


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "desired": self.desired,
            "dts_id": self.dts_id,
            "status": self.status,
            "base_percent": self.base_percent,
            "increment_delay": self.increment_delay,
            "errmsg": self.errmsg,
            "precheck": [
                {"name": i.name, "status": i.status, "message": i.message, "description": i.subscription}
                for i in self.precheck
            ],
            "duplicates": self.duplicates,
        }


def collect(
    tasks: Mapping[str, TaskSpec], live: list[LiveTask], get_precheck: Callable[[str], Iterable[PrecheckItem]]
) -> list[TaskStatusRow]:
    """Rows in manifest order; `get_precheck(dts_id)` reads the check items of a checkFailed task."""
    from dtsflow.levels import STARTED
    from dtsflow.progress import base_percent, increment_delay

    by_name: dict[str, list[LiveTask]] = {}
    for task in live:
        if task.task_name and task.status != TaskStatus.DELETED:  # its name is free again, as in a plan
            by_name.setdefault(task.task_name, []).append(task)
    rows: list[TaskStatusRow] = []
    for name, spec in tasks.items():
        found = by_name.get(name, [])
        row = TaskStatusRow(task=name, desired=str(spec.state))
        if found:
            task = found[0]
            row.dts_id, row.status, row.errmsg = task.dts_id, task.status, task.errmsg
            if task.status in STARTED:  # before a start, the numbers are placeholders (0%, 0s), not progress
                row.base_percent = base_percent(task)
                row.increment_delay = increment_delay(task)
            row.duplicates = [t.dts_id for t in found[1:]]
            if task.status == TaskStatus.CHECK_FAILED:
                row.precheck = list(get_precheck(task.dts_id))
        rows.append(row)
    return rows


def render_text(rows: list[TaskStatusRow]) -> str:
    lines = [f"{'TASK':<28} {'DESIRED':<11} {'STATUS':<14} {'BASE':>6} {'DELAY':>7}  DTS ID"]
    for row in rows:
        percent = f"{row.base_percent:g}%" if row.base_percent is not None else "-"
        delay = f"{row.increment_delay:g}s" if row.increment_delay is not None else "-"
        lines.append(
            f"{row.task:<28} {row.desired:<11} {row.status or '(absent)':<14} {percent:>6} {delay:>7}  {row.dts_id or '-'}"
        )
        if row.errmsg:
            lines.append(f"    errmsg: {row.errmsg}")
        if row.duplicates:
            lines.append(f"    more live tasks with this name: {', '.join(row.duplicates)}")
        for item in row.precheck:
            if item.failed:
                lines.append(f"    failed check {item.name}: {item.message} ({item.subscription})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from dtsflow.connect import open_client
    from dtsflow.loader import load_from_args

    manifests = load_from_args(args)
    with open_client(args) as client:
        rows = collect(manifests.tasks, client.list_tasks(), client.get_precheck)
    if args.format == "json":
        body = {"format_version": EVENT_FORMAT_VERSION, "tasks": [r.to_dict() for r in rows]}
        sys.stdout.write(json.dumps(body, sort_keys=True, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(rows) + "\n")
    return 0
