"""`dtsflow plan PATH...`: load manifests, read live tasks, make the plan, render it, optionally save it.

Exit codes: 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with --detailed-exitcode),
1 (an error, including a plan with an impossible transition: it is printed, then exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dtsflow.plan import Plan
    from dtsflow.planner import Manifests
    from dtsflow.refresh import Live


def use_colour(stream: object) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def plan_from_flags(manifests: Manifests, live: Live, args: argparse.Namespace) -> Plan:
    """The plan, shaped by the flags `plan` and `apply` share: --prune, --allow-replace, --reconfigure."""
    from dtsflow.planner import make_plan

    return make_plan(
        manifests, live, prune=args.prune, allow_replace=args.allow_replace, reconfigure=list(args.reconfigure)
    )


def run(args: argparse.Namespace) -> int:
    from dtsflow.connect import open_client
    from dtsflow.loader import load_from_args
    from dtsflow.refresh import fetch_live
    from dtsflow.render import render_plan
    from dtsflow.savedplan import save_plan

    manifests = load_from_args(args)  # every manifest is valid before any request is sent
    with open_client(args) as client:
        live = fetch_live(client)
    plan = plan_from_flags(manifests, live, args)
    sys.stdout.write(render_plan(plan, args.format, color=args.format == "text" and use_colour(sys.stdout)))
    sys.stdout.flush()
    if plan.errors:
        names = ", ".join(c.task for c in plan.errors)
        print(f"error: the plan cannot be applied: {names}", file=sys.stderr)
        return 1
    if args.out:
        save_plan(plan, args.out)
        print(f"Saved the plan to {args.out}; apply it with: dtsflow apply {args.out}", file=sys.stderr)
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0
