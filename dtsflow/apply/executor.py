"""Apply a plan: run each change's steps against the DTS API and wait until every task converged.

The executor consumes `Change.steps` and never re-plans. Per task, steps run in order on one worker
thread; independent tasks run in parallel (`parallelism` workers). A task starts only once every task
in its `depends_on` reached its desired state, and is skipped, with the reason, when one of them did not.

This module is the orchestration: scheduling, dependencies, parallelism, Ctrl-C and the `--timeout`
deadline, events and results. What one step does is in `dtsflow.apply.steps` (level-triggered checks in
`dtsflow.apply.guards`, waits in `dtsflow.apply.waits`); secrets are checked first (`dtsflow.apply.preflight`); crash
recovery decides each create from the journal (`dtsflow.apply.recovery`). The rules are documented in docs/apply.md.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass, field

from dtsflow.apply.events import (
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
from dtsflow.apply.guards import Interrupted, LevelChecks, StepFailure, TaskState
from dtsflow.apply.journal import Journal
from dtsflow.apply.poller import Poller, PollPolicy
from dtsflow.apply.preflight import check_secrets
from dtsflow.apply.recovery import Decision, decide_creates, needs_live, settle_seconds
from dtsflow.apply.report import ApplyReport, Outcome, TaskResult
from dtsflow.apply.snapshot import Snapshot
from dtsflow.apply.steps import StepRunner
from dtsflow.apply.waits import StepWaiter
from dtsflow.client.protocol import DtsClient
from dtsflow.client.statuses import TaskStatus, retrying_warning
from dtsflow.client.wire import SecretResolver
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.errors import ConfigError, DtsflowError, PlanError
from dtsflow.manifest.model import DesiredState
from dtsflow.plan.model import Action, Change, Plan, StepKind


@dataclass
class _Run:
    """Scheduler state of one apply."""

    order: list[Change]
    poller: Poller
    checks: LevelChecks
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
        clock: Clock = SYSTEM_CLOCK,
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
        self._time = clock
        self._clock = clock.monotonic
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
    def apply(self, plan: Plan, *, secrets_checked: bool = False) -> ApplyReport:
        """Run the plan. `secrets_checked`: the caller ran the secret pre-flight on this very plan already (a
        saved plan is checked before any request), so the secrets are not read once more for it."""
        if plan.errors:
            raise PlanError("; ".join(f"{c.task}: {c.error}" for c in plan.errors))
        if not secrets_checked:
            check_secrets(plan, self._resolve)
        started = self._clock()
        if self._timeout is not None:
            self._deadline = started + self._timeout
        order = list(plan.changes)
        unchanged = sum(1 for c in order if _unchanged(c))  # counted apart: progress counts what changes
        self._emit(ApplyStarted(tasks=len(order) - unchanged, parallelism=self._parallelism, unchanged=unchanged))
        with Poller(self._client, policy=self._poll_policy, clock=self._time) as poller:
            try:
                decisions, owners = self._recover(order, poller)
                checks = LevelChecks(poller, self._time, self.stop_event)
                steps = StepRunner(
                    self._client,
                    checks=checks,
                    waiter=StepWaiter(poller, self._time, self._emit, self._deadline),
                    clock=self._clock,
                    journal=self._journal,
                    resolve_secret=self._resolve,
                    decisions=decisions,
                    owners=owners,
                )
                run = _Run(order=order, poller=poller, checks=checks, steps=steps)
                self._schedule(run)
            finally:
                self.polls = poller.polls
        tasks = [run.results[c.task] for c in run.order if c.task in run.results]
        report = ApplyReport(
            tasks=tasks,
            interrupted=self.stop_event.is_set(),
            elapsed=self._clock() - started,
            timed_out=self._deadline is not None
            and self._clock() >= self._deadline
            and any(t.outcome not in (Outcome.APPLIED, Outcome.UNCHANGED) for t in tasks),
        )
        self._emit(
            ApplyFinished(
                applied=report.applied,
                failed=report.failed,
                not_attempted=report.not_attempted,
                unchanged=report.unchanged,
                interrupted=report.interrupted,
                elapsed=round(report.elapsed, 3),
                timed_out=report.timed_out,
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
        """Decide, per task whose plan starts with a create, how to create it (`dtsflow.apply.recovery`); also
        the owners (dtsId -> task name) the journal knows."""
        creating = [c for c in changes if c.steps and c.steps[0].kind is StepKind.CREATE and c.spec is not None]
        entries = {c.task: self._journal.get(c.task) if self._journal else None for c in creating}
        snapshot: Snapshot | None = None
        if needs_live(entries):
            # A create the killed run had in flight may still land: give it a moment before looking.
            settle = settle_seconds(entries, self._time.now())
            if settle > 0 and self.stop_event.wait(settle):
                return {}, {}  # Ctrl-C: no task will start
            snapshot = poller.fresh(after=self._clock())
            if snapshot is None:
                raise ConfigError(f"cannot list tasks to check the journal of interrupted creates: {poller.failure()}")
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
                    run.checks.interrupt()
                for change in list(waiting):
                    if _unchanged(change):
                        waiting.remove(change)
                        run.results[change.task] = TaskResult(
                            change.task,
                            str(change.action),
                            Outcome.UNCHANGED,
                            dts_id=change.dts_id,
                            warnings=_status_warnings(change.task, change.dts_id, change.live_status),
                        )
                        continue
                    if interrupted_seen:
                        not_attempted(change, Outcome.INTERRUPTED, "interrupted before it started")
                        continue
                    blocker = self._blocker(change, run)
                    if blocker is not None:
                        not_attempted(change, Outcome.SKIPPED, blocker)
                        continue
                    ready = all(d not in names or d in run.results for d in self._waits_for(change, run))
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
                    # Real time on purpose, not the clock: `stop_event` is a plain Event that its owner sets (the
                    # signal handler, `watch`, a test's observer), and setting an Event notifies no condition, so
                    # Ctrl-C is noticed only by looking. Waking every 0.1 s decides nothing a test steps: a finished
                    # task notifies `_cond`, the --timeout deadline is read from the clock; a ManualClock run is
                    # neither slowed nor made racy by it. Waiting through the clock instead would make this thread
                    # one more sleeper every ManualClock test has to step, 0.1 s at a time.
                    self._cond.wait(timeout=0.1)
        for thread in threads:
            thread.join()

    @staticmethod
    def _tears_down(change: Change) -> bool:
        """A shutdown or delete of the task (desired `shutdown`/`absent`, or pruned)."""
        return change.desired in (DesiredState.SHUTDOWN, DesiredState.ABSENT) or (
            change.desired is None and bool(change.steps)
        )

    def _waits_for(self, change: Change, run: _Run) -> list[str]:
        """The tasks this change starts after. Bringing tasks up follows `dependsOn` (the dependency first);
        tearing them down goes the other way: a task is shut down or deleted only after every task that depends
        on it and is torn down in this plan. Teardowns that do not depend on each other run in parallel."""
        if not self._tears_down(change):
            return [d for d in change.depends_on if not self._is_teardown(d, run)]
        return [c.task for c in run.order if change.task in c.depends_on and self._tears_down(c)]

    def _is_teardown(self, name: str, run: _Run) -> bool:
        return any(c.task == name and self._tears_down(c) for c in run.order)

    def _blocker(self, change: Change, run: _Run) -> str | None:
        relation = "dependent" if self._tears_down(change) else "dependency"
        for dep in self._waits_for(change, run):
            result = run.results.get(dep)
            if result is not None and result.outcome not in (Outcome.APPLIED, Outcome.UNCHANGED):
                return f"not attempted: {relation} {dep} {result.outcome}"
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
                warnings=[*state.warnings, *_status_warnings(change.task, state.dts_id, state.status)],
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
            except Exception as exc:  # StepFailure, a DtsflowError from inside the step, or a bug
                # A step's own failure, or what stopped it from inside (a secret file removed mid-apply, an answer
                # that cannot be read): either way the task's id and done/not-done steps stay in the report.
                # "internal error" is said only of what no part of dtsflow raises on purpose (a bug).
                failure = exc if isinstance(exc, StepFailure) else StepFailure(_describe(exc))
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


def _unchanged(change: Change) -> bool:
    """A task that needs nothing: no step runs and no `TaskFinished` is emitted for it."""
    return change.action is Action.NOOP and not change.steps


def _describe(exc: Exception) -> str:
    """One sentence for an error that stopped a step from inside: a DtsflowError says what happened itself."""
    if isinstance(exc, DtsflowError):
        return str(exc)
    return f"internal error: {exc!r}"


def _status_warnings(task: str, dts_id: str | None, status: str | None) -> list[str]:
    """What the report says about the status a task was left in (`retrying`: started, but not well)."""
    return [retrying_warning(task, dts_id)] if status == TaskStatus.RETRYING else []
