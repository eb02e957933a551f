"""Apply a plan: run each change's steps against the DTS API and wait until every task converged.

The executor consumes `Change.steps` and never re-plans. Per task, steps run in order on one worker
thread; independent tasks run in parallel (`parallelism` workers). A task starts only once every task
in its `depends_on` reached its desired state, and is skipped, with the reason, when one of them did not.

Each step is level-triggered:
- before the call, the task's status (from the latest shared list snapshot taken after our last call to
  it, or the plan's live status for the first step) must be in `step.expect`; a task already in
  `step.wait_for` (or beyond it) is a success without a call, one in the step's own transition is only
  waited for; anything else is re-read once and then fails with what was found. Right after a synchronous call of ours the status is not known yet, and the call is made
  without a read (the service enforces its own allowed-from rules; a refusal is handled below).
- after a failed call, the task is re-read: if it is already where the step wanted it, that is success;
  if the answer was ambiguous (no answer, 5xx) and the task moved on, the executor waits as usual.
- asynchronous steps wait through the shared `Poller` (one list call per tick for all tasks).

Creates go through the write-ahead `Journal`; `dtsflow.recovery` turns the journal plus one list call into
a decision per created task (resume an id, adopt an orphan, or create with a given token and generation).
The level-triggered rules and their status sets are documented in docs/apply.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, assert_never

from dtsflow.client import DtsClient
from dtsflow.client.tokens import resize_token_for
from dtsflow.errors import ApiError, ConfigError, PlanError
from dtsflow.events import (
    ApplyFinished,
    ApplyStarted,
    Event,
    Observer,
    PrecheckFailure,
    StepFailed,
    StepPolled,
    StepStarted,
    StepSucceeded,
    TaskFinished,
    TaskStarted,
    null_observer,
)
from dtsflow.journal import Journal, client_token
from dtsflow.live import LiveTask, TaskStatus
from dtsflow.plan import Action, Change, Plan, Step, StepKind
from dtsflow.progress import base_percent
from dtsflow.recovery import DEAD_STATUSES, Create, Resume, decide_creates, needs_live, settle_seconds
from dtsflow.report import ApplyReport, Outcome, TaskResult
from dtsflow.waiter import ABSENT, Poller, PollPolicy, Snapshot, WaitOutcome
from dtsflow.wire import SecretResolver, config_body, create_body, secret_names

DEFAULT_WAIT_SECONDS: dict[StepKind, float] = {
    StepKind.PRECHECK: 15 * 60,  # the manifest's precheck.timeout overrides (step.timeout_seconds)
    StepKind.SKIP_PRECHECK: 15 * 60,
    StepKind.START: 30 * 60,
    StepKind.PAUSE: 10 * 60,
    StepKind.SHUTDOWN: 10 * 60,
    StepKind.DELETE: 20 * 60,
}
DEFAULT_WAIT_OTHER = 10 * 60

MAX_TOKEN_CONFLICTS = 3

STALE_CHECKFAILED_GRACE = 2.0
"""After a precheck call from `checkFailed`, an unchanged `checkFailed` seen within this time may be the old
result (the service flips to `checking` asynchronously); it is trusted only after this grace period."""

UNDERWAY: dict[StepKind, frozenset[str]] = {
    StepKind.PRECHECK: frozenset({TaskStatus.CHECKING}),
    StepKind.SKIP_PRECHECK: frozenset({TaskStatus.CHECKING}),
    StepKind.PAUSE: frozenset({TaskStatus.STOPPING}),
}
"""Statuses that mean the step's own transition is in progress (ours that landed late, or another apply's):
the executor waits for the outcome instead of calling again or failing."""

UNDERWAY_NOTE = "already underway"

RUNNING_FAMILY = frozenset(
    {
        TaskStatus.RUNNING,
        TaskStatus.INIT_RUNNING,
        TaskStatus.BIDIRECT_RUNNING,
        TaskStatus.SINGLE_RUNNING,
        TaskStatus.RETRYING,
    }
)
STARTED = RUNNING_FAMILY | {
    TaskStatus.STOPPING,
    TaskStatus.STOPPED,
    TaskStatus.STOP_CHECK_FAILED,
    TaskStatus.RUN_FAILED,
    TaskStatus.CHECK_FAILED_ADD,
    TaskStatus.CHECK_PASS_ADD,
    TaskStatus.FINISHED,
}
BEYOND: dict[StepKind, frozenset[str]] = {
    StepKind.PRECHECK: frozenset(STARTED),
    StepKind.SKIP_PRECHECK: frozenset(STARTED),
}
"""Statuses that mean the step's goal was passed already (a task that has started was prechecked): success."""

TRANSIENT = frozenset({TaskStatus.CHECKING, TaskStatus.STOPPING})
"""Passing statuses a wait sits through whatever the step; any status a wait does not expect, seen in two
lists in a row, fails the wait ("the task moved to X")."""

PROGRESS_STATUSES = frozenset({TaskStatus.RUNNING, TaskStatus.FINISHED})
"""Statuses in which `dynamicInfo.base` says something about the load (not during a precheck)."""


class StepFailure(Exception):
    def __init__(self, message: str, status: str | None = None, checks: list[PrecheckFailure] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.checks = checks or []


class Interrupted(Exception):
    """Ctrl-C arrived while a step waited; no further step of the task runs."""


@dataclass
class _TaskState:
    """What a task's worker knows about its task."""

    dts_id: str | None
    status: str | None  # None: unknown (right after a synchronous call of ours)
    mutated_at: float  # clock time of our last call that may have changed the task
    fresh_create: bool = False  # the id came from a create in this run (a token may have answered an old id)
    regenerated: bool = False
    errmsg: str = ""  # the task's errmsg as last seen by a wait


@dataclass
class _Run:
    """Scheduler state of one apply."""

    order: list[Change]
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
        self._decisions: dict[str, Resume | Create] = {}
        self._owners: dict[str, str] = {}  # dtsId -> the task (name) that owns it, in this run or the journal
        self._owners_lock = threading.Lock()
        self._deadline: float | None = None
        self._poller: Poller | None = None
        self.polls = 0

    # -- entry point ---------------------------------------------------------------------------------
    def apply(self, plan: Plan) -> ApplyReport:
        if plan.errors:
            raise PlanError("; ".join(f"{c.task}: {c.error}" for c in plan.errors))
        self.check_secrets(plan)
        started = self._clock()
        if self._timeout is not None:
            self._deadline = started + self._timeout
        run = _Run(order=list(plan.changes))
        self._emit(ApplyStarted(tasks=len(run.order), parallelism=self._parallelism))
        with Poller(self._client, policy=self._poll_policy, clock=self._clock) as poller:
            self._poller = poller
            try:
                self._recover(run.order, poller)
                self._schedule(run)
            finally:
                self.polls = poller.polls
                self._poller = None
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

    def check_secrets(self, plan: Plan) -> None:
        check_secrets(plan, self._resolve)

    def _emit(self, event: Event) -> None:
        with self._emit_lock:
            self._observer(event)

    # -- crash recovery ------------------------------------------------------------------------------
    def _recover(self, changes: list[Change], poller: Poller) -> None:
        """Decide, per task whose plan starts with a create, how to create it (`dtsflow.recovery`)."""
        creating = [c for c in changes if c.steps and c.steps[0].kind is StepKind.CREATE and c.spec is not None]
        entries = {c.task: self._journal.get(c.task) if self._journal else None for c in creating}
        snapshot: Snapshot | None = None
        if needs_live(entries):
            # A create the killed run had in flight may still land: give it a moment before looking.
            settle = settle_seconds(entries, time.time())
            if settle > 0 and self.stop_event.wait(settle):
                return
            snapshot = poller.fresh(after=self._clock())
            if snapshot is None:
                raise ConfigError("cannot list tasks to check the journal of interrupted creates")
        decisions, owners = decide_creates(creating, self._journal, snapshot)
        self._decisions.update(decisions)
        self._owners.update(owners)

    # -- scheduling ----------------------------------------------------------------------------------
    def _schedule(self, run: _Run) -> None:
        names = {c.task for c in run.order}
        waiting = list(run.order)
        interrupted_seen = False
        threads: list[threading.Thread] = []
        with self._cond:
            while waiting or run.running:
                if self.stop_event.is_set() and not interrupted_seen:
                    interrupted_seen = True
                    assert self._poller is not None
                    self._poller.interrupt()
                for change in list(waiting):
                    if change.action is Action.NOOP and not change.steps:
                        waiting.remove(change)
                        run.results[change.task] = TaskResult(change.task, str(change.action), Outcome.UNCHANGED)
                        continue
                    if interrupted_seen:
                        waiting.remove(change)
                        run.results[change.task] = self._not_attempted(change, Outcome.INTERRUPTED, "interrupted")
                        self._finished(run.results[change.task])
                        continue
                    blocker = self._blocker(change, run)
                    if blocker is not None:
                        waiting.remove(change)
                        run.results[change.task] = self._not_attempted(change, Outcome.SKIPPED, blocker)
                        self._finished(run.results[change.task])
                        continue
                    ready = all(d not in names or d in run.results for d in change.depends_on)
                    if ready and len(run.running) < self._parallelism:
                        if self._deadline is not None and self._clock() >= self._deadline:
                            waiting.remove(change)
                            result = self._not_attempted(change, Outcome.SKIPPED, "the --timeout deadline passed")
                            run.results[change.task] = result
                            self._finished(result)
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
            result = self._run_task(change)
        except Exception as exc:  # a bug must not take the other tasks down
            result = TaskResult(change.task, str(change.action), Outcome.FAILED, message=f"internal error: {exc!r}")
        self._finished(result)
        with self._cond:
            run.results[change.task] = result
            run.running.discard(change.task)
            self._cond.notify_all()

    # -- one task ------------------------------------------------------------------------------------
    def _run_task(self, change: Change) -> TaskResult:
        began = self._clock()
        state = _TaskState(dts_id=change.dts_id, status=change.live_status, mutated_at=float("-inf"))
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
                note = self._run_step(change, step, state)
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

    def _run_step(self, change: Change, step: Step, state: _TaskState) -> str:
        client = self._client
        match step.kind:
            case StepKind.CREATE:
                return self._create(change, state)
            case StepKind.CONFIG:
                return self._config(change, step, state)
            case StepKind.PRECHECK:
                return self._precheck(change, step, state)
            case StepKind.SKIP_PRECHECK:
                return self._skip_precheck(change, step, state)
            case StepKind.START:
                return self._mutate(change, step, state, client.start)
            case StepKind.PAUSE:
                return self._mutate(change, step, state, client.pause)
            case StepKind.SHUTDOWN:
                return self._mutate(change, step, state, client.shutdown)
            case StepKind.DELETE:
                note = self._mutate(change, step, state, client.delete)
                if self._journal is not None:
                    self._journal.released(change.task, state.dts_id)
                return note
            case StepKind.RESIZE:
                standard = step.standard or (change.spec.standard if change.spec else None)
                if standard is None:
                    raise StepFailure("the plan names no standard to resize to")
                return self._mutate(
                    change,
                    step,
                    state,
                    lambda dts_id: client.resize(dts_id, standard, client_token=resize_token_for(dts_id, standard)),
                )
            case StepKind.RENAME:
                return self._mutate(change, step, state, lambda dts_id: client.rename(dts_id, change.task))
            case _:
                assert_never(step.kind)

    # -- generic mutating step -----------------------------------------------------------------------
    def _targets(self, step: Step) -> frozenset[str]:
        """Statuses in which the step is done: its `wait_for`, gone for a delete, and what lies beyond."""
        done = frozenset(step.wait_for) | BEYOND.get(step.kind, frozenset())
        if step.kind is StepKind.DELETE:
            return done | {ABSENT}
        return done

    def _tolerated(self, step: Step) -> frozenset[str]:
        """Statuses a wait sits through: where the step starts from, its own transition, passing states."""
        tolerated = frozenset(step.expect) | UNDERWAY.get(step.kind, frozenset()) | TRANSIENT
        if step.kind is StepKind.START:
            tolerated |= RUNNING_FAMILY
        return tolerated

    def _known_status(self, state: _TaskState) -> str | None:
        """The task's status if something newer than our last call to it says so."""
        assert self._poller is not None and state.dts_id is not None
        latest = self._poller.latest
        if latest is not None and latest.started > state.mutated_at:
            state.status = latest.status(state.dts_id)
        return state.status

    def _reread(self, state: _TaskState) -> str:
        assert self._poller is not None and state.dts_id is not None
        snapshot = self._poller.fresh(after=self._clock())
        if snapshot is None:
            if self.stop_event.is_set():
                raise Interrupted()
            raise StepFailure("cannot re-read the task: listing tasks failed")
        state.status = snapshot.status(state.dts_id)
        return state.status

    def _check_expected(self, step: Step, state: _TaskState) -> str | None:
        """Level-triggered pre-check: None = make the call; `already X` = done without a call;
        `UNDERWAY_NOTE` = the step's transition is in progress, only wait."""
        status = self._known_status(state)
        targets = self._targets(step)
        underway = UNDERWAY.get(step.kind, frozenset())
        if status is None or not step.expect or status in step.expect:
            return None
        if status in targets:
            return f"already {status}"
        status = self._reread(state)  # what we knew may be old: look once more before failing
        if status in targets:
            return f"already {status}"
        if status in underway:
            return UNDERWAY_NOTE
        if status not in step.expect:
            raise StepFailure(
                f"the task is {status}; {step.kind.value} needs it in {', '.join(step.expect)}", status=status
            )
        return None

    def _call(self, step: Step, state: _TaskState, call: Callable[[str], object]) -> str | None:
        """Make the call. On an error, re-read: None = the call is made (or landed); a note = already done."""
        assert state.dts_id is not None
        dts_id = state.dts_id
        try:
            call(dts_id)
        except ApiError as exc:
            status = self._reread(state)
            targets = self._targets(step)
            if status in targets:
                return f"already {status} ({exc.code or 'no answer'} from {step.kind.value})"
            if status in UNDERWAY.get(step.kind, frozenset()):
                state.mutated_at, state.status = self._clock(), None
                return None  # landed after all (or another apply's): wait for its outcome
            ambiguous = exc.status == 0 or exc.status >= 500
            moved = status not in step.expect and status not in step.fail_on and status != ABSENT
            if not (ambiguous and targets and moved):
                raise StepFailure(f"{exc}; the task is {status}", status=status) from None
        state.mutated_at = self._clock()
        state.status = None
        return None

    def _mutate(self, change: Change, step: Step, state: _TaskState, call: Callable[[str], object]) -> str:
        self._require_id(change, state)
        note = self._check_expected(step, state)
        if note is None:
            note = self._call(step, state, call)
        if note is not None and note != UNDERWAY_NOTE:
            return note
        targets = self._targets(step)
        if targets:
            self._wait(change, step, state, targets, frozenset(step.fail_on))
        return note or ""

    def _require_id(self, change: Change, state: _TaskState) -> None:
        if state.dts_id is None:
            raise StepFailure(f"no dtsId known for {change.task}")

    def _wait(
        self,
        change: Change,
        step: Step,
        state: _TaskState,
        targets: frozenset[str],
        stops: frozenset[str],
        *,
        stale: str | None = None,
    ) -> str:
        assert self._poller is not None and state.dts_id is not None
        timeout = step.timeout_seconds or DEFAULT_WAIT_SECONDS.get(step.kind, DEFAULT_WAIT_OTHER)
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - self._clock())
        began = self._clock()
        grace_until = began + STALE_CHECKFAILED_GRACE
        last: dict[str, Any] = {}

        def on_poll(live: LiveTask | None, status: str) -> None:
            percent = base_percent(live) if live and status in PROGRESS_STATUSES else None
            if last.get("status") != status or last.get("percent") != percent:
                last.update(status=status, percent=percent)
                self._emit(
                    StepPolled(
                        task=change.task,
                        step=step.kind.value,
                        status=status,
                        base_percent=percent,
                        elapsed=round(self._clock() - began, 3),
                    )
                )

        while True:
            result = self._poller.wait(
                state.dts_id,
                targets=targets,
                stops=stops,
                timeout=max(timeout - (self._clock() - began), 0.0),
                on_poll=on_poll,
                tolerate=self._tolerated(step),
            )
            if (
                stale is not None
                and result.status == stale
                and result.outcome in (WaitOutcome.REACHED, WaitOutcome.FAILED)
                and self._clock() < grace_until
            ):
                continue  # possibly the result from before our call; look again
            break
        if result.live is not None:
            state.errmsg = result.live.errmsg
        match result.outcome:
            case WaitOutcome.REACHED:
                state.status = result.status
                state.mutated_at = float("-inf")
                return result.status or ""
            case WaitOutcome.FAILED:
                state.status = result.status
                detail = f": {result.message}" if result.message else ""
                raise StepFailure(f"the task went to {result.status}{detail}", status=result.status)
            case WaitOutcome.TIMEOUT:
                state.status = result.status
                raise StepFailure(
                    f"{result.message} waiting for {' or '.join(sorted(targets))}; last status {result.status or 'unknown'}",
                    status=result.status,
                )
            case WaitOutcome.INTERRUPTED:
                raise Interrupted()
            case WaitOutcome.ERROR:
                raise StepFailure(result.message)
            case _:
                assert_never(result.outcome)

    # -- create and config ---------------------------------------------------------------------------
    def _create(self, change: Change, state: _TaskState) -> str:
        if change.spec is None:
            raise StepFailure("the plan holds no task spec to create from")
        decision = self._decisions.get(change.task)
        if isinstance(decision, Resume):
            state.dts_id, state.status, state.mutated_at = decision.dts_id, None, float("-inf")
            state.fresh_create = True  # as good as our own create: config may find it configured by another run
            return decision.note
        if decision is None:  # a create later in the plan (a replacement): after the journal's last generation
            entry = self._journal.get(change.task) if self._journal else None
            generation = entry.generation + 1 if entry is not None and not entry.pending else 0
            decision = Create(client_token(change.task, create_body(change.spec), generation), generation)
        self._create_with(change, state, decision)
        return ""

    def _create_with(self, change: Change, state: _TaskState, decision: Create) -> None:
        assert change.spec is not None
        body = create_body(change.spec)
        for _ in range(MAX_TOKEN_CONFLICTS + 1):
            if self._journal is not None:
                self._journal.intent(change.task, decision.token, decision.generation)
            try:
                dts_id = self._client.create_task(body, client_token=decision.token)
            except ApiError as exc:
                # The create may have landed: the journal keeps the intent, and a re-run adopts or retries it.
                raise StepFailure(str(exc)) from None
            with self._owners_lock:
                owner = self._owners.get(dts_id)
                if owner is None or owner == change.task:
                    self._owners[dts_id] = change.task
                    break
            # The service answered our token with a task another name owns (an orphan adopted for that name,
            # which was in fact ours; or a task of an earlier life): create with the next generation.
            generation = decision.generation + 1
            decision = Create(client_token(change.task, body, generation), generation)
        else:
            raise StepFailure(f"create keeps answering tasks owned by other names (last {dts_id})")
        if self._journal is not None:
            self._journal.created(change.task, decision.token, decision.generation, dts_id)
        state.dts_id, state.status, state.mutated_at = dts_id, TaskStatus.UN_CONFIG, self._clock()
        state.fresh_create = True
        self._decisions[change.task] = Create(decision.token, decision.generation)

    def _config(self, change: Change, step: Step, state: _TaskState) -> str:
        self._require_id(change, state)
        if change.spec is None:
            raise StepFailure("the plan holds no task spec to configure")
        spec = change.spec

        def send(dts_id: str) -> None:
            self._client.config_task(dts_id, config_body(spec, self._resolve))

        try:
            already = self._check_expected(step, state)
            if already is not None:
                return already
            self._call(step, state, send)
        except StepFailure:
            if state.fresh_create and state.status not in DEAD_STATUSES and self._named(state, change.task):
                # Our token's task was configured and moved on by another apply of the same manifest.
                return f"configured by another run (the task is {state.status})"
            # A token may have answered with a task released long ago (DESIGN §4): create a new generation.
            if not (state.fresh_create and not state.regenerated and state.status in DEAD_STATUSES):
                raise
            decision = self._decisions.get(change.task)
            generation = (decision.generation + 1) if isinstance(decision, Create) else 1
            state.regenerated = True
            old = state.dts_id
            self._create_with(
                change, state, Create(client_token(change.task, create_body(spec), generation), generation)
            )
            self._call(step, state, send)
            return f"{old} was a released task; created {state.dts_id} (generation {generation})"
        return ""

    def _named(self, state: _TaskState, name: str) -> bool:
        """Whether the latest list shows the task under `name`."""
        assert self._poller is not None
        latest = self._poller.latest
        live = latest.tasks.get(state.dts_id or "") if latest else None
        return live is not None and live.task_name == name

    # -- precheck ------------------------------------------------------------------------------------
    def _precheck(self, change: Change, step: Step, state: _TaskState) -> str:
        self._require_id(change, state)
        note = self._check_expected(step, state)
        before = state.status
        if note is None:
            note = self._call(step, state, self._client.precheck)
        if note is not None and note != UNDERWAY_NOTE:
            return note
        targets = self._targets(step) | ({TaskStatus.CHECK_PASS} if not step.wait_for else set())
        stops = frozenset(step.fail_on) | {TaskStatus.CHECK_FAILED}
        stale = TaskStatus.CHECK_FAILED if before == TaskStatus.CHECK_FAILED else None
        try:
            self._wait(change, step, state, targets, stops, stale=stale)
        except StepFailure as failure:
            if failure.status != TaskStatus.CHECK_FAILED:
                raise
            return self._precheck_policy(change, step, state)
        return note or ""

    def _skip_precheck(self, change: Change, step: Step, state: _TaskState) -> str:
        """A plan step of its own for a task already `checkFailed`: the same policy as after a precheck."""
        self._require_id(change, state)
        targets = self._targets(step) | ({TaskStatus.CHECK_PASS} if not step.wait_for else set())
        status = self._known_status(state)
        if status is None or (status not in targets and status != TaskStatus.CHECK_FAILED):
            status = self._reread(state)
        if status in targets:
            return f"already {status}"
        if status in UNDERWAY[StepKind.SKIP_PRECHECK]:
            self._wait(change, step, state, targets, frozenset(step.fail_on) | {TaskStatus.CHECK_FAILED})
            return UNDERWAY_NOTE
        if status != TaskStatus.CHECK_FAILED:
            raise StepFailure(f"the task is {status}; skip-precheck needs it in checkFailed", status=status)
        return self._precheck_policy(change, step, state)

    def _precheck_policy(self, change: Change, step: Step, state: _TaskState) -> str:
        """The task is checkFailed: skip when every failed item is allowed, else fail with the items."""
        assert state.dts_id is not None
        try:
            items = self._client.get_precheck(state.dts_id)
        except ApiError as exc:
            raise StepFailure(
                f"precheck failed and its results cannot be read: {exc}", TaskStatus.CHECK_FAILED
            ) from None
        failed = [i for i in items if i.failed]
        checks = [PrecheckFailure.of(i) for i in failed]
        allowed = set(step.skip_allowed)
        refused = [i.name for i in failed if i.name not in allowed]
        if not failed or refused:
            what = f"failed checks not in precheck.skip: {', '.join(refused)}" if failed else "no failed item reported"
            detail = f" ({state.errmsg})" if not failed and state.errmsg else ""
            raise StepFailure(what + detail, status=TaskStatus.CHECK_FAILED, checks=checks)
        skip_step = step.model_copy(
            update={
                "kind": StepKind.SKIP_PRECHECK,
                "expect": [TaskStatus.CHECK_FAILED.value],
                "wait_for": step.wait_for or [TaskStatus.CHECK_PASS.value],
            }
        )
        already = self._call(skip_step, state, self._client.skip_precheck)
        if already is None:
            self._wait(change, skip_step, state, self._targets(skip_step), frozenset(step.fail_on))
        return "skipped failed checks allowed by precheck.skip: " + ", ".join(i.name for i in failed)


def check_secrets(plan: Plan, resolve: SecretResolver | None) -> None:
    """Fail fast, before any mutating request: every secret a create or config of the plan needs must resolve."""
    problems: list[str] = []
    for change in plan.changes:
        if change.spec is None or not any(s.kind in (StepKind.CREATE, StepKind.CONFIG) for s in change.steps):
            continue
        for ref in secret_names(change.spec):
            if resolve is None:
                problems.append(f"{change.task}: no secret resolver for {ref}")
                continue
            try:
                resolve(ref)
            except Exception as exc:  # the resolver's message names the reference, never a value
                problems.append(f"{change.task}: {exc}")
    if problems:
        raise ConfigError("cannot resolve secrets; nothing was done:\n  " + "\n  ".join(problems))
