"""What the plan renderers share: the change symbols and the summary line. Pure."""

from __future__ import annotations

from dtsflow.plan.model import Action, Plan

SYMBOLS: dict[Action, str] = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.RECONFIGURE: "~",
    Action.RESIZE: "~",
    Action.TRANSITION: ">",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.RENAME: ">",
}


def summary_line(plan: Plan) -> str:
    """`Plan: 1 to create, 1 to reconfigure, 2 to transition, 0 to delete.` (replacements only when any).

    Changes with an error are not counted: they are listed as errors.
    """
    count = {a: sum(1 for c in plan.changes if c.action is a and not c.error) for a in Action}
    parts = [
        f"{count[Action.CREATE]} to create",
        f"{count[Action.RECONFIGURE] + count[Action.RESIZE]} to reconfigure",
        f"{count[Action.TRANSITION]} to transition",
    ]
    if count[Action.REPLACE]:
        parts.append(f"{count[Action.REPLACE]} to replace")
    parts.append(f"{count[Action.DELETE]} to delete")
    renamed = sum(1 for c in plan.changes if c.renamed_from and not c.error)
    if renamed:
        parts.append(f"{renamed} to rename")
    adopted = sum(1 for c in plan.changes if c.adopt and not c.error)
    if adopted:
        parts.append(f"{adopted} to adopt")
    return "Plan: " + ", ".join(parts) + "."
