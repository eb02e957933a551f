"""Markdown for a pull-request comment: summary table, failed prechecks, a collapsed `<details>` per task.

Kept under `MAX_CHARS` (GitHub refuses comments over 65,536 characters): rows and details are added while
they fit, and a note says what was cut.
"""

from __future__ import annotations

from dtsflow.plan import Action, Change, Plan
from dtsflow.render import SYMBOLS, summary_line
from dtsflow.render.text import change_lines

MAX_CHARS = 60_000
CUT_RESERVE = 400  # room for the note that says what was cut


def cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, newlines or HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    return text.replace("```", "`\u200b``")


def _row(change: Change) -> str:
    steps = " → ".join(s.kind.value for s in change.steps) or ("—" if not change.error else "**error**")
    marks = " ⚠️ destructive" if change.destructive else (" ⚠️ disruptive" if change.disruptive else "")
    return (
        f"| `{SYMBOLS[change.action]}` | `{cell(change.task)}` | {change.action}{marks} | "
        f"{cell(change.live_status or 'absent')} | {cell(str(change.desired or 'absent'))} | {cell(steps)} |"
    )


def _details(change: Change) -> str:
    body = "\n".join(change_lines(change))
    summary = f"<code>{cell(SYMBOLS[change.action])} {cell(change.task)}</code> {change.action}"
    return f"<details><summary>{summary}</summary>\n\n```text\n{_fence(body)}\n```\n\n</details>\n"


def render_markdown(plan: Plan) -> str:
    shown = [c for c in plan.changes if c.action is not Action.NOOP or c.error]
    head: list[str] = ["### dtsflow plan", "", f"**{summary_line(plan)}**", ""]
    if not shown:
        head += ["No changes. Every task is in its desired state.", ""]
    if plan.errors:
        head += [f"> [!CAUTION]\n> This plan has {len(plan.errors)} error(s) and cannot be applied.", ""]
        head += [f"- `{cell(c.task)}`: {cell(c.error or '')}" for c in plan.errors] + [""]
    failed = [(c, i) for c in plan.changes for i in c.precheck if i.failed]
    tables: list[str] = []
    if shown:
        tables += ["| | Task | Action | Live status | Desired | Steps |", "|:-:|---|---|---|---|---|"]
        tables += [_row(c) for c in shown]
        tables.append("")
    if failed:
        tables += ["#### Failed prechecks", "", "| Task | Check | Message | Description |", "|---|---|---|---|"]
        tables += [
            f"| `{cell(c.task)}` | `{cell(i.name)}` | {cell(i.message)} | {cell(i.subscription)} |" for c, i in failed
        ]
        tables.append("")
    notes: list[str] = []
    if plan.would_prune:
        notes += [f"Would be pruned with `--prune`: {', '.join(f'`{cell(n)}`' for n in plan.would_prune)}", ""]
    if plan.orphans:
        ids = ", ".join(f"`{cell(o.dts_id)}`" for o in plan.orphans)
        notes += [f"Possible orphans (unnamed `unConfig` tasks): {ids}", ""]

    out = "\n".join(head) + "\n"
    budget = MAX_CHARS - CUT_RESERVE
    cut_rows = 0
    for line in [*tables, *notes]:
        if len(out) + len(line) + 1 > budget:
            cut_rows += 1
            continue
        out += line + "\n"
    cut_details = 0
    for change in shown:
        block = _details(change)
        if cut_rows or len(out) + len(block) > budget:
            cut_details += 1
            continue
        out += block
    if cut_rows or cut_details:
        out += (
            f"\n_Output cut to fit a comment: {cut_rows} table line(s) and {cut_details} task detail(s) omitted. "
            "Run `dtsflow plan` to see the whole plan._\n"
        )
    return out
