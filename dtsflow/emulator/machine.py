"""The DTS status machine of the API documentation, as data and pure functions.

A task's status is never stored as "the" status: a task holds a *timeline*, a list of `[status, at]` entries
(`at` is a wall-clock epoch second), and its status at any moment is the last entry whose time has come.
An action replaces the not-yet-reached part of the timeline. This is what lets a task keep progressing while no
emulator process is running: a precheck started in one `--emulator` run has finished when the next run reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtsflow.client.statuses import RUNNING_STATUSES, TaskStatus

Timeline = list[list[object]]  # [[status: str, at: float], ...], ascending by time (JSON-friendly)

S = TaskStatus
# Every status of the API documentation's status list but `deleted`: a released task is gone from the emulator, not shown as deleted.
KNOWN_STATUSES = frozenset(TaskStatus) - {S.DELETED}

# Allowed-from sets. Documented ones cite the API documentation; the others are choices written in docs/emulator.md.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "config": frozenset({S.READY, S.CHECK_PASS, S.CHECK_FAILED, S.RUN_FAILED, S.STOPPED, S.CONFIG_FAILED, S.UN_CONFIG}),
    "precheck": frozenset({S.READY, S.CHECK_PASS, S.CHECK_FAILED}),
    "skipPrecheck": frozenset({S.CHECK_FAILED}),
    "start": frozenset({S.CHECK_PASS, S.STOPPED, S.RUN_FAILED, S.CHECK_FAILED_ADD, S.CHECK_PASS_ADD}),
    "pause": RUNNING_STATUSES,
    # Not documented; Terraform waits from {checkFailed, checkPass, running, stopped, runFailed}. We also allow
    # the other settled, not-yet-finished statuses so that `absent` is reachable from any settled task.
    "shutdown": frozenset(
        {
            S.UN_CONFIG,
            S.READY,
            S.CHECK_PASS,
            S.CHECK_FAILED,
            S.STOPPED,
            S.RUN_FAILED,
            S.CONFIG_FAILED,
            S.STOP_CHECK_FAILED,
            S.CHECK_FAILED_ADD,
            S.CHECK_PASS_ADD,
        }
        | RUNNING_STATUSES
    ),
    "delete": frozenset({S.FINISHED, S.ABANDONED}),
    "resize": RUNNING_STATUSES | {S.STOPPED, S.RUN_FAILED},
}


def status_at(timeline: Sequence[Sequence[object]], now: float) -> str:
    """The status of a task at `now`: the last timeline entry whose time has come (the first if none has)."""
    current = str(timeline[0][0])
    for status, at in timeline:
        if float(at) <= now:  # type: ignore[arg-type]
            current = str(status)
        else:
            break
    return current


def entered_at(timeline: Sequence[Sequence[object]], now: float) -> float:
    """When the task entered the status it has at `now`."""
    when = float(timeline[0][1])  # type: ignore[arg-type]
    for _status, at in timeline:
        if float(at) <= now:  # type: ignore[arg-type]
            when = float(at)  # type: ignore[arg-type]
        else:
            break
    return when


def pending(timeline: Sequence[Sequence[object]], now: float) -> list[tuple[str, float]]:
    """Entries not reached yet at `now`."""
    return [(str(s), float(a)) for s, a in timeline if float(a) > now]  # type: ignore[arg-type]


def settle(timeline: Sequence[Sequence[object]], now: float) -> Timeline:
    """The timeline collapsed to its present entry plus what is still to come (keeps stored rows short)."""
    head: list[object] = [status_at(timeline, now), entered_at(timeline, now)]
    return [head, *[[s, a] for s, a in pending(timeline, now)]]
