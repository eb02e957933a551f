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
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dtsflow.apply.events import EVENT_FORMAT_VERSION
from dtsflow.client.live import PrecheckItem
from dtsflow.commands.args import StatusArgs
from dtsflow.errors import ConfigError, ExitCode
from dtsflow.plan.render.status import render_json, render_text
from dtsflow.plan.status import TaskStatusRow, all_in_sync, collect, mark_sync

if TYPE_CHECKING:
    from dtsflow.client.protocol import DtsClient
    from dtsflow.manifest.model import TaskSpec
    from dtsflow.plan.planner import Manifests


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
        sys.stdout.write(render_json(rows, EVENT_FORMAT_VERSION) + "\n")
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
