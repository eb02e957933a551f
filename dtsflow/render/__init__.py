"""Renderers: pure functions from a `Plan` to text. They return strings and never print.

`render_plan(plan, fmt)` picks one by name; `RENDERERS` holds them (`--format` choices). JSON is the machine
contract (`format_version`); text and markdown are for people, and their wording may change.
"""

from __future__ import annotations

from collections.abc import Callable

from dtsflow.plan import Action, Plan

Renderer = Callable[[Plan, bool], str]


def _text(plan: Plan, color: bool) -> str:
    from dtsflow.render.text import render_text

    return render_text(plan, color=color)


def _markdown(plan: Plan, color: bool) -> str:
    from dtsflow.render.markdown import render_markdown

    return render_markdown(plan)


def _json(plan: Plan, color: bool) -> str:
    from dtsflow.render.json import render_json

    return render_json(plan)


RENDERERS: dict[str, Renderer] = {"text": _text, "markdown": _markdown, "json": _json}

SYMBOLS: dict[Action, str] = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.RECONFIGURE: "~",
    Action.RESIZE: "~",
    Action.TRANSITION: ">",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
}


def render_plan(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan in `fmt` (text | markdown | json); `color` only affects text."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown plan format {fmt!r}; choose one of {', '.join(RENDERERS)}") from None
    return renderer(plan, color)


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
    return "Plan: " + ", ".join(parts) + "."


def format_seconds(seconds: float) -> str:
    """900 -> 15m, 90 -> 90s, 7200 -> 2h."""
    whole = int(seconds)
    if whole and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole and whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{seconds:g}s"
