"""The result of an apply: each task's outcome, the summary, the exit code, and pure renderers of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dtsflow.apply.events import EVENT_FORMAT_VERSION, PrecheckFailure
from dtsflow.errors import ExitCode
from dtsflow.escape import for_terminal


class Outcome(StrEnum):
    APPLIED = "applied"  # every step done: the task is in its desired state
    FAILED = "failed"  # a step failed; `message` says why, `done`/`not_done` what was and was not done
    SKIPPED = "skipped"  # not attempted: a dependency failed or was not applied
    INTERRUPTED = "interrupted"  # Ctrl-C came before the task finished
    UNCHANGED = "unchanged"  # nothing to do


@dataclass(slots=True)
class TaskResult:
    task: str
    action: str
    outcome: Outcome
    dts_id: str | None = None
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    message: str = ""
    failed_checks: list[PrecheckFailure] = field(default_factory=list)
    elapsed: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def left_behind(self) -> str:
        """What a task stopped part-way leaves behind that a person must know at once."""
        if self.outcome in (Outcome.FAILED, Outcome.INTERRUPTED) and "pause" in self.done and "start" in self.not_done:
            return "REPLICATION IS STOPPED: the task was paused for this change and not started again"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "left_behind": self.left_behind,
            "task": self.task,
            "action": self.action,
            "outcome": str(self.outcome),
            "dts_id": self.dts_id,
            "done": self.done,
            "not_done": self.not_done,
            "message": self.message,
            "failed_checks": [
                {"name": c.name, "message": c.message, "description": c.description} for c in self.failed_checks
            ],
            "elapsed": round(self.elapsed, 3),
            "warnings": self.warnings,
        }


@dataclass(slots=True)
class ApplyReport:
    tasks: list[TaskResult] = field(default_factory=list)
    interrupted: bool = False
    elapsed: float = 0.0
    timed_out: bool = False  # the --timeout deadline passed with tasks not applied: it is why they are not
    terminated: bool = False  # the interruption was a SIGTERM (a cancelled CI job, an evicted pod): exit 143

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for t in self.tasks if t.outcome in outcomes)

    @property
    def applied(self) -> int:
        return self.count(Outcome.APPLIED)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def not_attempted(self) -> int:
        return self.count(Outcome.SKIPPED, Outcome.INTERRUPTED)

    @property
    def unchanged(self) -> int:
        return self.count(Outcome.UNCHANGED)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return ExitCode.TERMINATED if self.terminated else ExitCode.INTERRUPTED
        return ExitCode.ERROR if self.failed or self.not_attempted else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": EVENT_FORMAT_VERSION,
            "event": "apply_report",
            "applied": self.applied,
            "failed": self.failed,
            "not_attempted": self.not_attempted,
            "unchanged": self.unchanged,
            "interrupted": self.interrupted,
            "timed_out": self.timed_out,
            "elapsed": round(self.elapsed, 3),
            "exit_code": self.exit_code,
            "tasks": [t.to_dict() for t in self.tasks],
        }


def summary_line(report: ApplyReport) -> str:
    if report.interrupted:
        head = "Apply interrupted"
    elif report.timed_out:
        head = "Apply timed out"  # whatever else failed, the deadline is what ended the run
    elif report.failed:
        head = "Apply failed"
    elif report.not_attempted:
        head = "Apply incomplete"  # nothing failed, but not every task was applied (a dependency was not)
    else:
        head = "Apply complete"
    return (
        f"{head}: {report.applied} applied, {report.failed} failed, {report.not_attempted} not attempted"
        f" ({report.unchanged} unchanged) in {report.elapsed:.1f}s."
    )


def render_report_text(report: ApplyReport) -> str:
    """The closing summary for people: one line per task, details for the ones that did not apply."""
    lines: list[str] = []
    for result in report.tasks:
        if result.outcome is Outcome.UNCHANGED and not result.warnings:
            continue
        where = f" ({result.dts_id})" if result.dts_id else ""
        left = f" — {result.left_behind}" if result.left_behind else ""
        lines.append(f"  {result.outcome:<11} {result.task}{where}: {result.action}{left}")
        lines += [f"      warning: {w}" for w in result.warnings]
        if result.outcome in (Outcome.APPLIED, Outcome.UNCHANGED):
            continue
        if result.message:
            lines.append(f"      {result.message}")
        for check in result.failed_checks:
            lines.append(f"      failed check {check.name}: {check.message}")
            if check.description:
                lines.append(f"        ({check.description})")
        if result.done:
            lines.append(f"      done: {', '.join(result.done)}")
        if result.not_done:
            lines.append(f"      not done: {', '.join(result.not_done)}")
    lines.append(summary_line(report))
    return "\n".join(for_terminal(line) for line in lines)  # names and messages come from manifests and the service
