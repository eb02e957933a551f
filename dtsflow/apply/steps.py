"""Running one step of one task: the dispatch by step kind, and what each kind does around its API call.

Every kind goes through the level-triggered checks of `dtsflow.apply.guards` and, when asynchronous, waits through
`dtsflow.apply.waits`. Creates go through the write-ahead journal with the token and generation that
`dtsflow.apply.recovery` decided; the precheck policy (`precheck.skip`) is applied here.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable
from typing import assert_never

from dtsflow.apply.cutover import CutoverSteps
from dtsflow.apply.events import PrecheckFailure
from dtsflow.apply.guards import UNDERWAY_NOTE, LevelChecks, StepFailure, TaskState, require_id
from dtsflow.apply.journal import Journal
from dtsflow.apply.recovery import DEAD_STATUSES, Create, Decision, Resume
from dtsflow.apply.snapshot import ABSENT
from dtsflow.apply.tokens import resize_token_for, token_for_body
from dtsflow.apply.waits import StepWaiter
from dtsflow.client.live import TaskStatus
from dtsflow.client.protocol import DtsClient
from dtsflow.client.wire import SecretResolver, config_body, create_body, managed_tags, rollback_config_body
from dtsflow.errors import ApiError
from dtsflow.plan.model import Change, Step, StepKind

MAX_TOKEN_CONFLICTS = 3


class StepRunner:
    """Runs steps for every task of one apply (thread-safe: tasks run on their own threads)."""

    def __init__(
        self,
        client: DtsClient,
        *,
        checks: LevelChecks,
        waiter: StepWaiter,
        clock: Callable[[], float],
        journal: Journal | None,
        resolve_secret: SecretResolver | None,
        decisions: dict[str, Decision],
        owners: dict[str, str],
    ) -> None:
        self._client = client
        self._checks = checks
        self._waiter = waiter
        self._clock = clock
        self._journal = journal
        self._resolve = resolve_secret
        self._decisions = decisions
        self._owners = owners  # dtsId -> the task (name) that owns it, in this run or the journal
        self._owners_lock = threading.Lock()
        self._cutover = CutoverSteps(client, checks=checks, waiter=waiter, clock=clock)

    def run(self, change: Change, step: Step, state: TaskState) -> str:
        """Run `step`; returns a note for the report ("already running", ...) or raises StepFailure/Interrupted."""
        client = self._client
        match step.kind:
            case StepKind.CREATE:
                return self._create(change, state)
            case StepKind.CONFIG:
                return self._config(change, step, state)
            case StepKind.PRECHECK | StepKind.PAIR_PRECHECK:
                return self._precheck(change, step, state)
            case StepKind.SKIP_PRECHECK:
                return self._skip_precheck(change, step, state)
            case StepKind.START:
                return self._mutate(change, step, state, client.start)
            case StepKind.PAUSE:
                return self._mutate(change, step, state, client.pause)
            case StepKind.SHUTDOWN:
                self._cutover.guard(change, step, state)
                return self._shutdown(change, step, state)
            case StepKind.WAIT_LAG:
                return self._cutover.wait_lag(change, step, state)
            case StepKind.SWITCH:
                return self._cutover.switch(change, step, state)
            case StepKind.DELETE:
                note = self._mutate(change, step, state, client.delete)
                if self._journal is not None:
                    self._journal.released(change.task, state.dts_id)
                return note
            case StepKind.RESIZE:
                return self._resize(change, step, state)
            case StepKind.RENAME:
                return self._rename(change, step, state)
            case StepKind.TAG:
                return self._mutate(change, step, state, lambda dts_id: client.assign_tags(dts_id, managed_tags()))
            case _:
                assert_never(step.kind)

    # -- generic mutating step -----------------------------------------------------------------------
    def _mutate(self, change: Change, step: Step, state: TaskState, call: Callable[[str], object]) -> str:
        require_id(state, change.task)
        note = self._checks.check_expected(step, state)
        if note is None:
            note = self._checks.call(step, state, call)
        if note is not None and note != UNDERWAY_NOTE:
            return note
        goal = step.goal
        if goal:
            self._waiter.wait(change.task, step, state, goal, frozenset(step.fail_on))
        return note or ""

    def _rename(self, change: Change, step: Step, state: TaskState) -> str:
        """Give the live task the manifest's name; level-triggered: a task the list shows renamed already is done."""
        require_id(state, change.task)
        if self._checks.named(state, change.task):
            return f"already named {change.task}"
        self._checks.call(step, state, lambda dts_id: self._client.rename(dts_id, change.task))
        return f"renamed from {change.renamed_from}" if change.renamed_from else ""

    def _resize(self, change: Change, step: Step, state: TaskState) -> str:
        """Resize with a token of (from, to, generation), then check that the task shows the new size."""
        standard = step.standard or (change.spec.standard if change.spec else None)
        if standard is None:
            raise StepFailure("the plan names no standard to resize to")
        before = next((d.before for d in change.diff if d.path == "standard"), None) or ""
        from_standard = before.strip('"')
        entry = self._journal.get(change.task) if self._journal is not None else None
        generation = entry.resizes if entry is not None and entry.dts_id == state.dts_id else 0

        def send(dts_id: str) -> None:
            token = resize_token_for(dts_id, standard, from_standard, generation)
            self._client.resize(dts_id, standard, client_token=token)

        note = self._mutate(change, step, state, send)
        assert state.dts_id is not None
        self._checks.wait_for_standard(
            change.task, state, standard, step.timeout_seconds or step.default_timeout_seconds
        )
        if self._journal is not None and entry is not None and entry.dts_id == state.dts_id:
            self._journal.resized(change.task, state.dts_id)
        return note

    def _shutdown(self, change: Change, step: Step, state: TaskState) -> str:
        """Shutdown; where the service refuses it for a never-started task that is to be deleted, delete it now."""
        try:
            return self._mutate(change, step, state, self._client.shutdown)
        except StepFailure as refused:
            deleting = any(s.kind is StepKind.DELETE for s in change.steps)
            if not deleting or refused.status not in step.delete_if_refused_from:
                raise
        assert state.dts_id is not None
        try:
            self._client.delete(state.dts_id)
        except ApiError as exc:
            raise StepFailure(f"shutdown was refused and a direct delete too: {exc}", status=state.status) from None
        if self._journal is not None:
            self._journal.released(change.task, state.dts_id)
        state.mutated_at, state.status = self._clock(), ABSENT
        return "refused for a never-started task: deleted directly"

    # -- create and config ---------------------------------------------------------------------------
    def _create(self, change: Change, state: TaskState) -> str:
        if change.spec is None:
            raise StepFailure("the plan holds no task spec to create from")
        decision = self._decisions.get(change.task)
        if isinstance(decision, Resume):
            state.dts_id, state.status, state.mutated_at = decision.dts_id, None, float("-inf")
            state.fresh_create = True  # as good as our own create: config may find it configured by another run
            return decision.note
        if decision is None:  # a create later in the plan (a replacement): after the journal's last generation
            entry = self._journal.get(change.task) if self._journal else None
            # Even after an unanswered create (a pending intent): its generation's token may have landed.
            generation = entry.generation + 1 if entry is not None else 0
            decision = Create(token_for_body(change.task, create_body(change.spec), generation), generation)
        self._create_with(change, state, decision)
        return ""

    def _create_with(self, change: Change, state: TaskState, decision: Create) -> None:
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
            decision = Create(token_for_body(change.task, body, generation), generation)
        else:
            raise StepFailure(f"create keeps answering tasks owned by other names (last {dts_id})")
        if self._journal is not None:
            self._journal.created(change.task, decision.token, decision.generation, dts_id)
        state.dts_id, state.status, state.mutated_at = dts_id, TaskStatus.UN_CONFIG, self._clock()
        state.fresh_create = True
        self._decisions[change.task] = Create(decision.token, decision.generation)

    def _config(self, change: Change, step: Step, state: TaskState) -> str:
        require_id(state, change.task)
        if change.spec is None:
            raise StepFailure("the plan holds no task spec to configure")
        spec = change.spec

        def send(dts_id: str) -> None:
            if spec.reverse is not None:  # a one-click reverse pair: both directions at once
                self._client.rollback_config(dts_id, rollback_config_body(spec, self._resolve))
            else:
                self._client.config_task(dts_id, config_body(spec, self._resolve))

        try:
            already = self._checks.check_expected(step, state)
            if already is not None:
                return already
            self._checks.call(step, state, send)
        except StepFailure:
            if state.fresh_create and state.status not in DEAD_STATUSES and self._checks.named(state, change.task):
                # Our token's task was configured and moved on by another apply of the same manifest.
                return f"configured by another run (the task is {state.status})"
            # A token may have answered with a task released long ago (see docs/apply.md, crash safety): create a new generation.
            if not (state.fresh_create and not state.regenerated and state.status in DEAD_STATUSES):
                raise
            decision = self._decisions.get(change.task)
            generation = (decision.generation + 1) if isinstance(decision, Create) else 1
            state.regenerated = True
            old = state.dts_id
            self._create_with(
                change, state, Create(token_for_body(change.task, create_body(spec), generation), generation)
            )
            self._checks.call(step, state, send)
            return f"{old} was a released task; created {state.dts_id} (generation {generation})"
        return ""

    # -- precheck ------------------------------------------------------------------------------------
    def _precheck(self, change: Change, step: Step, state: TaskState) -> str:
        require_id(state, change.task)
        note = self._checks.check_expected(step, state)
        before = state.status
        if note is None:
            note = self._checks.call(step, state, self._client.precheck)
        if note is not None and note != UNDERWAY_NOTE:
            return note
        goal = step.goal
        stops = frozenset(step.fail_on) | {TaskStatus.CHECK_FAILED}
        stale = TaskStatus.CHECK_FAILED if before == TaskStatus.CHECK_FAILED else None
        try:
            self._waiter.wait(change.task, step, state, goal, stops, stale=stale)
        except StepFailure as failure:
            if failure.status != TaskStatus.CHECK_FAILED:
                raise
            return self._precheck_policy(change, step, state)
        return note or ""

    def _skip_precheck(self, change: Change, step: Step, state: TaskState) -> str:
        """A plan step of its own for a task already `checkFailed`: the same policy as after a precheck."""
        require_id(state, change.task)
        goal = step.goal
        status = self._checks.known_status(state)
        if status is None or (status not in goal and status != TaskStatus.CHECK_FAILED):
            status = self._checks.reread(state)
        if status in goal:
            return f"already {status}"
        if status in step.underway:
            self._waiter.wait(change.task, step, state, goal, frozenset(step.fail_on) | {TaskStatus.CHECK_FAILED})
            return UNDERWAY_NOTE
        if status != TaskStatus.CHECK_FAILED:
            raise StepFailure(f"{state.found()}; skip-precheck needs it in checkFailed", status=status)
        return self._precheck_policy(change, step, state)

    def _precheck_policy(self, change: Change, step: Step, state: TaskState) -> str:
        """The task is checkFailed: skip when every failed item is allowed, else fail with the items."""
        dts_id = require_id(state, change.task)
        try:
            pair = step.kind is StepKind.PAIR_PRECHECK or (change.spec is not None and change.spec.reverse is not None)
            items = self._client.get_rollback_precheck(dts_id).items if pair else self._client.get_precheck(dts_id)
        except ApiError as exc:
            raise StepFailure(
                f"precheck failed and its results cannot be read: {exc}", TaskStatus.CHECK_FAILED
            ) from None
        failed = [i for i in items if i.failed]
        checks = [PrecheckFailure.of(i) for i in failed]
        allowed = set(step.skip_allowed)
        state.warnings += unknown_skip_names(step.skip_allowed, [i.name for i in items])
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
        already = self._checks.call(skip_step, state, self._client.skip_precheck)
        if already is None:
            self._waiter.wait(change.task, skip_step, state, skip_step.goal, frozenset(step.fail_on))
        return "skipped failed checks allowed by precheck.skip: " + ", ".join(i.name for i in failed)


def unknown_skip_names(skip: list[str], names: list[str]) -> list[str]:
    """A warning per `precheck.skip` name that is no check item of this precheck, naming the closest one: a typo
    there skips nothing, and the service's names are easy to mistype."""
    warnings = []
    for name in skip:
        if name in names:
            continue
        closest = difflib.get_close_matches(name, names, n=1, cutoff=0.0)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        warnings.append(f"precheck.skip names {name!r}, which is no check item of this task's precheck{hint}")
    return warnings
