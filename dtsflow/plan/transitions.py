"""The transition table: (live status or None) x desired state -> ordered steps, or why not. A contract.

Reviewed like code that talks to production: every `TaskStatus` of the API documentation's status list (and `None`,
"no such task") has one row, and every row has a cell for every `DesiredState`. A cell is either the step
kinds that take the task there (empty = already there) or a message that says why it cannot be planned.
`tests/plan/test_transitions.py` checks the table is total; `docs/plan.md` prints it for people.

Per step kind, `STEP_SPECS` is everything the kind means: which statuses the step may start from (`expect`,
the allowed-from sets of the API documentation), which mean it is done (`wait_for`, `beyond`), failed (`fail_on`)
or underway, what a wait sits through, how long it waits by default and whether it sends secrets. The planner
copies the spec into each plan step; the executor reads only the step.

Choices where the API documents nothing (see docs/plan.md):
- `checking` and `stopping` are transitions already underway (another run's, the console's, or ours from an
  apply that was killed while it waited): the path forward starts with the same step, which the executor only
  waits for (it sends nothing while the task is in that step's own transition), so a re-run after a crash goes
  on where the killed run stopped. Shutting down or deleting a task mid-precheck waits for a re-plan instead
  (shutdown is not allowed while `checking`, and guessing the precheck's outcome would be wrong).
- `ready` is satisfied by `checkPass`/`checkFailed` (configured and not started); a started task cannot go
  back to `ready`/`prechecked`.
- A new task with desired `paused` is created, prechecked, started and paused (the desired-state table of
  the manifest format reaches `paused` from a new task); a new task with desired `shutdown` is refused.
- `finished` is terminal: only `shutdown` (already there), `absent` (delete) and, for a task without
  `increment`, `running` (a full migration that finished counts as running).
- `deleted` is planned like a missing task (its name is free again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dtsflow.client.statuses import RUNNING_STATUSES, TaskStatus
from dtsflow.manifest.model import DesiredState

S = TaskStatus
D = DesiredState

# Statuses of a task that has been started at least once: a config change there is disruptive.
STARTED_STATUSES = RUNNING_STATUSES | {
    S.STOPPING,
    S.STOPPED,
    S.STOP_CHECK_FAILED,
    S.RUN_FAILED,
    S.CHECK_FAILED_ADD,
    S.CHECK_PASS_ADD,
}
# A task in one of these has never replicated (as far as its status tells). Where the service refuses `shutdown`
# for such a task, apply deletes it directly (Terraform's provider deletes unConfig/ready tasks directly too).
NEVER_STARTED_STATUSES = frozenset({S.UN_CONFIG, S.READY, S.CHECK_PASS, S.CHECK_FAILED, S.CONFIG_FAILED})
DELETE_DIRECTLY_NOTE = "it never started: if the service refuses shutdown, apply deletes it directly"
TRANSIENT_STATUSES = frozenset({S.CHECKING, S.STOPPING})
CONFIG_FROM = frozenset({S.READY, S.CHECK_PASS, S.CHECK_FAILED, S.RUN_FAILED, S.STOPPED, S.CONFIG_FAILED, S.UN_CONFIG})
RESIZE_FROM = frozenset({S.RUNNING, S.STOPPED, S.RUN_FAILED})
# The shutdown page is missing from the archived docs; Terraform waits from {checkFailed, checkPass, running,
# stopped, runFailed}. We allow every settled, not-yet-finished status; the emulator enforces the same set.
SHUTDOWN_FROM = frozenset(
    {
        S.UN_CONFIG,
        S.READY,
        S.CHECK_PASS,
        S.CHECK_FAILED,
        S.STOPPED,
        S.STOP_CHECK_FAILED,
        S.RUN_FAILED,
        S.CONFIG_FAILED,
        S.CHECK_FAILED_ADD,
        S.CHECK_PASS_ADD,
    }
    | RUNNING_STATUSES
)


class StepKind(StrEnum):
    """One API call (plus, for asynchronous calls, the wait for its outcome). Each kind has its `StepSpec`
    below, a `DtsClient` method and one arm in `dtsflow.apply.steps.StepRunner.run`."""

    CREATE = "create"
    CONFIG = "config"
    PRECHECK = "precheck"  # waits; may call skipPrecheck when every failed item is allowed
    SKIP_PRECHECK = "skip-precheck"
    START = "start"
    PAUSE = "pause"
    SHUTDOWN = "shutdown"
    DELETE = "delete"
    RESIZE = "resize"
    TAG = "tag"  # bind dtsflow's tag to a task it adopts
    PAIR_PRECHECK = "pair-precheck"  # a one-click reverse pair's precheck: both directions' items
    WAIT_LAG = "wait-lag"  # the lag gate: no call that changes anything, a wait for the delay to fall
    SWITCH = "switch"  # a pair's direction: `POST /v1/task/{id}/rollback`
    RENAME = "rename"  # `previousNames`: the live task takes the manifest's name (`PUT /v1/task/{id}?name`)


K = StepKind


def _s(*statuses: TaskStatus) -> frozenset[str]:
    return frozenset(str(s) for s in statuses)


DEFAULT_WAIT_SECONDS = 10 * 60.0


@dataclass(frozen=True, slots=True)
class StepSpec:
    """Everything a step kind means, in one place (statuses as API strings). The planner copies it into each
    plan `Step`, so that a saved plan describes itself and the executor keeps no table keyed by kind."""

    expect: frozenset[str]
    """Statuses the step may start from (the API's allowed-from set); empty = any."""
    wait_for: frozenset[str] = frozenset()
    """Statuses that mean the step is done; empty = the call itself is the step (synchronous)."""
    fail_on: frozenset[str] = frozenset()
    """Statuses that mean the step failed."""
    underway: frozenset[str] = frozenset()
    """The step's own transition is in progress (ours that landed late, another run's, or one a killed apply
    left behind): a path may start there, and the executor waits for the outcome instead of calling."""
    beyond: frozenset[str] = frozenset()
    """Statuses past the step's goal: the step counts as done there (a task that has started was prechecked)."""
    tolerate: frozenset[str] = _s(*TRANSIENT_STATUSES)
    """Statuses a wait sits through besides `expect` and `underway` (passing states)."""
    default_timeout_seconds: float = DEFAULT_WAIT_SECONDS
    """How long a wait for the step's outcome lasts when the manifest says nothing."""
    sends_secrets: bool = False
    """The request carries the configuration, and so the passwords: they must resolve before apply sends anything."""
    delete_if_refused_from: frozenset[str] = frozenset()
    """Where the service may refuse the call for a task that never started: when the plan deletes the task anyway,
    apply deletes it directly instead of failing (shutdown)."""
    disruptive: bool = False
    """Stops replication for a while."""
    destructive: bool = False
    """Cannot be undone."""


_PRECHECKED = _s(*STARTED_STATUSES, S.FINISHED)
"""A task that has been started at least once (a finished one included) was prechecked."""

STEP_SPECS: Mapping[StepKind, StepSpec] = {
    K.CREATE: StepSpec(expect=frozenset(), sends_secrets=True),  # the task does not exist yet
    K.CONFIG: StepSpec(expect=_s(*CONFIG_FROM), sends_secrets=True),  # synchronous; the task reads `ready` afterwards
    # `checkFailed` is not a failure status here: the precheck policy (precheck.skip) decides.
    K.PRECHECK: StepSpec(
        expect=_s(S.READY, S.CHECK_PASS, S.CHECK_FAILED),
        wait_for=_s(S.CHECK_PASS),
        underway=_s(S.CHECKING),
        beyond=_PRECHECKED,
        default_timeout_seconds=15 * 60,  # the manifest's precheck.timeout overrides it (`Step.timeout_seconds`)
    ),
    K.SKIP_PRECHECK: StepSpec(
        expect=_s(S.CHECK_FAILED),
        wait_for=_s(S.CHECK_PASS),
        underway=_s(S.CHECKING),
        beyond=_PRECHECKED,
        default_timeout_seconds=15 * 60,
    ),
    # A task without `increment` may move on to `finished`: `planner.make_step` adds it to wait_for then.
    K.START: StepSpec(
        expect=_s(S.CHECK_PASS, S.STOPPED, S.RUN_FAILED, S.CHECK_FAILED_ADD, S.CHECK_PASS_ADD),
        # Any of the running family means started: a long full load may show `initRunning` throughout.
        wait_for=_s(*RUNNING_STATUSES),
        fail_on=_s(S.RUN_FAILED),
        tolerate=_s(*TRANSIENT_STATUSES, *RUNNING_STATUSES),
        default_timeout_seconds=30 * 60,
    ),
    K.PAUSE: StepSpec(expect=_s(*RUNNING_STATUSES), wait_for=_s(S.STOPPED), underway=_s(S.STOPPING), disruptive=True),
    K.SHUTDOWN: StepSpec(
        expect=_s(*SHUTDOWN_FROM),
        wait_for=_s(S.FINISHED),
        delete_if_refused_from=_s(*NEVER_STARTED_STATUSES),
        destructive=True,
    ),
    # Done when the task no longer appears in the list: "gone" is not a status the task reports, so wait_for
    # stays empty and the pseudo-status the executor gives a task the list no longer shows (`deleted`) is beyond.
    K.DELETE: StepSpec(
        expect=_s(S.FINISHED, S.ABANDONED), beyond=_s(S.DELETED), default_timeout_seconds=20 * 60, destructive=True
    ),
    K.RESIZE: StepSpec(expect=_s(*RESIZE_FROM)),  # the default wait: how long the new size may take to show
    K.TAG: StepSpec(expect=frozenset()),  # tags can be bound in any status
    # The same call and statuses as PRECHECK; the check items come from `rollback/precheck`, both directions.
    K.PAIR_PRECHECK: StepSpec(
        expect=_s(S.READY, S.CHECK_PASS, S.CHECK_FAILED),
        wait_for=_s(S.CHECK_PASS),
        underway=_s(S.CHECKING),
        beyond=_PRECHECKED,
        default_timeout_seconds=15 * 60,
    ),
    # Reads only; done when the delay is at most the gate (`Step.max_delay`), not at a status.
    K.WAIT_LAG: StepSpec(expect=_s(*RUNNING_STATUSES), default_timeout_seconds=30 * 60),
    # Synchronous (dtsflow/client/reverse.py); done when the pair reads the wanted direction (`Step.direction`).
    K.SWITCH: StepSpec(expect=_s(*RUNNING_STATUSES), disruptive=True),
    # Synchronous, in any status (the API documents no allowed-from set); done when the list shows the new name.
    K.RENAME: StepSpec(expect=frozenset()),
}


@dataclass(frozen=True, slots=True)
class Route:
    """One cell: the step kinds from a status to a desired state, or the reason there is no way."""

    steps: tuple[StepKind, ...] = ()
    error: str | None = None
    in_progress: bool = False
    """The status is transient: re-running plan later will find a way."""
    full_only_ok: bool = False
    """`finished` counts as `running` when the task has no `increment` (the error applies otherwise)."""

    @property
    def possible(self) -> bool:
        return self.error is None


def go(*steps: StepKind) -> Route:
    return Route(steps=steps)


def no(reason: str) -> Route:
    return Route(error=reason)


def busy(reason: str) -> Route:
    return Route(error=reason, in_progress=True)


HERE = go()
NEW = {
    D.READY: go(K.CREATE, K.CONFIG),
    D.PRECHECKED: go(K.CREATE, K.CONFIG, K.PRECHECK),
    D.RUNNING: go(K.CREATE, K.CONFIG, K.PRECHECK, K.START),
    D.PAUSED: go(K.CREATE, K.CONFIG, K.PRECHECK, K.START, K.PAUSE),
    D.SHUTDOWN: no(
        "the task does not exist; dtsflow does not create a task only to shut it down "
        "(use state: absent, or another state to create it)"
    ),
    D.ABSENT: HERE,
}
UNCONFIGURED = {
    D.READY: go(K.CONFIG),
    D.PRECHECKED: go(K.CONFIG, K.PRECHECK),
    D.RUNNING: go(K.CONFIG, K.PRECHECK, K.START),
    D.PAUSED: go(K.CONFIG, K.PRECHECK, K.START, K.PAUSE),
    D.SHUTDOWN: go(K.SHUTDOWN),
    D.ABSENT: go(K.SHUTDOWN, K.DELETE),
}
CONFIGURED = {  # ready, and checkFailed (prechecked again): configured, not started
    D.READY: HERE,
    D.PRECHECKED: go(K.PRECHECK),
    D.RUNNING: go(K.PRECHECK, K.START),
    D.PAUSED: go(K.PRECHECK, K.START, K.PAUSE),
    D.SHUTDOWN: go(K.SHUTDOWN),
    D.ABSENT: go(K.SHUTDOWN, K.DELETE),
}
_STARTED_BACK = "the task has already started; it cannot go back to {desired} (use paused, shutdown or absent)"


def _started_cannot_go_back() -> dict[DesiredState, Route]:
    return {d: no(_STARTED_BACK.format(desired=d)) for d in (D.READY, D.PRECHECKED)}


def _running_row() -> dict[DesiredState, Route]:
    return {
        **_started_cannot_go_back(),
        D.RUNNING: HERE,
        D.PAUSED: go(K.PAUSE),
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    }


def _checking_row() -> dict[DesiredState, Route]:
    """A precheck is underway: the precheck step waits for its outcome (the policy applies), then on."""
    wait_then = busy("a precheck is in progress; run dtsflow plan again when it has finished")
    return {
        D.READY: HERE,  # configured and not started, whatever the precheck says
        D.PRECHECKED: go(K.PRECHECK),
        D.RUNNING: go(K.PRECHECK, K.START),
        D.PAUSED: go(K.PRECHECK, K.START, K.PAUSE),
        D.SHUTDOWN: wait_then,
        D.ABSENT: wait_then,
    }


def _stopping_row() -> dict[DesiredState, Route]:
    """A pause is underway: the pause step waits for `stopped`, then on."""
    return {
        **_started_cannot_go_back(),
        D.RUNNING: go(K.PAUSE, K.START),
        D.PAUSED: go(K.PAUSE),
        D.SHUTDOWN: go(K.PAUSE, K.SHUTDOWN),
        D.ABSENT: go(K.PAUSE, K.SHUTDOWN, K.DELETE),
    }


def _paused_add_row() -> dict[DesiredState, Route]:
    """checkFailedAdd / checkPassAdd: a paused task whose added objects were prechecked; start is allowed."""
    return {
        **_started_cannot_go_back(),
        D.RUNNING: go(K.START),
        D.PAUSED: HERE,
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    }


_TERMINAL = "the task is {status}, which is final; it cannot become {desired} (use absent to delete it, then rename or re-add it)"


def _terminal(status: TaskStatus, desired: DesiredState) -> Route:
    return no(_TERMINAL.format(status=status, desired=desired))


TABLE: Mapping[TaskStatus | None, Mapping[DesiredState, Route]] = {
    None: NEW,
    S.DELETED: NEW,
    S.UN_CONFIG: UNCONFIGURED,
    S.CONFIG_FAILED: UNCONFIGURED,  # a failed config is retried like a first one
    S.READY: CONFIGURED,
    S.CHECKING: _checking_row(),
    S.CHECK_PASS: {
        D.READY: HERE,  # configured and not started; we do not undo a passed precheck
        D.PRECHECKED: HERE,
        D.RUNNING: go(K.START),
        D.PAUSED: go(K.START, K.PAUSE),
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    },
    # Precheck again (the policy may skip allowed failures); the planner uses skip-precheck directly when
    # the failed items it read are all in `precheck.skip`.
    S.CHECK_FAILED: CONFIGURED,
    S.RUNNING: _running_row(),
    S.INIT_RUNNING: _running_row(),
    S.BIDIRECT_RUNNING: _running_row(),
    S.SINGLE_RUNNING: _running_row(),
    S.RETRYING: _running_row(),
    S.STOPPING: _stopping_row(),
    S.STOPPED: {
        **_started_cannot_go_back(),
        D.RUNNING: go(K.START),
        D.PAUSED: HERE,
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    },
    # The precheck of objects added to a paused task failed; the task stays paused. Start is not allowed.
    S.STOP_CHECK_FAILED: {
        **_started_cannot_go_back(),
        D.RUNNING: no(
            "the precheck of objects added to this paused task failed (stopCheckFailed); "
            "fix it in the DTS console, then run dtsflow plan again"
        ),
        D.PAUSED: HERE,
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    },
    S.CHECK_FAILED_ADD: _paused_add_row(),
    S.CHECK_PASS_ADD: _paused_add_row(),
    S.RUN_FAILED: {
        **_started_cannot_go_back(),
        D.RUNNING: go(K.START),  # start is allowed from runFailed: a retry
        D.PAUSED: no(
            "the task failed while running (runFailed) and is not replicating; pause needs a running task (set state running to restart it)"
        ),
        D.SHUTDOWN: go(K.SHUTDOWN),
        D.ABSENT: go(K.SHUTDOWN, K.DELETE),
    },
    S.FINISHED: {
        D.READY: _terminal(S.FINISHED, D.READY),
        D.PRECHECKED: _terminal(S.FINISHED, D.PRECHECKED),
        D.RUNNING: Route(
            error="the task is finished; a task with increment cannot run again "
            "(use shutdown or absent, or a new task name)",
            full_only_ok=True,
        ),
        D.PAUSED: _terminal(S.FINISHED, D.PAUSED),
        D.SHUTDOWN: HERE,
        D.ABSENT: go(K.DELETE),
    },
    S.ABANDONED: {
        D.READY: _terminal(S.ABANDONED, D.READY),
        D.PRECHECKED: _terminal(S.ABANDONED, D.PRECHECKED),
        D.RUNNING: _terminal(S.ABANDONED, D.RUNNING),
        D.PAUSED: _terminal(S.ABANDONED, D.PAUSED),
        D.SHUTDOWN: _terminal(S.ABANDONED, D.SHUTDOWN),
        D.ABSENT: go(K.DELETE),
    },
}


def route(status: str | None, desired: DesiredState, *, full_only: bool = False) -> Route:
    """The cell for a live status (an API string, None = no task) and a desired state.

    `full_only`: the task has no `increment`, so `finished` satisfies `running`.
    """
    known: TaskStatus | None
    if status is None:
        known = None
    else:
        try:
            known = TaskStatus(status)
        except ValueError:
            return no(f"unknown task status {status!r}; dtsflow does not know how to reach {desired} from it")
    cell = TABLE[known][desired]
    if cell.full_only_ok and full_only:
        return HERE
    return cell


def table_markdown() -> str:
    """The table as Markdown, for docs/plan.md (a test keeps the doc in sync with the data)."""
    head = "| live status | " + " | ".join(str(d) for d in DesiredState) + " |"
    rule = "|---" * (len(DesiredState) + 1) + "|"
    rows = [head, rule]
    for status in [None, *TaskStatus]:
        cells = []
        for desired in DesiredState:
            cell = TABLE[status][desired]
            if cell.possible:
                cells.append(" → ".join(k.value for k in cell.steps) or "✓ (no-op)")
            elif cell.full_only_ok:
                cells.append("✓ if no `increment`, else ✗ cannot run again")
            elif cell.in_progress:
                cells.append("⏳ in progress, re-run")
            else:
                cells.append("✗ " + (cell.error or "").split(";")[0].split(" (")[0])
        rows.append(f"| `{status or '(no task)'}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
