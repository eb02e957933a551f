"""`dtsflow show PLAN.json`: a saved plan rendered for review, as `terraform show PLANFILE` does.

No request and no re-planning: the file is checked against the plan's JSON Schema exactly as `apply PLAN.json`
checks it (a located error for a file that is not a plan), then rendered with the renderers `plan` uses.
"""

from __future__ import annotations

import sys

from dtsflow.commands.args import ShowArgs


def run(args: ShowArgs) -> int:
    from dtsflow.commands.common import use_colour
    from dtsflow.plan.render import render_plan
    from dtsflow.plan.saved import load_plan

    plan = load_plan(args.plan)
    sys.stdout.write(render_plan(plan, args.format, color=args.format == "text" and use_colour(sys.stdout)))
    return 0
