"""Terraform-like text: one block per changing task (`+ ~ > - -/+`), numbered steps, one summary line.

Colours only when asked (the command asks on a terminal without NO_COLOR). Passwords show as `(sensitive)`.
"""

from __future__ import annotations

from dtsflow.manifest import Endpoint, TaskSpec
from dtsflow.plan import Action, Change, Plan, Step, StepKind
from dtsflow.render import SYMBOLS, format_seconds, summary_line

COLOURS = {
    Action.CREATE: "32",  # green
    Action.RECONFIGURE: "33",  # yellow
    Action.RESIZE: "33",
    Action.TRANSITION: "36",  # cyan
    Action.REPLACE: "35",  # magenta
    Action.DELETE: "31",  # red
}
RED_BOLD = "1;31"


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def endpoint_line(endpoint: Endpoint) -> str:
    parts = [f"{endpoint.instance_type}/{endpoint.db_type}", endpoint.region]
    if endpoint.instance_id:
        parts.append(f"instance {endpoint.instance_id}")
    if endpoint.host:
        parts.append(f"{endpoint.host}:{endpoint.port}" if endpoint.port else endpoint.host)
    if endpoint.user:
        parts.append(f"user {endpoint.user}")
    if endpoint.password:
        parts.append("password (sensitive)")
    return " ".join(parts)


def spec_lines(spec: TaskSpec) -> list[str]:
    objects = ", ".join(
        f"{o.type} {o.src}"
        + (f" -> {o.dst}" if o.dst and o.dst != o.src else "")
        + (f" where {o.where}" if o.where else "")
        for o in spec.objects
    )
    return [
        f"src: {endpoint_line(spec.src)}",
        f"dst: {endpoint_line(spec.dst)}",
        f"standard {spec.standard}; dataType {', '.join(spec.data_type)}; granularity {spec.granularity}",
        *([f"objects: {objects}"] if objects else []),
    ]


def step_detail(step: Step) -> str:
    notes: list[str] = []
    if step.kind is StepKind.RESIZE and step.standard:
        notes.append(f"to {step.standard}")
    if step.wait_for:
        wait = f"wait for {' or '.join(step.wait_for)}"
        if step.timeout_seconds is not None:
            wait += f" (timeout {format_seconds(step.timeout_seconds)})"
        notes.append(wait)
    if step.kind is StepKind.DELETE:
        notes.append("until the task is gone")
    if step.skip_allowed:
        notes.append(f"may skip failed: {', '.join(step.skip_allowed)}")
    marks = [m for m, on in (("[disruptive]", step.disruptive), ("[destructive]", step.destructive)) if on]
    return "  ".join(part for part in ("; ".join(notes), *marks) if part)


def change_header(change: Change) -> str:
    where = f"{change.live_status or 'absent'} -> {change.desired or 'absent'}"
    ident = f" {change.dts_id}" if change.dts_id else ""
    marks = ""
    if change.destructive:
        marks += "  DESTRUCTIVE"
    elif change.disruptive:
        marks += "  DISRUPTIVE"
    return f"{SYMBOLS[change.action]} {change.task}{ident}  {change.action} ({where}){marks}"


def change_lines(change: Change, *, color: bool = False) -> list[str]:
    """The block of one change: header, reason, diff, numbered steps, its error and failed checks."""
    lines = [_paint(change_header(change), COLOURS.get(change.action), color)]
    if change.action not in (Action.TRANSITION, Action.NOOP):  # the header already says it
        lines.append(f"    {change.reason}")
    if change.depends_on:
        lines.append(f"    after: {', '.join(change.depends_on)}")
    if change.action in (Action.CREATE, Action.REPLACE) and change.spec is not None:
        lines += [f"    {line}" for line in spec_lines(change.spec)]
    for d in change.diff:
        lines.append(f"    ~ {d.path}: {d.before or '(none)'} -> {d.after or '(none)'}")
    for number, step in enumerate(change.steps, 1):
        detail = step_detail(step)
        lines.append(f"    {number}. {step.kind.value:<14}{detail}".rstrip())
    for item in change.precheck:
        if item.failed:
            lines.append(f"    precheck failed: {item.name}: {item.message or item.subscription}")
    if change.error:
        lines.append(_paint(f"    error: {change.error}", RED_BOLD, color))
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    shown = [c for c in plan.changes if c.action is not Action.NOOP or c.error]
    unchanged = len(plan.changes) - len(shown)
    out: list[str] = []
    if shown:
        out.append("dtsflow will perform these operations, in this order:")
        out.append("")
        for change in shown:
            out += [f"  {line}" for line in change_lines(change, color=color)]
            out.append("")
    else:
        out += ["No changes. Every task is in its desired state.", ""]
    if unchanged and shown:
        out += [f"{unchanged} task(s) unchanged.", ""]
    if plan.would_prune:
        out += [f"Would be pruned with --prune: {', '.join(plan.would_prune)}", ""]
    if plan.orphans:
        out.append("Possible orphans (unnamed unConfig tasks, maybe left by an interrupted create):")
        out += [f"  {o.dts_id} {o.status} created {o.create_time or '?'}" for o in plan.orphans]
        out.append("")
    errors = plan.errors
    if errors:
        out.append(_paint(f"This plan has {len(errors)} error(s) and cannot be applied:", RED_BOLD, color))
        out += [f"  {c.task}: {c.error}" for c in errors]
        out.append("")
    out.append(summary_line(plan))
    return "\n".join(out) + "\n"
