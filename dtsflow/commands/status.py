"""`dtsflow status PATH...`: each manifest task's live status, progress, increment delay and last precheck.

Costs one list call (pages of up to 1000), plus one precheck read per task that is `checkFailed` (the only
status whose check items explain something). Read-only: never a mutating call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dtsflow.apply.events import EVENT_FORMAT_VERSION
from dtsflow.client.live import LiveTask, PrecheckItem, TaskStatus
from dtsflow.client.statuses import retrying_warning
from dtsflow.commands.args import StatusArgs
from dtsflow.escape import for_terminal

if TYPE_CHECKING:
    from dtsflow.client.protocol import DtsClient
    from dtsflow.manifest.model import TaskSpec


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
            "warnings": self.warnings,
        }


def collect(
    tasks: Mapping[str, TaskSpec], live: list[LiveTask], get_precheck: Callable[[str], Iterable[PrecheckItem]]
) -> list[TaskStatusRow]:
    """Rows in manifest order; `get_precheck(dts_id)` reads the check items of a checkFailed task."""
    from dtsflow.plan.transitions import STARTED_STATUSES

    started = STARTED_STATUSES | {TaskStatus.FINISHED}
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
            if task.status in started:  # before a start, the numbers are placeholders (0%, 0s), not progress
                row.base_percent = task.base_percent
                row.increment_delay = task.delay
            row.duplicates = [t.dts_id for t in found[1:]]
            if task.status == TaskStatus.RETRYING:
                row.warnings.append(retrying_warning(name, task.dts_id))
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
        lines += [f"    warning: {w}" for w in row.warnings]
        if row.duplicates:
            lines.append(f"    more live tasks with this name: {', '.join(row.duplicates)}")
        for item in row.precheck:
            if item.failed:
                lines.append(f"    failed check {item.name}: {item.message} ({item.subscription})")
    return "\n".join(for_terminal(line) for line in lines)  # names, statuses and messages come from the service


def _duration(flag: str, text: str) -> float:
    from dtsflow.errors import ConfigError
    from dtsflow.manifest.grammar import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ConfigError(f"{flag}: {text!r} is not a duration such as 5s, 90s or 30m") from None
    return seconds


def watched(tasks: Mapping[str, TaskSpec], names: tuple[str, ...]) -> list[str]:
    """The tasks `--wait-lag` watches: those named with --task, else every task with incremental sync."""
    from dtsflow.errors import ConfigError

    if not names:
        found = [name for name, spec in tasks.items() if spec.incremental]
        if not found:
            raise ConfigError("--wait-lag: no task of these manifests has increment in its dataType")
        return found
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise ConfigError(f"--task names tasks that no manifest defines: {', '.join(unknown)}")
    return list(dict.fromkeys(names))


def live_delays(client: DtsClient, names: list[str]) -> dict[str, float | None]:
    """The replication delay of each named task as a lag gate counts it: `newRollbackCheck` for a reverse pair,
    else the list's `dynamicInfo.increment.delay`; None while the task is absent, not running or still loading."""
    from dtsflow.client.statuses import RUNNING_STATUSES

    by_name = {t.task_name: t for t in client.list_tasks() if t.task_name in names}
    delays: dict[str, float | None] = {}
    for name in names:
        task = by_name.get(name)
        if task is None or task.status not in RUNNING_STATUSES or task.loading:
            delays[name] = None
        elif task.is_pair:
            delays[name] = client.rollback_delay(task.dts_id)
        else:
            delays[name] = task.delay
    return delays


def wait_lag(args: StatusArgs, tasks: Mapping[str, TaskSpec], client: DtsClient) -> int:
    """`--wait-lag`: one line per reading (the delays falling); 0 when every delay is at most the gate, 1 at
    the timeout."""
    import time

    from dtsflow.apply.lag import LagOutcome, show_delay, wait_for_lag

    assert args.wait_lag is not None
    gate = _duration("--wait-lag", args.wait_lag)
    timeout = _duration("--timeout", args.timeout)
    names = watched(tasks, args.task)

    def shown(delays: Mapping[str, float | None], elapsed: float) -> None:
        if args.format == "json":
            line = {"format_version": EVENT_FORMAT_VERSION, "event": "lag", "gate": gate, "elapsed": round(elapsed, 3)}
            sys.stdout.write(json.dumps({**line, "delays": dict(delays)}, sort_keys=True) + "\n")
        else:
            text = ", ".join(f"{name} {show_delay(delay)}" for name, delay in delays.items())
            sys.stdout.write(f"[{elapsed:6.1f}s] delay {text} (gate {show_delay(gate)})\n")
        sys.stdout.flush()

    result = wait_for_lag(
        lambda: live_delays(client, names), gate=gate, timeout=timeout, clock=time.monotonic, sleep=time.sleep,
        on_reading=shown,
    )  # fmt: skip
    if result.outcome is LagOutcome.REACHED:
        sys.stderr.write(f"every delay is at most {show_delay(gate)}\n")
        return 0
    behind = [n for n, d in result.delays.items() if d is None or d > gate]
    sys.stderr.write(
        f"error: timed out after {show_delay(timeout)} waiting for a delay of at most {show_delay(gate)}: "
        f"{', '.join(f'{n} {show_delay(result.delays[n])}' for n in behind)}\n"
    )
    return 1


def run(args: StatusArgs) -> int:
    from dtsflow.commands.common import load
    from dtsflow.commands.connect import open_client

    manifests = load(args.manifests)
    if args.wait_lag is not None:
        _duration("--wait-lag", args.wait_lag)  # a bad flag costs no API call
        _duration("--timeout", args.timeout)
        watched(manifests.tasks, args.task)
        with open_client(args.api) as client:
            return wait_lag(args, manifests.tasks, client)
    with open_client(args.api) as client:
        from dtsflow.client.reverse import is_pair_id

        def checks(dts_id: str) -> list[PrecheckItem]:  # a pair's items are both directions' (rollback/precheck)
            return client.get_rollback_precheck(dts_id).items if is_pair_id(dts_id) else client.get_precheck(dts_id)

        rows = collect(manifests.tasks, client.list_tasks(), checks)
    if args.format == "json":
        body = {"format_version": EVENT_FORMAT_VERSION, "tasks": [r.to_dict() for r in rows]}
        sys.stdout.write(json.dumps(body, sort_keys=True, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(rows) + "\n")
    return 0
