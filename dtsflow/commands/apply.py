"""`dtsflow apply PATH...|PLAN.json`: make (or load) the plan, confirm, execute it, report.

Order of business, so that a mistake costs nothing: parse flags and load every manifest (no API call when
invalid), refuse early when no terminal can confirm and `--auto-approve` is missing, then refresh, plan,
show, confirm, and only then mutate. `apply PLAN.json` loads the reviewed plan, re-reads its manifests and
the live tasks, refuses a stale plan, and applies exactly that plan without asking.

Ctrl-C or SIGTERM: the first one stops launching steps; calls in flight finish, the report is printed, exit 130
(143 for SIGTERM). A second one exits at once (the journal is written ahead of every create, so a re-run
converges).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from dtsflow.apply.events import EVENT_FORMAT_VERSION, Observer
from dtsflow.apply.report import ApplyReport, Outcome, TaskResult
from dtsflow.commands.args import ApplyArgs, PlanShape
from dtsflow.errors import ConfigError, ExitCode, PlanError
from dtsflow.manifest.grammar import parse_duration
from dtsflow.plan.model import Plan, StepKind

if TYPE_CHECKING:
    from dtsflow.apply.executor import Executor
    from dtsflow.apply.journal import Journal
    from dtsflow.apply.progress import LiveProgress
    from dtsflow.apply.timeline import TimedEvent, Timeline
    from dtsflow.client.protocol import DtsClient
    from dtsflow.manifest.load import LoadedManifests

CONFIRM_PROMPT = "Apply these changes? Only 'yes' is accepted: "


def _is_saved_plan(paths: tuple[str, ...]) -> bool:
    if len(paths) > 1:
        _refuse_a_saved_plan_among(paths)
    return len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file()


def _refuse_a_saved_plan_among(paths: tuple[str, ...]) -> None:
    """A saved plan given with other paths would be read as a manifest (and fail on its plan keys). It is refused:
    the plan records the manifests it was made from and re-plans from them, so other paths have no place."""
    from dtsflow.plan.saved import looks_like_a_plan

    for path in paths:
        if path.endswith(".json") and looks_like_a_plan(path):
            raise ConfigError(
                f"{path} is a saved plan: apply it on its own (dtsflow apply {path}); it re-reads the manifests "
                "it was made from. To plan from manifests, give only manifests"
            )


def run(args: ApplyArgs) -> int:
    from dtsflow.commands.common import load, secret_policy

    if args.parallelism < 1:
        raise ConfigError("--parallelism must be at least 1")
    timeout: float | None = None
    if args.timeout is not None:
        try:
            timeout = parse_duration(args.timeout)
        except ValueError:
            raise ConfigError(f"--timeout expects a duration such as 90s, 15m or 2h, got {args.timeout!r}") from None
    lock_timeout = 0.0
    if args.lock_timeout is not None:
        try:
            lock_timeout = parse_duration(args.lock_timeout)
        except ValueError:
            raise ConfigError(
                f"--lock-timeout expects a duration such as 90s, 15m or 2h, got {args.lock_timeout!r}"
            ) from None
    if args.report:
        from dtsflow.apply.report_file import check_report_path

        check_report_path(args.report)  # a bad path costs nothing: checked before any request
    saved = _is_saved_plan(args.manifests.paths)
    if args.watch is not None:
        from dtsflow.commands.watch import interval_of, watch

        interval = interval_of(args.watch)
        if saved:
            raise ConfigError("--watch re-plans from the manifests on every cycle: give manifests, not a saved plan")
        if not args.auto_approve:
            raise ConfigError("--watch needs --auto-approve: nobody is there to confirm each cycle")
        from dtsflow.commands.common import check_targets

        # an invalid manifest (or --target) at start is an error, not a watch that never applies
        check_targets(load(args.manifests), args.shape)
        return watch(args, interval, timeout)
    if saved:
        from dtsflow.plan.saved import load_plan

        plan_in: Plan | None = load_plan(args.manifests.paths[0])
        assert plan_in is not None
        if (
            args.shape.prune
            or args.shape.allow_replace
            or args.shape.reconfigure
            or args.shape.adopt
            or args.shape.force
            or args.shape.target
        ):
            print(
                "note: --prune, --allow-replace, --reconfigure, --adopt, --force and --target shape a plan; the "
                "saved plan already has them",
                file=sys.stderr,
            )
        args = _with_recorded_vars(args, plan_in)
        manifests = load(args.manifests, plan_in.manifest_paths)
        from dtsflow.apply.preflight import check_secrets

        check_secrets(plan_in, secret_policy(args.manifests).resolve)  # the plan is known: check before any request
    else:
        from dtsflow.commands.common import check_targets

        plan_in = None
        manifests = load(args.manifests)
        check_targets(manifests, args.shape)
        if not args.auto_approve and not _interactive():
            raise ConfigError("no terminal to confirm the plan: pass --auto-approve, or apply a saved plan (plan -o)")

    from dtsflow.apply.journal import Journal
    from dtsflow.apply.lock import apply_lock
    from dtsflow.commands.connect import open_client

    with apply_lock(timeout=lock_timeout, on_wait=_say_waiting):
        journal = Journal()  # read now: a malformed journal stops the run before any request
        with open_client(args.api) as client:
            return _plan_and_apply(client, args, manifests, plan_in, journal, timeout)


def _say_waiting(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _plan_and_apply(
    client: DtsClient,
    args: ApplyArgs,
    manifests: LoadedManifests,
    plan_in: Plan | None,
    journal: Journal,
    timeout: float | None,
) -> int:
    from dtsflow.commands.common import refresh, shaped_plan

    out = sys.stdout
    live = refresh(client, manifests)
    if plan_in is not None:
        from dtsflow.plan.saved import check_origin, check_same_steps, check_stale

        check_origin(plan_in, getattr(client, "endpoint_label", ""), getattr(client, "key_digest", ""))
        check_stale(plan_in, manifests, live)
        # The reviewed plan is applied only if planning now gives exactly its steps; what runs is this plan,
        # made from the manifests, so an edited plan file cannot add, change or reorder a step.
        plan = check_same_steps(plan_in, shaped_plan(manifests, live, _shape_of(plan_in)))
    else:
        plan = shaped_plan(manifests, live, args.shape)
    _show_plan(plan, args.format, out)
    if plan.errors:
        raise PlanError("the plan cannot be applied: " + "; ".join(f"{c.task}: {c.error}" for c in plan.errors))
    if not plan.has_changes:
        report = ApplyReport(tasks=[TaskResult(c.task, str(c.action), Outcome.UNCHANGED) for c in plan.changes])
        if args.format == "json":
            out.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
        elif not _has_notes(plan):  # else the plan shown above said it, with its notes
            out.write("No changes.\n")
        if args.report:
            _write_html_report(args.report, report, [])
        return ExitCode.OK
    if plan_in is None and not args.auto_approve and not _confirm(out, plan):
        out.write("Destroy cancelled.\n" if plan.destroy else "Apply cancelled.\n")
        return ExitCode.ERROR
    return execute(plan, client, args, journal, timeout, out, secrets_checked=plan_in is not None).exit_code


def _shape_of(plan: Plan) -> PlanShape:
    """The flags a saved plan was made with, every one of them: re-planned with fewer (without `--force`, say),
    the steps would differ from the reviewed ones and the plan would be refused as changed."""
    return PlanShape(
        prune=plan.prune,
        allow_replace=plan.allow_replace,
        reconfigure=tuple(plan.reconfigure),
        adopt=tuple(plan.adopt),
        force=plan.force,
        target=tuple(plan.targets),
        destroy=plan.destroy,
    )


def _with_recorded_vars(args: ApplyArgs, plan: Plan) -> ApplyArgs:
    """The saved plan's `--var`/`--var-file` values; flags that say something else are refused."""
    if plan.origin is None:
        return args
    from dtsflow.commands.common import var_files

    recorded = (tuple(f"{k}={v}" for k, v in plan.origin.variables.items()), tuple(plan.origin.var_files))
    # `--env NAME` as the file it names, next to the plan's manifests
    given = (args.manifests.var, tuple(var_files(replace(args.manifests, paths=tuple(plan.manifest_paths)))))
    if given != ((), ()) and (sorted(given[0]), list(given[1])) != (sorted(recorded[0]), list(recorded[1])):
        raise ConfigError(
            "the saved plan records the --var, --var-file and --env values it was made with; apply it without "
            "them (or make a new plan with the values you want)"
        )
    manifests = replace(args.manifests, var=recorded[0], var_file=recorded[1], env=None)
    return replace(args, manifests=manifests)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def destroy_prompt(plan: Plan) -> str:
    """A destroy asks with the number of tasks it deletes, as `terraform destroy` does."""
    deleted = sum(1 for c in plan.changes if any(s.kind is StepKind.DELETE for s in c.steps))
    return f"Destroy {deleted} task(s)? They are shut down and deleted; this cannot be undone. Only 'yes' is accepted: "


def _confirm(out: TextIO, plan: Plan) -> bool:
    out.write(destroy_prompt(plan) if plan.destroy else CONFIRM_PROMPT)
    out.flush()
    answer = sys.stdin.readline()  # Ctrl-C here is a KeyboardInterrupt: the CLI exits 130, nothing was done
    return answer.strip() == "yes"


def _has_notes(plan: Plan) -> bool:
    """What a plan says beyond its changes: possible orphans, what `--prune` would delete, warnings."""
    return bool(plan.orphans or plan.would_prune or plan.warnings)


def _show_plan(plan: Plan, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        from dtsflow.plan.render.json import plan_document  # the same document as `plan --format json`

        line = {"format_version": EVENT_FORMAT_VERSION, "event": "plan", "plan": plan_document(plan)}
        out.write(json.dumps(line, sort_keys=True) + "\n")
        return
    if not plan.has_changes and not plan.errors and not _has_notes(plan):
        return
    from dtsflow.commands.common import use_colour
    from dtsflow.plan.render import render_plan

    out.write(render_plan(plan, "text", color=use_colour(out)).rstrip("\n") + "\n\n")


def execute(
    plan: Plan,
    client: DtsClient,
    args: ApplyArgs,
    journal: Journal,
    timeout: float | None,
    out: TextIO,
    stop: threading.Event | None = None,
    *,
    secrets_checked: bool = False,
) -> ApplyReport:
    """Run the plan with progress on `out`, print the report, write `--report`. With `stop` given (the watch), the
    caller owns the signals; otherwise Ctrl-C sets a stop event of this run."""
    from dtsflow.apply.executor import Executor
    from dtsflow.apply.progress import JsonProgress, LiveProgress, PlainProgress
    from dtsflow.apply.report import render_report_text
    from dtsflow.commands.common import secret_policy, signals_handled

    live_view: LiveProgress | None = None
    observer: Observer
    if args.format == "json":
        observer = JsonProgress(out)
    elif out.isatty():
        live_view = LiveProgress(out)
        observer = live_view
    else:
        observer = PlainProgress(out)
    timeline: Timeline | None = None
    if args.report:
        from dtsflow.apply.timeline import Timeline

        timeline = Timeline(observer)
        observer = timeline
    own_signals = stop is None
    stop = stop if stop is not None else threading.Event()
    executor = Executor(
        client,
        journal=journal,
        observer=observer,
        parallelism=args.parallelism,
        resolve_secret=secret_policy(args.manifests).resolve,
        timeout=timeout,
        stop_event=stop,
    )
    interrupts = _Interrupts(stop) if own_signals else None
    with contextlib.ExitStack() as handlers:
        if interrupts is not None:
            handlers.enter_context(signals_handled(interrupts.handler, (signal.SIGINT, signal.SIGTERM)))
        report = _run_with_view(executor, plan, live_view, secrets_checked=secrets_checked)
    if interrupts is not None and interrupts.first == signal.SIGTERM:
        report.terminated = True
    if timeline is not None and args.report:
        _write_html_report(args.report, report, timeline.events)
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
    else:
        out.write("\n" + render_report_text(report) + "\n")
    out.flush()
    return report


def _run_with_view(
    executor: Executor, plan: Plan, live_view: LiveProgress | None, *, secrets_checked: bool
) -> ApplyReport:
    try:
        if live_view is not None:
            live_view.start()  # inside the try: whatever happens next, the finally stops it
        return executor.apply(plan, secrets_checked=secrets_checked)
    finally:
        if live_view is not None:
            live_view.close()


def _write_html_report(path: str, report: ApplyReport, events: list[TimedEvent]) -> None:
    from dtsflow.apply.report_file import write_report
    from dtsflow.apply.report_html import render_report_html

    write_report(path, render_report_html(report, events))


class _Interrupts:
    """SIGINT and SIGTERM during an apply. The first stops launching steps (calls in flight finish, the report is
    printed; exit 130 for Ctrl-C, 143 for SIGTERM: a cancelled CI job or an evicted pod). A second signal leaves
    at once, whatever the process is waiting for: the journal is written ahead of every create, so a re-run
    converges, and the kernel releases the apply lock."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.first: int | None = None

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.first is not None:
            code = ExitCode.TERMINATED if signal.SIGTERM in (signum, self.first) else ExitCode.INTERRUPTED
            with contextlib.suppress(OSError, ValueError):
                print(f"{signal.Signals(signum).name} again: exiting at once", file=sys.stderr)
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(int(code))  # not an exception: no `finally` may keep the process waiting for a thread
        self.first = signum
        self.stop.set()
        what = "interrupt" if signum == signal.SIGINT else signal.Signals(signum).name
        again = "Ctrl-C" if signum == signal.SIGINT else "send it"
        print(f"{what}: finishing calls in flight, no new steps ({again} again to exit at once)", file=sys.stderr)
