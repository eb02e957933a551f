"""Renderers: pure functions from a `Plan` to text. They return strings and never print.

`render_plan(plan, fmt)` picks one by name from `FORMATS` (also the `--format` choices of `plan`). JSON is the
machine contract (`format_version`); text and markdown are for people, and their wording may change.

This module imports no renderer, and no renderer imports it (they share `dtsflow.plan.render.common`): the
registry is names only, so that the CLI can offer the choices without loading pydantic. The renderers may import
`dtsflow.plan.model`, `dtsflow.manifest.model`/`grammar` and the client's status vocabulary; nothing that does I/O.
"""

from __future__ import annotations

TYPE_CHECKING = False  # keep `typing` out of `dtsflow --help`
if TYPE_CHECKING:
    from dtsflow.plan.model import Plan

FORMATS = ("text", "markdown", "json")


def render_plan(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan in `fmt` (text | markdown | json); `color` only affects text."""
    match fmt:
        case "text":
            from dtsflow.plan.render.text import render_text

            return render_text(plan, color=color)
        case "markdown":
            from dtsflow.plan.render.markdown import render_markdown

            return render_markdown(plan)
        case "json":
            from dtsflow.plan.render.json import render_json

            return render_json(plan)
    raise ValueError(f"unknown plan format {fmt!r}; choose one of {', '.join(FORMATS)}")
