"""`dtsflow status` as text and JSON: pure functions of the status rows (`dtsflow.plan.status`)."""

from __future__ import annotations

import json
from typing import Any

from dtsflow.escape import for_terminal
from dtsflow.plan.status import TaskStatusRow, all_in_sync


def row_document(row: TaskStatusRow) -> dict[str, Any]:
    """One row of the JSON status."""
    return {
        "task": row.task,
        "desired": row.desired,
        "dts_id": row.dts_id,
        "status": row.status,
        "in_sync": row.in_sync,
        "out_of_sync": row.out_of_sync or None,
        "base_percent": row.base_percent,
        "increment_delay": row.increment_delay,
        "expected_finish": row.expected_finish,
        "renamed_from": row.renamed_from,
        "errmsg": row.errmsg,
        "precheck": [
            {"name": i.name, "status": i.status, "message": i.message, "description": i.subscription}
            for i in row.precheck
        ],
        "duplicates": row.duplicates,
        "warnings": row.warnings,
    }


def render_json(rows: list[TaskStatusRow], format_version: str, *, indent: int | None = 2, **extra: Any) -> str:
    """The JSON status document: whether every task is in sync, each row, and `extra` keys (`status --watch`
    adds its refresh number and time)."""
    body = {
        "format_version": format_version,
        **extra,
        "in_sync": all_in_sync(rows),
        "tasks": [row_document(r) for r in rows],
    }
    return json.dumps(body, sort_keys=True, indent=indent)


def _sync_cell(row: TaskStatusRow) -> str:
    return "-" if row.in_sync is None else ("yes" if row.in_sync else "no")


def render_text(rows: list[TaskStatusRow]) -> str:
    lines = [f"{'TASK':<28} {'DESIRED':<11} {'STATUS':<14} {'SYNC':<4} {'BASE':>6} {'DELAY':>7}  DTS ID"]
    for row in rows:
        percent = f"{row.base_percent:g}%" if row.base_percent is not None else "-"
        delay = f"{row.increment_delay:g}s" if row.increment_delay is not None else "-"
        lines.append(
            f"{row.task:<28} {row.desired:<11} {row.status or '(absent)':<14} {_sync_cell(row):<4} {percent:>6} "
            f"{delay:>7}  {row.dts_id or '-'}"
        )
        if row.renamed_from:
            lines.append(f"    to be renamed from {row.renamed_from}")
        if row.out_of_sync:
            lines.append(f"    not in sync: {row.out_of_sync}")
        if row.expected_finish:
            lines.append(f"    full load expected to finish at {row.expected_finish} (the service's estimate)")
        if row.errmsg:
            lines.append(f"    errmsg: {row.errmsg}")
        lines += [f"    warning: {w}" for w in row.warnings]
        if row.duplicates:
            lines.append(f"    more live tasks with this name: {', '.join(row.duplicates)}")
        for item in row.precheck:
            if item.failed:
                lines.append(f"    failed check {item.name}: {item.message} ({item.subscription})")
    return "\n".join(for_terminal(line) for line in lines)  # names, statuses and messages come from the service
