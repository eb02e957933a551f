"""Terraform-like text: one block per changing task (`+ ~ > - -/+`), numbered steps, one summary line.

Colours only when asked (the command asks on a terminal without NO_COLOR). Passwords show as `(sensitive)`.
"""

from __future__ import annotations

import json

from dtsflow.client.statuses import describe_statuses
from dtsflow.escape import for_terminal
from dtsflow.manifest.grammar import format_duration
from dtsflow.manifest.model import Endpoint, TaskSpec
from dtsflow.plan.cutover import describe
from dtsflow.plan.model import Action, Change, Plan, Step, StepKind
from dtsflow.plan.render.common import SYMBOLS, summary_line

COLOURS = {
    Action.CREATE: "32",  # green
    Action.RECONFIGURE: "33",  # yellow
    Action.RESIZE: "33",
    Action.TRANSITION: "36",  # cyan
    Action.REPLACE: "35",  # magenta
    Action.DELETE: "31",  # red
    Action.RENAME: "36",
}
RED_BOLD = "1;31"


def _paint(text: str, code: str | None = None, color: bool = False) -> str:
    """One output line: through the terminal sink (names and messages may be hostile), then coloured if asked."""
    text = for_terminal(text)
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
    src, dst = spec.ends()  # shown for a create or a replacement: the task says what to migrate
    return [
        f"src: {endpoint_line(src)}",
        f"dst: {endpoint_line(dst)}",
        f"standard {spec.standard}; dataType {', '.join(spec.data_types())}; granularity {spec.granularity}",
        *([f"objects: {objects}"] if objects else []),
        *([f"options: {options}"] if (options := option_summary(spec)) else []),
    ]


def option_summary(spec: TaskSpec) -> str:
    """The column, DML and DDL filters and the other modelled options of a task, in the manifest's words."""
    parts = []
    if spec.columns is not None:
        for kind, tables in (("include", spec.columns.include), ("exclude", spec.columns.exclude)):
            parts += [f"columns {kind} {table}[{', '.join(cols)}]" for table, cols in (tables or {}).items()]
    for key, kinds in (("dml", spec.dml), ("ignoreDdl", spec.ignore_ddl)):
        if kinds is not None:
            parts.append(f"{key} {', '.join(kinds)}")
    for key, value in (("queueType", spec.queue_type), ("netType", spec.net_type)):
        if value is not None:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def override_lines(change: Change) -> list[str]:
    """`api.create` / `api.config` exactly as they will be merged into the request, marked as overrides."""
    spec = change.spec
    if spec is None:
        return []
    sends = {s.kind for s in change.steps}
    lines = []
    for key, body, kind in (("create", spec.api.create, StepKind.CREATE), ("config", spec.api.config, StepKind.CONFIG)):
        if body and kind in sends:
            sent = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(", ", ": "))
            lines.append(f"api.{key} override (sent as is): {sent}")
    return lines


def step_detail(step: Step) -> str:
    notes: list[str] = []
    if step.kind is StepKind.RESIZE and step.standard:
        notes.append(f"to {step.standard}")
    if step.wait_for:
        wait = f"wait for {describe_statuses(step.wait_for)}"
        if step.timeout_seconds is not None:
            wait += f" (timeout {format_duration(step.timeout_seconds)})"
        notes.append(wait)
    if step.kind is StepKind.DELETE:
        notes.append("until the task is gone")
    if step.skip_allowed:
        notes.append(f"may skip failed: {', '.join(step.skip_allowed)}")
    if step.kind is StepKind.PAIR_PRECHECK:
        notes.insert(0, "both directions")
    if step.kind is StepKind.WAIT_LAG and step.max_delay is not None:
        limit = step.timeout_seconds or step.default_timeout_seconds
        notes.append(
            f"until the replication delay is at most {format_duration(step.max_delay)} (timeout {format_duration(limit)})"
        )
    elif step.max_delay is not None:  # a cutover's shutdown or switch
        notes.append(f"refused if the delay is above {format_duration(step.max_delay)}")
    if step.kind is StepKind.SWITCH and step.direction:
        notes.insert(0, f"to {step.direction}")
    marks = [m for m, on in (("[disruptive]", step.disruptive), ("[destructive]", step.destructive)) if on]
    return "  ".join(part for part in ("; ".join(notes), *marks) if part)


def pair_lines(spec: TaskSpec) -> list[str]:
    """Both directions of a one-click reverse pair, as the plan shows them."""
    if spec.reverse is None or spec.src is None or spec.dst is None:
        return []
    back = spec.reverse
    src, dst = spec.src, spec.dst
    dml = ", ".join(back.dml) if back.dml else "all DML"
    forward = f"forward: {src.db_type} {src.host or src.instance_id} -> {dst.db_type} {dst.host or dst.instance_id}"
    way_back = f"way back: {dst.db_type} {dst.host or dst.instance_id} -> {src.db_type} {src.host or src.instance_id}"
    return [
        f"pair (one-click reverse), desired direction {back.direction}",
        forward,
        f"{way_back}; dataType {', '.join(back.data_type)}; {dml}",
    ]


def change_header(change: Change) -> str:
    where = f"{change.live_status or 'absent'} -> {change.desired or 'absent'}"
    ident = f" {change.dts_id}" if change.dts_id else ""
    marks = "  ADOPT" if change.adopt else ""
    if change.destructive:
        marks += "  DESTRUCTIVE"
    elif change.disruptive:
        marks += "  DISRUPTIVE"
    if change.cutover is not None:
        marks += "  CUTOVER"
    return f"{SYMBOLS[change.action]} {change.task}{ident}  {change.action} ({where}){marks}"


def change_lines(change: Change, *, color: bool = False) -> list[str]:
    """The block of one change: header, reason, diff, numbered steps, its error and failed checks."""
    lines = [_paint(change_header(change), COLOURS.get(change.action), color)]
    if change.action not in (Action.TRANSITION, Action.NOOP) or change.diff:  # else the header says it
        lines.append(_paint(f"    {change.reason}"))
    for warning in change.warnings:
        lines.append(_paint(f"    warning: {warning}", "33", color))
    if change.adopt:
        lines.append(
            _paint("    adopt: dtsflow did not create this task; this run takes it over and tags it as dtsflow's")
        )
    if change.renamed_from:
        lines.append(_paint(f"    rename: the live task is named {change.renamed_from} (a previous name)"))
    if change.depends_on:
        lines.append(_paint(f"    after: {', '.join(change.depends_on)}"))
    if change.action in (Action.CREATE, Action.REPLACE) and change.spec is not None:
        lines += [_paint(f"    {line}") for line in spec_lines(change.spec)]
    lines += [_paint(f"    {line}") for line in override_lines(change)]
    if change.spec is not None and (change.action is not Action.NOOP or change.error):
        lines += [_paint(f"    {line}") for line in pair_lines(change.spec)]
    if change.cutover is not None:
        lines.append(_paint(f"    {describe(change.cutover)}", RED_BOLD if change.cutover.above else None, color))
    for d in change.diff:
        lines.append(_paint(f"    ~ {d.path}: {d.before or '(none)'} -> {d.after or '(none)'}"))
    for number, step in enumerate(change.steps, 1):
        detail = step_detail(step)
        lines.append(_paint(f"    {number}. {step.kind.value:<14}{detail}".rstrip()))
    for item in change.precheck:
        if item.failed:
            lines.append(_paint(f"    precheck failed: {item.name}: {item.message or item.subscription}"))
    if change.error:
        lines.append(_paint(f"    error: {change.error}", RED_BOLD, color))
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    shown = [c for c in plan.changes if c.action is not Action.NOOP or c.error or c.steps]
    unchanged = len(plan.changes) - len(shown)
    out: list[str] = []
    if shown:
        out.append("dtsflow will perform these operations, in this order:")
        out.append("")
        for change in shown:
            out += [f"  {line}" for line in change_lines(change, color=color)]
            out.append("")
    else:
        differing = [c for c in plan.changes if c.diff]
        if differing:  # in its desired status, but its config is not the manifest's: never say "every task is"
            out += ["No changes to apply, but the config of these tasks differs and this plan does not change it:", ""]
            for change in differing:
                out += [f"  {line}" for line in change_lines(change, color=color)]
                out.append("")
        else:
            out += ["No changes. Every task is in its desired state.", ""]
    if unchanged and shown:
        out += [f"{unchanged} task(s) unchanged.", ""]
    if plan.would_prune:
        out += [_paint(f"Would be pruned with --prune: {', '.join(plan.would_prune)}"), ""]
    if plan.orphans:
        out.append("Possible orphans (unnamed unConfig tasks, maybe left by an interrupted create):")
        out += [_paint(f"  {o.dts_id} {o.status} created {o.create_time or '?'}") for o in plan.orphans]
        out.append("")
    out += [_paint(f"warning: {w}") for w in plan.warnings]
    if plan.warnings:
        out.append("")
    errors = plan.errors
    if errors:
        out.append(_paint(f"This plan has {len(errors)} error(s) and cannot be applied:", RED_BOLD, color))
        out += [_paint(f"  {c.task}: {c.error}") for c in errors]
        out.append("")
    out.append(summary_line(plan))
    return "\n".join(out) + "\n"
