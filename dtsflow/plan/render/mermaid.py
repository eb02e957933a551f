"""A mermaid flowchart of a plan, for the markdown comment: one box per task, its steps, its `dependsOn` edges.

GitHub and GitLab draw a ```` ```mermaid ```` block in a comment. Task names, statuses, step names and the
service's messages reach the diagram only through `mermaid_label`, which keeps letters, digits (any script) and a
few harmless punctuation marks and turns every other character into a space, so that no string can close a label,
start a statement, inject HTML or a markdown string into a label, or end the code fence. (Mermaid's own entity
codes, `#35;`, are not used: recent mermaid versions draw them literally in some label kinds.) The label is a
picture; the exact text is in the plan's table and details below it. Node ids are generated (`t0`, `t0s1`), never
taken from a name.

The diagram is kept under a character budget (mermaid refuses texts over 50,000 characters by default and GitHub
comments are capped too): the detailed form (a subgraph per task, one node per step) is used when it fits, else
the compact form (one node per task, its steps in the label), else none (`render_mermaid` returns "").
Subgraphs are coloured with `style` (a `class` on a subgraph that has edges is ignored by mermaid).
"""

from __future__ import annotations

from dtsflow.plan.model import Action, Change, Plan

DEFAULT_BUDGET = 20_000
MAX_EDGES = 400  # mermaid's default maxEdges is 500
_PUNCTUATION = frozenset(" _-.,:/()+~=!?@%*'")
_WORDS = {
    "NOOP": "=",
    "CREATE": "+",
    "RECONFIGURE": "~",
    "RESIZE": "~",
    "TRANSITION": "",
    "REPLACE": "-/+",
    "DELETE": "-",
}

# One style per action; `keep` is an unchanged task shown because a changing task depends on it.
_CLASSES = {
    "create": "fill:#e6ffed,stroke:#2da44e,color:#1a3d24",
    "change": "fill:#fff8c5,stroke:#bf8700,color:#3d2e00",
    "transition": "fill:#ddf4ff,stroke:#0969da,color:#0a3069",
    "remove": "fill:#ffebe9,stroke:#cf222e,color:#5c0a10",
    "keep": "fill:#f6f8fa,stroke:#8c959f,color:#57606a,stroke-dasharray:3 3",
    "error": "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,color:#5c0a10",
}
_CLASS_OF = {
    Action.NOOP: "keep",
    Action.CREATE: "create",
    Action.RECONFIGURE: "change",
    Action.RESIZE: "change",
    Action.TRANSITION: "transition",
    Action.REPLACE: "remove",
    Action.DELETE: "remove",
    Action.RENAME: "transition",
}


def mermaid_label(text: str, limit: int = 160) -> str:
    """`text` safe inside a quoted mermaid label: letters, digits and harmless punctuation kept, anything else a
    space (runs of spaces collapse), at most `limit` characters."""
    kept = "".join(ch if ch.isalnum() or ch in _PUNCTUATION else " " for ch in text)
    words = " ".join(kept.split())
    return words if len(words) <= limit else words[: limit - 3].rstrip() + "..."


def _class(change: Change) -> str:
    return "error" if change.error else _CLASS_OF[change.action]


def _title(change: Change) -> str:
    if change.action is Action.NOOP and not change.error:
        return f"{change.task}: unchanged ({change.live_status or 'absent'})"
    where = f"{change.live_status or 'absent'} to {change.desired or 'absent'}"
    return f"{_WORDS[change.action.name]} {change.task}: {change.action} ({where})".strip()


def _nodes(plan: Plan) -> list[Change]:
    """The changing tasks, plus the unchanged ones a changing task depends on (so each edge has two ends)."""
    shown = [c for c in plan.changes if c.action is not Action.NOOP or c.error]
    wanted = {c.task for c in shown} | {d for c in shown for d in c.depends_on}
    return [c for c in plan.changes if c.task in wanted]


def _edges(changes: list[Change], ids: dict[str, str]) -> list[str]:
    return [f"  {ids[d]} --> {ids[c.task]}" for c in changes for d in c.depends_on if d in ids]


def _detailed(changes: list[Change], ids: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for change in changes:
        node = ids[change.task]
        lines.append(f'  subgraph {node}["{mermaid_label(_title(change))}"]')
        lines.append("    direction LR")
        if change.error:
            lines.append(f'    {node}e["{mermaid_label("error: " + change.error)}"]')
        elif not change.steps:
            lines.append(f'    {node}n["{mermaid_label("no change")}"]')
        else:
            chain = " --> ".join(
                f'{node}s{i}["{mermaid_label(f"{i}. {s.kind.value}" + (" (wait)" if s.wait_for else ""))}"]'
                for i, s in enumerate(change.steps, 1)
            )
            lines.append(f"    {chain}")
        lines.append("  end")
        lines.append(f"  style {node} {_CLASSES[_class(change)]}")
    return lines


def _compact(changes: list[Change], ids: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for change in changes:
        steps = ", ".join(s.kind.value for s in change.steps) or ("error" if change.error else "no change")
        label = f"{mermaid_label(_title(change))}<br/>{mermaid_label(steps)}"
        lines.append(f'  {ids[change.task]}["{label}"]:::{_class(change)}')
    return lines


def render_mermaid(plan: Plan, *, budget: int = DEFAULT_BUDGET) -> str:
    """The fenced mermaid block (ending in a newline), or "" when nothing changes or it cannot fit `budget`."""
    changes = _nodes(plan)
    if not any(c.action is not Action.NOOP or c.error for c in changes):
        return ""
    ids = {c.task: f"t{i}" for i, c in enumerate(changes)}
    edges = _edges(changes, ids)
    if len(edges) > MAX_EDGES:
        return ""
    styles = [f"  classDef {name} {style}" for name, style in _CLASSES.items()]
    for body in (_detailed(changes, ids), _compact(changes, ids)):
        text = "\n".join(["```mermaid", "flowchart LR", *styles, *body, *edges, "```"]) + "\n"
        if len(text) <= budget:
            return text
    return ""
