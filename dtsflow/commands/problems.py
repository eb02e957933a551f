"""Errors and warnings in the machine formats a command was asked for: JSON, markdown (a pull-request comment) and
GitHub workflow commands (`::error file=...,line=...::message`, shown as annotations on the pull request's files).

`dtsflow validate --format json|github` prints its result this way; the CLI's error boundary uses it so that a
`plan`/`show --format json|markdown`, `apply`/`destroy --format json` or `status --format json` that stops on an
error (an invalid manifest or plan file above all) still prints something its reader can parse on stdout. Every string from a manifest goes
through the sink's escaping (`dtsflow.escape`): a manifest cannot inject a workflow command, markdown or HTML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dtsflow.errors import Diagnostic, DtsflowError, ManifestError
from dtsflow.escape import for_markdown, for_markdown_code, for_workflow_message, for_workflow_property

FORMAT_VERSION = "1"
ANNOTATION_TITLE = "dtsflow"
EVENT_COMMANDS = ("apply", "destroy")
"""Commands whose `--format json` is JSON Lines of events: their error is one more event, `{"event": "error"}`."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning: located in a manifest where it is about one (file, line, column, JSON path)."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @classmethod
    def of(cls, diagnostic: Diagnostic) -> Problem:
        return cls(diagnostic.message, diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.path or None)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path, "message": self.message}

    @property
    def text(self) -> str:
        """The message with its JSON path, as an annotation (which shows the file and line itself) says it."""
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class Failure:
    """What stopped a command: a summary line and its problems (at most `MAX_DIAGNOSTICS`; `omitted` the rest)."""

    summary: str
    problems: tuple[Problem, ...]
    omitted: int = 0

    @classmethod
    def of(cls, exc: DtsflowError) -> Failure:
        if isinstance(exc, ManifestError):
            count = len(exc.diagnostics) + exc.omitted
            summary = "invalid manifest" if count == 1 else f"invalid manifests ({count} problems)"
            return cls(summary, tuple(Problem.of(d) for d in exc.diagnostics), exc.omitted)
        text = str(exc)
        return cls(text.split("\n", 1)[0], (Problem(text),))


def error_document(failure: Failure) -> dict[str, Any]:
    """The JSON document of a failure: `error` (the summary), `errors` (each located where known), `omitted`."""
    return {
        "format_version": FORMAT_VERSION,
        "error": failure.summary,
        "errors": [p.to_dict() for p in failure.problems],
        "omitted": failure.omitted,
    }


def render_json(document: dict[str, Any], *, lines: bool = False) -> str:
    """Indented, or one compact line (for outputs that are JSON Lines, such as apply's events)."""
    if lines:
        return json.dumps(document, sort_keys=True, ensure_ascii=False) + "\n"
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def workflow_command(kind: str, problem: Problem) -> str:
    """`::error file=F,line=L,col=C,title=dtsflow::message` (or `::warning`), every part escaped."""
    properties = []
    if problem.file:
        properties.append(f"file={for_workflow_property(problem.file)}")
        if problem.line:
            properties.append(f"line={problem.line}")
            if problem.column:
                properties.append(f"col={problem.column}")
    properties.append(f"title={for_workflow_property(ANNOTATION_TITLE)}")
    return f"::{kind} {','.join(properties)}::{for_workflow_message(problem.text)}\n"


def render_github(errors: Iterable[Problem], warnings: Iterable[Problem] = ()) -> str:
    return "".join(
        [*(workflow_command("error", p) for p in errors), *(workflow_command("warning", p) for p in warnings)]
    )


def render_markdown(command: str, failure: Failure) -> str:
    """A section for a pull-request comment: what stopped `dtsflow COMMAND`, one table row per problem."""
    lines = [
        f"### dtsflow {command}: {for_markdown(failure.summary)}",
        "",
        "> [!CAUTION]",
        f"> `dtsflow {command}` stopped before any change: nothing was planned or applied. Fix the problems below "
        "and run it again.",
        "",
        "| file | line | path | problem |",
        "|---|---|---|---|",
    ]
    for p in failure.problems:
        where = for_markdown_code(p.file) if p.file else ""
        path = for_markdown_code(p.path) if p.path else ""
        lines.append(f"| {where} | {p.line or ''} | {path} | {for_markdown(p.message)} |")
    if failure.omitted:
        lines += ["", f"_and {failure.omitted} more problem(s) not shown (at most {len(failure.problems)} per run)_"]
    return "\n".join(lines) + "\n"


def failure_output(command: str, fmt: str, exc: DtsflowError, *, json_lines: bool = False) -> str | None:
    """What a command that failed with `exc` prints on stdout in its `--format`; None for the text format (the
    error line on stderr says it all). `apply`/`destroy --format json` print events, one per line: the failure
    is one more, `{"event": "error", ...}`; `json_lines` (`status --watch`) prints the document on one line."""
    failure = Failure.of(exc)
    if fmt == "json":
        document = error_document(failure)
        if command == "validate":
            document.update(valid=False, files=None, tasks=None, warnings=[])
        if command in EVENT_COMMANDS:
            return render_json({**document, "event": "error"}, lines=True)
        return render_json(document, lines=json_lines)
    if fmt == "markdown":
        return render_markdown(command, failure)
    if fmt == "github":
        return render_github(failure.problems)
    return None


def problems_of(diagnostics: Sequence[Diagnostic]) -> list[Problem]:
    return [Problem.of(d) for d in diagnostics]
