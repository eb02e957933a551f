"""The exception tree. Everything a user can cause is a `DtsflowError`; the CLI prints it without a traceback.

    DtsflowError
     ├── ManifestError        invalid manifests: a list of `Diagnostic`s (file:line: $.path: message)
     ├── ConfigError          credentials, endpoint, command-line values
     ├── ApiError             an error answer (or no answer) from the DTS API
     ├── PlanError            a plan that cannot be made (e.g. two live tasks with one name)
     └── StalePlanError       a saved plan whose manifests or live tasks changed since it was made

A failed apply is not an exception: its report says which tasks failed, and sets the exit code.

No message built here may contain a secret value: callers pass names and references, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes, a contract: scripts and CI read them."""

    OK = 0
    """Success; for `plan --detailed-exitcode`: no changes."""
    ERROR = 1
    """Any error: invalid manifest, API error, failed precheck, stale plan, timeout, usage error."""
    CHANGES = 2
    """`plan --detailed-exitcode` found changes."""
    INTERRUPTED = 130
    """Ctrl-C."""
    TERMINATED = 143
    """SIGTERM (128 + 15, as a shell reports it): an apply finished its calls in flight and printed its report."""


class DtsflowError(Exception):
    """Base of every error dtsflow reports to a user (exit code 1)."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one manifest file, located as precisely as we can."""

    file: str
    line: int | None
    path: str  # JSON path such as "$.tasks[0].src.port", or "" when the problem is not inside the document
    message: str
    excerpt: str | None = None  # a few numbered source lines, for YAML and template errors
    column: int | None = None  # 1-based, where known (YAML syntax errors); not part of the text form

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        head = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{head}\n{self.excerpt}" if self.excerpt else head


MAX_DIAGNOSTICS = 100
"""At most this many diagnostics are reported per run (a 132-byte template can make tens of thousands)."""


_TASK_INDEX = re.compile(r"^\$\.tasks\[\d+\]")
SHOWN_REPEATS = 3
"""How many of the other tasks a collapsed diagnostic names (with their lines) before `...`."""


def collapse_repeats(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The same message at the same place of several tasks of one file is said once, with how many more tasks it
    is about and where the first few are: one mistake in a `{% for %}` loop's body is one problem, not 300."""
    groups: dict[tuple[str, ...], list[Diagnostic]] = {}
    for index, diagnostic in enumerate(diagnostics):
        same = _TASK_INDEX.sub("$.tasks[*]", diagnostic.path)
        key = (diagnostic.file, diagnostic.message, same) if same != diagnostic.path else (str(index),)
        groups.setdefault(key, []).append(diagnostic)
    collapsed = []
    for group in groups.values():
        first = group[0]
        if len(group) > 1:
            others = ", ".join(_task_at(d) for d in group[1 : SHOWN_REPEATS + 1])
            more = ", ..." if len(group) > SHOWN_REPEATS + 1 else ""
            first = replace(
                first, message=f"{first.message} (and the same in {len(group) - 1} more task(s): {others}{more})"
            )
        collapsed.append(first)
    return collapsed


def _task_at(diagnostic: Diagnostic) -> str:
    match = _TASK_INDEX.match(diagnostic.path)
    task = match.group(0) if match else diagnostic.path
    return f"{task} at line {diagnostic.line}" if diagnostic.line else task


class ManifestError(DtsflowError):
    """One or more manifests are invalid; holds every diagnostic found, not just the first, up to
    `MAX_DIAGNOSTICS` (`omitted` counts the rest, and the message says so). The same problem of many tasks made
    by one template line is one diagnostic (`collapse_repeats`)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        diagnostics = collapse_repeats(diagnostics)
        self.diagnostics = diagnostics[:MAX_DIAGNOSTICS]
        self.omitted = len(diagnostics) - len(self.diagnostics)
        count = len(diagnostics)
        head = "invalid manifest:" if count == 1 else f"invalid manifests ({count} problems):"
        tail = (
            [f"... and {self.omitted} more problem(s) not shown (at most {MAX_DIAGNOSTICS} are reported per run)"]
            if self.omitted
            else []
        )
        super().__init__("\n".join([head, *(str(d) for d in self.diagnostics), *tail]))


class ConfigError(DtsflowError):
    """Bad credentials, endpoint or command-line value."""


class ApiError(DtsflowError):
    """The DTS API answered with an error, or not at all.

    `status` is 0 when no HTTP answer arrived (connection error, timeout).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
        *,
        operation: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        super().__init__(self._describe())

    def _describe(self) -> str:
        what = f"{self.operation}: " if self.operation else ""
        http = f"HTTP {self.status} " if self.status else ""
        rid = f" (requestId {self.request_id})" if self.request_id else ""
        return f"{what}{http}{self.code}: {self.message}{rid}"


class PlanError(DtsflowError):
    """The plan cannot be made at all."""


class StalePlanError(DtsflowError):
    """A saved plan no longer matches the manifests or the live tasks; nothing was done."""
