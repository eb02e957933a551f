"""`dtsflow status PATH...`: each manifest task's live status, whether it is in sync, progress, increment delay,
the service's expected end of the full load and the last precheck.

Costs the list calls of a plan (the migration tasks, pages of up to 1000, and the other types, whose names a
manifest task may not take), plus one precheck read per task that is `checkFailed` (the only status whose check
items explain something). Read-only: never a mutating call.

"In sync" is the planner's answer, not a copy of it: the rows' live tasks are planned against the manifests
(offline, no further call) and a task is in sync when `dtsflow plan` would plan nothing for it, so a config
difference counts as well as a status that is not the desired state. `--detailed-exitcode` turns that into the
exit code: 0 every task in sync, 2 one is not, 1 an error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dtsflow.apply.events import EVENT_FORMAT_VERSION
from dtsflow.client.live import LiveTask, PrecheckItem, TaskStatus
from dtsflow.client.statuses import retrying_warning
from dtsflow.commands.args import StatusArgs
from dtsflow.errors import ConfigError, ExitCode
from dtsflow.escape import for_terminal

if TYPE_CHECKING:
    from dtsflow.client.protocol import DtsClient
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "desired": self.desired,
            "dts_id": self.dts_id,
            "status": self.status,
            "in_sync": self.in_sync,
            "out_of_sync": self.out_of_sync or None,
            "base_percent": self.base_percent,
            "increment_delay": self.increment_delay,
            "expected_finish": self.expected_finish,
            "renamed_from": self.renamed_from,
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
                row.expected_finish = _iso(finish) if finish is not None else None
            row.duplicates = list(indexed.duplicates.get(task.task_name, ()))[1:]
            if task.status == TaskStatus.RETRYING:
                row.warnings.append(retrying_warning(name, task.dts_id))
            if task.status == TaskStatus.CHECK_FAILED:
                row.precheck = list(get_precheck(task.dts_id))
        rows.append(row)
    return rows


def _iso(epoch: float) -> str:
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


def _duration(flag: str, text: str) -> float:
    from dtsflow.manifest.grammar import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ConfigError(f"{flag}: {text!r} is not a duration such as 5s, 90s or 30m") from None
    return seconds


def watched(tasks: Mapping[str, TaskSpec], names: tuple[str, ...]) -> list[str]:
    """The tasks `--wait-lag` watches: those named with --task, else every task with incremental sync."""

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
    if args.watch is not None:
        for flag, given in (("--detailed-exitcode", args.detailed_exitcode), ("--wait-lag", args.wait_lag)):
            if given:
                raise ConfigError(f"{flag} does not combine with status --watch, which runs until it is stopped")
        from dtsflow.commands.status_watch import run_watch

        return run_watch(args, manifests)
    if args.wait_lag is not None:
        if args.detailed_exitcode:
            raise ConfigError(
                "--detailed-exitcode does not combine with --wait-lag, whose exit code says 0 reached, 1 not"
            )
        _duration("--wait-lag", args.wait_lag)  # a bad flag costs no API call
        _duration("--timeout", args.timeout)
        watched(manifests.tasks, args.task)
        with open_client(args.api) as client:
            return wait_lag(args, manifests.tasks, client)
    with open_client(args.api) as client:
        rows = read_rows(client, manifests)
    if args.format == "json":
        body = {
            "format_version": EVENT_FORMAT_VERSION,
            "in_sync": all_in_sync(rows),
            "tasks": [r.to_dict() for r in rows],
        }
        sys.stdout.write(json.dumps(body, sort_keys=True, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(rows) + "\n")
    if args.detailed_exitcode and not all_in_sync(rows):
        return ExitCode.CHANGES
    return ExitCode.OK


def read_rows(client: DtsClient, manifests: Manifests) -> list[TaskStatusRow]:
    """One reading: the lists (migration tasks, and the other types, whose names the planner checks), the check
    items of `checkFailed` tasks, and each row's sync from the planner."""
    from dtsflow.client.reverse import is_pair_id
    from dtsflow.plan.refresh import list_live

    def checks(dts_id: str) -> list[PrecheckItem]:  # a pair's items are both directions' (rollback/precheck)
        return client.get_rollback_precheck(dts_id).items if is_pair_id(dts_id) else client.get_precheck(dts_id)

    live, others = list_live(client)
    rows = collect(manifests.tasks, live, checks)
    mark_sync(rows, manifests, live, others)
    return rows
