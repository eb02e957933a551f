"""`apply --watch`: which planned changes are drift, and how the watch's own events read as text.

Pure: a plan in, events out; an event in, a line out. Drift is every task whose plan is not a no-op at the start
of a cycle — a task paused, resumed or reconfigured in the console, deleted there, or new in the manifests.
"""

from __future__ import annotations

from dtsflow.apply.events import DriftCorrected, DriftDetected, Event, WatchCycle, WatchError, WatchStopped
from dtsflow.apply.report import ApplyReport
from dtsflow.plan.model import Action, Plan


def drift_of(plan: Plan, cycle: int) -> list[DriftDetected]:
    return [
        DriftDetected(
            cycle=cycle,
            task=c.task,
            action=str(c.action),
            live_status=c.live_status,
            desired=str(c.desired) if c.desired is not None else None,
            steps=[s.kind.value for s in c.steps],
            reason=c.reason,
        )
        for c in plan.changes
        if c.action is not Action.NOOP and not c.error
    ]


def corrections(drifts: list[DriftDetected], report: ApplyReport) -> list[DriftCorrected]:
    outcome = {r.task: r for r in report.tasks}
    out = []
    for drift in drifts:
        result = outcome.get(drift.task)
        out.append(
            DriftCorrected(
                cycle=drift.cycle,
                task=drift.task,
                outcome=str(result.outcome) if result else "skipped",
                message=result.message if result else "",
            )
        )
    return out


def watch_line(event: Event) -> str | None:
    """The text line of a watch event, or None for an event that is not the watch's own."""
    match event:
        case DriftDetected():
            live = event.live_status or "absent"
            steps = " -> ".join(event.steps) or "no step"
            return (
                f"[watch] cycle {event.cycle}: drift: {event.task} is {live}, wants {event.desired or 'absent'}: "
                f"{event.action} ({steps})"
            )
        case DriftCorrected():
            tail = f": {event.message}" if event.message else ""
            verb = "corrected" if event.outcome == "applied" else "not corrected"
            return f"[watch] cycle {event.cycle}: {verb}: {event.task} {event.outcome}{tail}"
        case WatchCycle():
            return (
                f"[watch] cycle {event.cycle} done: {event.drifts} drift(s), {event.corrected} corrected, "
                f"{event.failed} failed; next cycle in {_seconds(event.next_in)}"
            )
        case WatchError():
            return f"[watch] cycle {event.cycle}: error: {event.message} (the watch goes on)"
        case WatchStopped():
            how = ", an apply in progress was interrupted" if event.interrupted_apply else ""
            return f"[watch] stopped by {event.signal} after {event.cycles} cycle(s){how}"
    return None


def _seconds(value: float) -> str:
    whole = int(value)
    if whole >= 3600 and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole >= 60 and whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{value:g}s"
