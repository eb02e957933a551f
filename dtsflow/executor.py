"""Apply a plan: run each change's steps against the DTS API and wait until every task converged.

The executor consumes `Change.steps` and never re-plans. Per task, steps run in order on one worker
thread; independent tasks run in parallel (`parallelism` workers). A task starts only once every task
in its `depends_on` reached its desired state, and is skipped, with the reason, when one of them did not.

This module is the orchestration: scheduling, dependencies, parallelism, Ctrl-C and the `--timeout`
deadline, events and results. What one step does is in `dtsflow.steps` (level-triggered checks in
`dtsflow.levels`, waits in `dtsflow.stepwait`); secrets are checked first (`dtsflow.preflight`); crash
recovery decides each create from the journal (`dtsflow.recovery`). The rules are documented in docs/apply.md.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dtsflow.client import DtsClient
from dtsflow.errors import ConfigError, PlanError
from dtsflow.events import (
    ApplyFinished,
    ApplyStarted,
    Event,
    Observer,
    PrecheckFailure,
    StepFailed,
    StepStarted,
    StepSucceeded,
    TaskFinished,
    TaskStarted,
    null_observer,
)
from dtsflow.journal import Journal
from dtsflow.levels import Interrupted, LevelChecks, StepFailure, TaskState
from dtsflow.plan import Action, Change, Plan, StepKind
from dtsflow.preflight import check_secrets
from dtsflow.recovery import Decision, decide_creates, needs_live, settle_seconds
from dtsflow.report import ApplyReport, Outcome, TaskResult
from dtsflow.steps import StepRunner
from dtsflow.stepwait import StepWaiter
from dtsflow.waiter import Poller, PollPolicy, Snapshot
from dtsflow.wire import SecretResolver


@dataclass
class _Run:
    """Scheduler state of one apply."""

    order: list[Change]
    poller: Poller
    steps: StepRunner
    results: dict[str, TaskResult] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)


class Executor:
    def __init__(
        self,
        client: DtsClient,
        *,
        journal: Journal | None = None,
        observer: Observer = null_observer,
        clock: Callable[[], float] = time.monotonic,
        parallelism: int = 10,
        resolve_secret: SecretResolver | None = None,
        timeout: float | None = None,
        stop_event: threading.Event | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> None:
        if parallelism < 1:
            raise ConfigError("--parallelism must be at least 1")
        self._client = client
        self._journal = journal
        self._observer = observer
        self._clock = clock
        self._parallelism = parallelism
        self._resolve = resolve_secret
        self._timeout = timeout
        self.stop_event = stop_event or threading.Event()
        self._poll_policy = poll_policy
        self._emit_lock = threading.Lock()
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self.polls = 0

    # -- entry point ---------------------------------------------------------------------------------
    def apply(self, plan: Plan) -> ApplyReport:
        if plan.errors:
            raise PlanError("; ".join(f"{c.task}: {c.error}" for c in plan.errors))
        check_secrets(plan, self._resolve)
        started = self._clock()
        if self._timeout is not None:
            self._deadline = started + self._timeout
        order = list(plan.changes)
        self._emit(ApplyStarted(tasks=len(order), parallelism=self._parallelism))
        with Poller(self._client, policy=self._poll_policy, clock=self._clock) as poller:
            try:
                decisions, owners = self._recover(order, poller)
                steps = StepRunner(
                    self._client,
                    checks=LevelChecks(poller, self._clock, self.stop_event),
                    waiter=StepWaiter(poller, self._clock, self._emit, self._deadline),
                    clock=self._clock,
                    journal=self._journal,
                    resolve_secret=self._resolve,
                    decisions=decisions,
                    owners=owners,
                )
                run = _Run(order=order, poller=poller, steps=steps)
                self._schedule(run)
            finally:
                self.polls = poller.polls
        report = ApplyReport(
            tasks=[run.results[c.task] for c in run.order if c.task in run.results],
            interrupted=self.stop_event.is_set(),
            elapsed=self._clock() - started,
        )
        self._emit(
            ApplyFinished(
                applied=report.applied,
                failed=report.failed,
                not_attempted=report.not_attempted,
                unchanged=report.unchanged,
                interrupted=report.interrupted,
                elapsed=round(report.elapsed, 3),
            )
        )
        return report

    def _emit(self, event: Event) -> None:
        with self._emit_lock:
            try:
                self._observer(event)
            except OSError as exc:
                # The reader went away (`apply --format json | head`). Stopping half-way would leave tasks
                # half-applied, so the run goes on silently; the exit code still tells how it ended.
                self._observer = null_observer
                with contextlib.suppress(OSError):
                    print(f"dtsflow: progress output lost ({exc.strerror or exc}); apply goes on", file=sys.stderr)

    # -- crash recovery ------------------------------------------------------------------------------
    def _recover(self, changes: list[Change], poller: Poller) -> tuple[dict[str, Decision], dict[str, str]]:
        """Decide, per task whose plan starts with a create, how to create it (`dtsflow.recovery`); also
        the owners (dtsId -> task name) the journal knows."""
        creating = [c for c in changes if c.steps and c.steps[0].kind is StepKind.CREATE and c.spec is not None]
        entries = {c.task: self._journal.get(c.task) if self._journal else None for c in creating}
        snapshot: Snapshot | None = None
        if needs_live(entries):
            # A create the killed run had in flight may still land: give it a moment before looking.
            settle = settle_seconds(entries, time.time())
            if settle > 0 and self.stop_event.wait(settle):
                return {}, {}  # Ctrl-C: no task will start
            snapshot = poller.fresh(after=self._clock())
            if snapshot is None:
                raise ConfigError("cannot list tasks to check the journal of interrupted creates")
        return decide_creates(creating, self._journal, snapshot)

    # -- scheduling ----------------------------------------------------------------------------------
    def _schedule(self, run: _Run) -> None:
        names = {c.task for c in run.order}
        waiting = list(run.order)
        interrupted_seen = False
        threads: list[threading.Thread] = []

        def not_attempted(change: Change, outcome: Outcome, message: str) -> None:
            waiting.remove(change)
            run.results[change.task] = self._not_attempted(change, outcome, message)
            self._finished(run.results[change.task])

        with self._cond:
            while waiting or run.running:
                if self.stop_event.is_set() and not interrupted_seen:
                    interrupted_seen = True
                    run.poller.interrupt()
                for change in list(waiting):
                    if change.action is Action.NOOP and not change.steps:
                        waiting.remove(change)
                        run.results[change.task] = TaskResult(change.task, str(change.action), Outcome.UNCHANGED)
                        continue
                    if interrupted_seen:
                        not_attempted(change, Outcome.INTERRUPTED, "interrupted before it started")
                        continue
                    blocker = self._blocker(change, run)
                    if blocker is not None:
                        not_attempted(change, Outcome.SKIPPED, blocker)
                        continue
                    ready = all(d not in names or d in run.results for d in change.depends_on)
                    if ready and len(run.running) < self._parallelism:
                        if self._deadline is not None and self._clock() >= self._deadline:
                            not_attempted(change, Outcome.SKIPPED, "the --timeout deadline passed")
                            continue
                        waiting.remove(change)
                        run.running.add(change.task)
                        thread = threading.Thread(
                            target=self._work, args=(change, run), name=f"dtsflow-{change.task}", daemon=True
                        )
                        threads.append(thread)
                        thread.start()
                if waiting or run.running:
                    self._cond.wait(timeout=0.1)  # also notices Ctrl-C (stop_event) promptly
        for thread in threads:
            thread.join()

    def _blocker(self, change: Change, run: _Run) -> str | None:
        for dep in change.depends_on:
            result = run.results.get(dep)
            if result is not None and result.outcome not in (Outcome.APPLIED, Outcome.UNCHANGED):
                return f"not attempted: dependency {dep} {result.outcome}"
        return None

    def _not_attempted(self, change: Change, outcome: Outcome, message: str) -> TaskResult:
        return TaskResult(
            change.task,
            str(change.action),
            outcome,
            dts_id=change.dts_id,
            not_done=[s.kind.value for s in change.steps],
            message=message,
        )

    def _finished(self, result: TaskResult) -> None:
        self._emit(
            TaskFinished(
                task=result.task,
                outcome=str(result.outcome),
                message=result.message,
                done=result.done,
                not_done=result.not_done,
                dts_id=result.dts_id,
                elapsed=round(result.elapsed, 3),
            )
        )

    def _work(self, change: Change, run: _Run) -> None:
        try:
            result = self._run_task(change, run.steps)
        except Exception as exc:  # a bug must not take the other tasks down
            result = TaskResult(change.task, str(change.action), Outcome.FAILED, message=f"internal error: {exc!r}")
        try:
            self._finished(result)
        finally:  # the scheduler waits on this bookkeeping: it must happen whatever the output did
            with self._cond:
                run.results[change.task] = result
                run.running.discard(change.task)
                self._cond.notify_all()

    # -- one task ------------------------------------------------------------------------------------
    def _run_task(self, change: Change, steps: StepRunner) -> TaskResult:
        began = self._clock()
        state = TaskState(dts_id=change.dts_id, status=change.live_status, mutated_at=float("-inf"))
        kinds = [s.kind.value for s in change.steps]
        self._emit(TaskStarted(task=change.task, action=str(change.action), steps=kinds, dts_id=change.dts_id))
        done: list[str] = []

        def result(
            outcome: Outcome, index: int, message: str = "", checks: list[PrecheckFailure] | None = None
        ) -> TaskResult:
            return TaskResult(
                change.task,
                str(change.action),
                outcome,
                dts_id=state.dts_id,
                done=list(done),
                not_done=kinds[index:],
                message=message,
                failed_checks=checks or [],
                elapsed=self._clock() - began,
            )

        for index, step in enumerate(change.steps):
            if self.stop_event.is_set():
                return result(Outcome.INTERRUPTED, index, f"interrupted before {step.kind.value}")
            if self._deadline is not None and self._clock() >= self._deadline:
                return result(Outcome.FAILED, index, f"the --timeout deadline passed before {step.kind.value}")
            self._emit(
                StepStarted(
                    task=change.task, step=step.kind.value, index=index + 1, total=len(kinds), dts_id=state.dts_id
                )
            )
            step_began = self._clock()
            try:
                note = steps.run(change, step, state)
            except Interrupted:
                return result(Outcome.INTERRUPTED, index, f"interrupted while waiting for {step.kind.value}")
            except StepFailure as failure:
                self._emit(
                    StepFailed(
                        task=change.task,
                        step=step.kind.value,
                        message=failure.message,
                        status=failure.status,
                        failed_checks=failure.checks,
                        elapsed=round(self._clock() - step_began, 3),
                    )
                )
                return result(Outcome.FAILED, index, f"{step.kind.value} failed: {failure.message}", failure.checks)
            done.append(step.kind.value)
            self._emit(
                StepSucceeded(
                    task=change.task,
                    step=step.kind.value,
                    status=state.status,
                    note=note,
                    elapsed=round(self._clock() - step_began, 3),
                    dts_id=state.dts_id,
                )
            )
        return result(Outcome.APPLIED, len(kinds))
