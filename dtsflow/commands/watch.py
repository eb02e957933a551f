"""`dtsflow apply PATH... --auto-approve --watch INTERVAL`: re-plan and re-apply on a timer, correcting drift.

Each cycle reads the manifests again (a sidecar may `git pull` them), takes the directory's apply lock, reads the
live tasks, plans, reports every task that differs from its manifest as a drift (`drift_detected`), applies the
plan, and reports what became of each drift (`drift_corrected`); then it sleeps INTERVAL. A cycle that cannot plan
(an invalid manifest, an API error, another apply holding the lock) is reported (`watch_error`) and the watch
goes on: a service that corrects drift should not die of one bad minute. Text or JSON lines (`--format json`),
like apply's own progress.

SIGTERM or Ctrl-C stop the watch: between cycles at once (exit 0), during a cycle after the calls in flight finish
and the cycle's report is printed (exit 143 for SIGTERM, 130 for Ctrl-C, as for an interrupted apply). A second
signal leaves at once (the journal makes a re-run converge).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from dtsflow.apply.drift import corrections, drift_of, watch_line
from dtsflow.apply.events import Event, WatchCycle, WatchError, WatchStopped
from dtsflow.commands.args import ApplyArgs
from dtsflow.commands.common import WatchStop, signals_handled, watch_interval
from dtsflow.errors import DtsflowError, ExitCode
from dtsflow.escape import for_terminal

if TYPE_CHECKING:
    from dtsflow.client.protocol import DtsClient


def interval_of(text: str) -> float:
    """`apply --watch INTERVAL` in seconds."""
    return watch_interval(text, flag="--watch", examples="30s, 15m or 1h")


def watch(args: ApplyArgs, interval: float, timeout: float | None, *, out: TextIO | None = None) -> int:
    from dtsflow.commands.connect import open_client

    stream = out if out is not None else sys.stdout
    stop = WatchStop(stopping="stopping the watch (calls in flight finish)")
    cycle = 0
    interrupted = False
    with signals_handled(stop.handler, (signal.SIGTERM, signal.SIGINT)), open_client(args.api) as client:
        while not stop.event.is_set():
            cycle += 1
            interrupted = _cycle(client, args, cycle, interval, timeout, stop.event, stream)
            if not stop.event.is_set():
                stop.event.wait(interval)
    name = signal.Signals(stop.signum).name if stop.signum is not None else "stop"
    _emit(WatchStopped(cycles=cycle, signal=name, interrupted_apply=interrupted), args, stream)
    return stop.exit_code if interrupted else ExitCode.OK


def _emit(event: Event, args: ApplyArgs, out: TextIO) -> None:
    if args.format == "json":
        out.write(json.dumps(event.to_dict(), sort_keys=True) + "\n")
    else:
        line = watch_line(event)
        if line is not None:
            out.write(for_terminal(line) + "\n")  # task names and messages come from manifests and the service
    out.flush()


def _cycle(
    client: DtsClient,
    args: ApplyArgs,
    cycle: int,
    interval: float,
    timeout: float | None,
    stop: threading.Event,
    out: TextIO,
) -> bool:
    """One cycle; True when a stop interrupted its apply."""
    from dtsflow.apply.journal import Journal
    from dtsflow.apply.lock import apply_lock
    from dtsflow.commands.apply import execute
    from dtsflow.commands.common import load, refresh, shaped_plan

    try:
        manifests = load(args.manifests)
        with apply_lock():
            journal = Journal()
            live = refresh(client, manifests)
            plan = shaped_plan(manifests, live, args.shape)
            if plan.errors:
                problems = "; ".join(f"{c.task}: {c.error}" for c in plan.errors)
                raise DtsflowError(f"the plan cannot be applied: {problems}")
            drifts = drift_of(plan, cycle)
            for drift in drifts:
                _emit(drift, args, out)
            if not drifts:
                _emit(WatchCycle(cycle=cycle, drifts=0, corrected=0, failed=0, next_in=interval), args, out)
                return False
            report = execute(plan, client, args, journal, timeout, out, stop)
    except DtsflowError as exc:
        _emit(WatchError(cycle=cycle, message=str(exc)), args, out)
        return False
    results = corrections(drifts, report)
    for result in results:
        _emit(result, args, out)
    corrected = sum(1 for r in results if r.outcome == "applied")
    if not report.interrupted:
        cycle_end = WatchCycle(
            cycle=cycle, drifts=len(drifts), corrected=corrected, failed=len(drifts) - corrected, next_in=interval
        )
        _emit(cycle_end, args, out)
    return report.interrupted
