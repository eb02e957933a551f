"""Markdown for a pull-request comment: summary, a mermaid diagram of the tasks, their steps and `dependsOn` edges,
the summary table, failed prechecks, a collapsed `<details>` per task.

Kept under `MAX_CHARS` (GitHub refuses comments over 65,536 characters): the diagram has its own share
(`DIAGRAM_BUDGET`, and is left out when it cannot fit), then table rows are added while they fit — cut from the
end of a table only, never leaving a hole — then notes and details, and a note says what was cut.
"""

from __future__ import annotations

from dtsflow.escape import for_markdown, for_markdown_code
from dtsflow.plan.cutover import describe
from dtsflow.plan.model import Action, Change, Plan
from dtsflow.plan.render.common import SYMBOLS, summary_line
from dtsflow.plan.render.mermaid import render_mermaid
from dtsflow.plan.render.text import change_lines

MAX_CHARS = 60_000
CUT_RESERVE = 400  # room for the note that says what was cut
DIAGRAM_BUDGET = 20_000  # at most this share of the comment goes to the picture
ERRORS_BUDGET = 20_000  # the list of plan errors (each may quote the service's message) gets at most this


def cell(text: str) -> str:
    """Text safe inline and inside a table cell: the markdown sink (`dtsflow.escape.for_markdown`)."""
    return for_markdown(text)


def _fence(text: str) -> str:
    return text.replace("```", "`\u200b``")


def _row(change: Change) -> str:
    # Step kinds are our own words: not escaped. A change without steps says why its cell is empty.
    steps = " → ".join(s.kind.value for s in change.steps) or ("—" if not change.error else "**error**")
    marks = " ⚠️ destructive" if change.destructive else (" ⚠️ disruptive" if change.disruptive else "")
    marks += " (adopted)" if change.adopt else ""
    marks += " ✂️ cutover" if change.cutover is not None else ""
    return (
        f"| `{SYMBOLS[change.action]}` | {for_markdown_code(change.task)} | {change.action}{marks} | "
        f"{cell(change.live_status or 'absent')} | {cell(str(change.desired or 'absent'))} | {steps} |"
    )


def _details(change: Change) -> str:
    body = "\n".join(change_lines(change))
    summary = f"<code>{SYMBOLS[change.action]} {for_markdown(change.task)}</code> {change.action}"
    return f"<details><summary>{summary}</summary>\n\n```text\n{_fence(body)}\n```\n\n</details>\n"


def _bounded(lines: list[str], budget: int, more: str = "- ") -> list[str]:
    """As many lines as fit in `budget` characters, then a line that says how many were left out; then a blank."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    if len(kept) < len(lines):
        kept.append(f"{more}_and {len(lines) - len(kept)} more; run `dtsflow plan` to see them all_")
    return [*kept, ""]


def render_markdown(plan: Plan) -> str:
    shown = [c for c in plan.changes if c.action is not Action.NOOP or c.error or c.steps]
    head: list[str] = ["### dtsflow plan", "", f"**{summary_line(plan)}**", ""]
    if not shown:
        head += ["No changes. Every task is in its desired state.", ""]
    if plan.errors:
        head += [f"> [!CAUTION]\n> This plan has {len(plan.errors)} error(s) and cannot be applied.", ""]
        head += _bounded([f"- {for_markdown_code(c.task)}: {cell(c.error or '')}" for c in plan.errors], ERRORS_BUDGET)
    if plan.warnings:
        head += ["> [!WARNING]", *_bounded([f"> - {cell(w)}" for w in plan.warnings], ERRORS_BUDGET // 2, "> - ")]
    cutovers = [c for c in plan.changes if c.cutover is not None]
    if cutovers:
        head += ["> [!IMPORTANT]", "> This plan cuts over:"]
        head += [f"> - {for_markdown_code(c.task)}: {cell(describe(c.cutover))}" for c in cutovers if c.cutover] + [""]
    failed = [(c, i) for c in plan.changes for i in c.precheck if i.failed]
    # Tables as (lines before the rows, rows): rows are cut from the end only, never one in the middle.
    tables: list[tuple[list[str], list[str]]] = []
    if shown:
        tables.append(
            (
                ["| | Task | Action | Live status | Desired | Steps |", "|:-:|---|---|---|---|---|"],
                [_row(c) for c in shown],
            )
        )
    if failed:
        tables.append(
            (
                ["#### Failed prechecks", "", "| Task | Check | Message | Description |", "|---|---|---|---|"],
                [
                    f"| {for_markdown_code(c.task)} | {for_markdown_code(i.name)} | {cell(i.message)} | "
                    f"{cell(i.subscription)} |"
                    for c, i in failed
                ],
            )
        )
    notes: list[str] = []
    if plan.would_prune:
        notes.append(f"Would be pruned with `--prune`: {', '.join(for_markdown_code(n) for n in plan.would_prune)}")
    if plan.orphans:
        ids = ", ".join(for_markdown_code(o.dts_id) for o in plan.orphans)
        notes.append(f"Possible orphans (unnamed `unConfig` tasks): {ids}")

    out = "\n".join(head) + "\n"
    budget = MAX_CHARS - CUT_RESERVE
    diagram = render_mermaid(plan, budget=min(DIAGRAM_BUDGET, budget - len(out)))
    if diagram:
        out += diagram + "\n"
    cut_rows = 0
    for above, rows in tables:
        if cut_rows:  # a table after a cut one would read as its continuation: it goes too
            cut_rows += len(rows)
            continue
        start = "\n".join(above) + "\n"
        if len(out) + len(start) + len(rows[0]) + 1 > budget:
            cut_rows += len(rows)  # not even one row: no table at all rather than a bare header
            continue
        out += start
        for n, row in enumerate(rows):
            if len(out) + len(row) + 1 > budget:
                cut_rows += len(rows) - n
                break
            out += row + "\n"
        out += "\n"
    cut_notes = 0
    for note in notes:  # paragraphs of their own: each is shown whole or not at all
        if len(out) + len(note) + 2 > budget:
            cut_notes += 1
            continue
        out += note + "\n\n"
    cut_details = 0
    for change in shown:
        block = _details(change)
        if cut_rows or len(out) + len(block) > budget:
            cut_details += 1
            continue
        out += block
    if cut_rows or cut_notes or cut_details:
        notes_cut = f", {cut_notes} note(s)" if cut_notes else ""
        out += (
            f"\n_Output cut to fit a comment: {cut_rows} table row(s){notes_cut} and {cut_details} task detail(s) "
            "omitted. Run `dtsflow plan` to see the whole plan._\n"
        )
    return out
