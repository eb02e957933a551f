"""Task statuses of the API documentation's status list, with the standard library only.

One list for the API readers (`dtsflow.client.live`, which re-exports `TaskStatus`), the planner's transition table and
the emulator's status machine; the emulator imports this module directly because it stays free of pydantic.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Task statuses of the API documentation's status list. The API may send others: `LiveTask.status` is a plain string."""

    UN_CONFIG = "unConfig"
    READY = "ready"
    CHECKING = "checking"
    CHECK_PASS = "checkPass"
    CHECK_FAILED = "checkFailed"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STOP_CHECK_FAILED = "stopCheckFailed"
    RUN_FAILED = "runFailed"
    FINISHED = "finished"
    DELETED = "deleted"
    INIT_RUNNING = "initRunning"
    BIDIRECT_RUNNING = "bidirectRunning"
    SINGLE_RUNNING = "singleRunning"
    RETRYING = "retrying"
    CHECK_FAILED_ADD = "checkFailedAdd"
    CHECK_PASS_ADD = "checkPassAdd"
    CONFIG_FAILED = "configFailed"
    ABANDONED = "abandoned"


# Statuses in which a task replicates (the API documentation allows pause from all of them).
RUNNING_STATUSES = frozenset(
    {
        TaskStatus.RUNNING,
        TaskStatus.INIT_RUNNING,
        TaskStatus.BIDIRECT_RUNNING,
        TaskStatus.SINGLE_RUNNING,
        TaskStatus.RETRYING,
    }
)


def retrying_warning(task: str, dts_id: str | None) -> str:
    """What plan, status and the apply report say about a task in `retrying`: started, but not well."""
    where = f" ({dts_id})" if dts_id else ""
    return (
        f"task {task}{where} is retrying: it counts as started, but the service is retrying after an error; "
        "look at its errmsg in the DTS console"
    )


def describe_statuses(statuses: list[str] | frozenset[str] | set[str]) -> str:
    """`a or b` for people; the whole running family reads `running (or a running variant)`."""
    wanted = set(statuses)
    words: list[str] = []
    if RUNNING_STATUSES <= wanted:
        wanted -= RUNNING_STATUSES
        words.append("running (or a running variant)")
    return " or ".join([*words, *sorted(wanted)])
