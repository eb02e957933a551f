"""`dtsflow apply PATH...|PLAN.json`: make (or load) the plan, confirm, execute it, report.

Order of business, so that a mistake costs nothing: parse flags and load every manifest (no API call when
invalid), refuse early when no terminal can confirm and `--auto-approve` is missing, then refresh, plan,
show, confirm, and only then mutate. `apply PLAN.json` loads the reviewed plan, re-reads its manifests and
the live tasks, refuses a stale plan, and applies exactly that plan without asking.

Ctrl-C: the first one stops launching steps; calls in flight finish, the report is printed, exit 130.
A second Ctrl-C exits at once (the journal is written ahead of every create, so a re-run converges).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from dtsflow.errors import ConfigError, PlanError
from dtsflow.events import EVENT_FORMAT_VERSION, Observer
from dtsflow.manifest import parse_duration
from dtsflow.plan import Plan
from dtsflow.report import ApplyReport, Outcome, TaskResult

if TYPE_CHECKING:
    from dtsflow.client import DtsClient
    from dtsflow.journal import Journal
    from dtsflow.loader import LoadedManifests

CONFIRM_PROMPT = "Apply these changes? Only 'yes' is accepted: "


def _is_saved_plan(paths: list[str]) -> bool:
    return len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file()


def run(args: argparse.Namespace) -> int:
    from dtsflow.loader import load_manifests, parse_var_args

    if args.parallelism < 1:
        raise ConfigError("--parallelism must be at least 1")
    timeout: float | None = None
    if args.timeout is not None:
        try:
            timeout = parse_duration(args.timeout)
        except ValueError:
            raise ConfigError(f"--timeout expects a duration such as 90s, 15m or 2h, got {args.timeout!r}") from None
    saved = _is_saved_plan(args.paths)
    variables = parse_var_args(args.var)
    if saved:
        from dtsflow.savedplan import load_plan

        plan_in: Plan | None = load_plan(args.paths[0])
        assert plan_in is not None
        if args.prune or args.allow_replace or args.reconfigure:
            print(
                "note: --prune, --allow-replace and --reconfigure shape a plan; the saved plan already has them",
                file=sys.stderr,
            )
        manifests = load_manifests(plan_in.manifest_paths, variables=variables, var_files=args.var_file)
        from dtsflow.preflight import check_secrets
        from dtsflow.secrets import resolve_secret

        check_secrets(plan_in, resolve_secret)  # the plan is known: check before any request
    else:
        plan_in = None
        manifests = load_manifests(args.paths, variables=variables, var_files=args.var_file)
        if not args.auto_approve and not _interactive():
            raise ConfigError("no terminal to confirm the plan: pass --auto-approve, or apply a saved plan (plan -o)")

    from dtsflow.applylock import apply_lock
    from dtsflow.connect import open_client
    from dtsflow.journal import Journal

    with apply_lock():
        journal = Journal()  # read now: a malformed journal stops the run before any request
        with open_client(args) as client:
            return _plan_and_apply(client, args, manifests, plan_in, journal, timeout)


def _plan_and_apply(
    client: DtsClient,
    args: argparse.Namespace,
    manifests: LoadedManifests,
    plan_in: Plan | None,
    journal: Journal,
    timeout: float | None,
) -> int:
    from dtsflow.refresh import fetch_live

    out = sys.stdout
    live = fetch_live(client)
    if plan_in is not None:
        from dtsflow.savedplan import check_stale

        check_stale(plan_in, manifests, live)
        plan = plan_in
    else:
        from dtsflow.commands.plan import plan_from_flags

        plan = plan_from_flags(manifests, live, args)
    _show_plan(plan, args.format, out)
    if plan.errors:
        raise PlanError("the plan cannot be applied: " + "; ".join(f"{c.task}: {c.error}" for c in plan.errors))
    if not plan.has_changes:
        if args.format == "json":
            report = ApplyReport(tasks=[TaskResult(c.task, str(c.action), Outcome.UNCHANGED) for c in plan.changes])
            out.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
        else:
            out.write("No changes.\n")
        return 0
    if plan_in is None and not args.auto_approve and not _confirm(out):
        out.write("Apply cancelled.\n")
        return 1
    return _execute(plan, client, args, journal, timeout, out)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _confirm(out: TextIO) -> bool:
    out.write(CONFIRM_PROMPT)
    out.flush()
    answer = sys.stdin.readline()  # Ctrl-C here is a KeyboardInterrupt: the CLI exits 130, nothing was done
    return answer.strip() == "yes"


def _show_plan(plan: Plan, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        from dtsflow.render.json import plan_document  # the same document as `plan --format json`

        line = {"format_version": EVENT_FORMAT_VERSION, "event": "plan", "plan": plan_document(plan)}
        out.write(json.dumps(line, sort_keys=True) + "\n")
        return
    if not plan.has_changes and not plan.errors:
        return
    from dtsflow.commands.plan import use_colour
    from dtsflow.render import render_plan

    out.write(render_plan(plan, "text", color=use_colour(out)).rstrip("\n") + "\n\n")


def _execute(
    plan: Plan, client: DtsClient, args: argparse.Namespace, journal: Journal, timeout: float | None, out: TextIO
) -> int:
    from dtsflow.executor import Executor
    from dtsflow.progress import JsonProgress, LiveProgress, PlainProgress
    from dtsflow.report import render_report_text
    from dtsflow.secrets import resolve_secret

    live_view: LiveProgress | None = None
    observer: Observer
    if args.format == "json":
        observer = JsonProgress(out)
    elif out.isatty():
        live_view = LiveProgress(out)
        observer = live_view
    else:
        observer = PlainProgress(out)
    stop = threading.Event()
    executor = Executor(
        client,
        journal=journal,
        observer=observer,
        parallelism=args.parallelism,
        resolve_secret=resolve_secret,
        timeout=timeout,
        stop_event=stop,
    )
    previous = _install_interrupt(stop, out)
    try:
        report = executor.apply(plan)
    finally:
        signal.signal(signal.SIGINT, previous)
        if live_view is not None:
            live_view.close()
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
    else:
        out.write("\n" + render_report_text(report) + "\n")
    out.flush()
    return report.exit_code


def _install_interrupt(stop: threading.Event, out: TextIO) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # second Ctrl-C: leave now
        stop.set()
        print("interrupt: finishing calls in flight, no new steps (Ctrl-C again to exit at once)", file=sys.stderr)

    return signal.signal(signal.SIGINT, handler)
