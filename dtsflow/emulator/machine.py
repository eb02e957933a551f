"""The DTS status machine of `reference/dts-api.md` §3, as data and pure functions.

A task's status is never stored as "the" status: a task holds a *timeline*, a list of `[status, at]` entries
(`at` is a wall-clock epoch second), and its status at any moment is the last entry whose time has come.
An action replaces the not-yet-reached part of the timeline. This is what lets a task keep progressing while no
emulator process is running: a precheck started in one `--emulator` run has finished when the next run reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

Timeline = list[list[object]]  # [[status: str, at: float], ...], ascending by time (JSON-friendly)

UN_CONFIG = "unConfig"
READY = "ready"
CHECKING = "checking"
CHECK_PASS = "checkPass"
CHECK_FAILED = "checkFailed"
RUNNING = "running"
STOPPING = "stopping"
STOPPED = "stopped"
RUN_FAILED = "runFailed"
FINISHED = "finished"
CONFIG_FAILED = "configFailed"
ABANDONED = "abandoned"

RUNNING_VARIANTS = frozenset({RUNNING, "initRunning", "bidirectRunning", "singleRunning", "retrying"})

KNOWN_STATUSES = frozenset(
    {
        UN_CONFIG,
        READY,
        CHECKING,
        CHECK_PASS,
        CHECK_FAILED,
        STOPPING,
        STOPPED,
        "stopCheckFailed",
        RUN_FAILED,
        FINISHED,
        "checkFailedAdd",
        "checkPassAdd",
        CONFIG_FAILED,
        ABANDONED,
    }
    | RUNNING_VARIANTS
)

# Allowed-from sets. Documented ones cite dts-api.md §1; the others are choices written in docs/emulator.md.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "config": frozenset({READY, CHECK_PASS, CHECK_FAILED, RUN_FAILED, STOPPED, CONFIG_FAILED, UN_CONFIG}),
    "precheck": frozenset({READY, CHECK_PASS, CHECK_FAILED}),
    "skipPrecheck": frozenset({CHECK_FAILED}),
    "start": frozenset({CHECK_PASS, STOPPED, RUN_FAILED, "checkFailedAdd", "checkPassAdd"}),
    "pause": RUNNING_VARIANTS,
    # Not documented; Terraform waits from {checkFailed, checkPass, running, stopped, runFailed}. We also allow
    # the other settled, not-yet-finished statuses so that `absent` is reachable from any settled task.
    "shutdown": frozenset(
        {
            UN_CONFIG,
            READY,
            CHECK_PASS,
            CHECK_FAILED,
            STOPPED,
            RUN_FAILED,
            CONFIG_FAILED,
            "stopCheckFailed",
            "checkFailedAdd",
            "checkPassAdd",
        }
        | RUNNING_VARIANTS
    ),
    "delete": frozenset({FINISHED, ABANDONED}),
    "resize": RUNNING_VARIANTS | {STOPPED, RUN_FAILED},
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
