"""The transition table is total and says what the contract says, cell by cell."""

from __future__ import annotations

import pytest

from dtsflow.client.live import TaskStatus
from dtsflow.manifest.model import DesiredState
from dtsflow.plan.model import StepKind
from dtsflow.plan.transitions import STEP_SPECS, TABLE, route

K = StepKind
S = TaskStatus
D = DesiredState

# The contract, written out once more by hand: a change to the table must change this too.
EXPECTED: dict[tuple[TaskStatus | None, DesiredState], tuple[StepKind, ...] | str] = {
    (None, D.READY): (K.CREATE, K.CONFIG),
    (None, D.PRECHECKED): (K.CREATE, K.CONFIG, K.PRECHECK),
    (None, D.RUNNING): (K.CREATE, K.CONFIG, K.PRECHECK, K.START),
    (None, D.PAUSED): (K.CREATE, K.CONFIG, K.PRECHECK, K.START, K.PAUSE),
    (None, D.SHUTDOWN): "does not exist",
    (None, D.ABSENT): (),
    (S.UN_CONFIG, D.READY): (K.CONFIG,),
    (S.UN_CONFIG, D.PRECHECKED): (K.CONFIG, K.PRECHECK),
    (S.UN_CONFIG, D.RUNNING): (K.CONFIG, K.PRECHECK, K.START),
    (S.UN_CONFIG, D.PAUSED): (K.CONFIG, K.PRECHECK, K.START, K.PAUSE),
    (S.UN_CONFIG, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.UN_CONFIG, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.READY, D.READY): (),
    (S.READY, D.PRECHECKED): (K.PRECHECK,),
    (S.READY, D.RUNNING): (K.PRECHECK, K.START),
    (S.READY, D.PAUSED): (K.PRECHECK, K.START, K.PAUSE),
    (S.READY, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.READY, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.CHECK_PASS, D.READY): (),
    (S.CHECK_PASS, D.PRECHECKED): (),
    (S.CHECK_PASS, D.RUNNING): (K.START,),
    (S.CHECK_PASS, D.PAUSED): (K.START, K.PAUSE),
    (S.CHECK_PASS, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.CHECK_PASS, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.CHECK_FAILED, D.READY): (),
    (S.CHECK_FAILED, D.PRECHECKED): (K.PRECHECK,),
    (S.CHECK_FAILED, D.RUNNING): (K.PRECHECK, K.START),
    (S.CHECK_FAILED, D.PAUSED): (K.PRECHECK, K.START, K.PAUSE),
    (S.CHECK_FAILED, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.CHECK_FAILED, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.STOPPED, D.READY): "already started",
    (S.STOPPED, D.PRECHECKED): "already started",
    (S.STOPPED, D.RUNNING): (K.START,),
    (S.STOPPED, D.PAUSED): (),
    (S.STOPPED, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.STOPPED, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.STOP_CHECK_FAILED, D.READY): "already started",
    (S.STOP_CHECK_FAILED, D.PRECHECKED): "already started",
    (S.STOP_CHECK_FAILED, D.RUNNING): "stopCheckFailed",
    (S.STOP_CHECK_FAILED, D.PAUSED): (),
    (S.STOP_CHECK_FAILED, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.STOP_CHECK_FAILED, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.RUN_FAILED, D.READY): "already started",
    (S.RUN_FAILED, D.PRECHECKED): "already started",
    (S.RUN_FAILED, D.RUNNING): (K.START,),
    (S.RUN_FAILED, D.PAUSED): "runFailed",
    (S.RUN_FAILED, D.SHUTDOWN): (K.SHUTDOWN,),
    (S.RUN_FAILED, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    (S.FINISHED, D.READY): "final",
    (S.FINISHED, D.PRECHECKED): "final",
    (S.FINISHED, D.RUNNING): "cannot run again",
    (S.FINISHED, D.PAUSED): "final",
    (S.FINISHED, D.SHUTDOWN): (),
    (S.FINISHED, D.ABSENT): (K.DELETE,),
    (S.ABANDONED, D.READY): "final",
    (S.ABANDONED, D.PRECHECKED): "final",
    (S.ABANDONED, D.RUNNING): "final",
    (S.ABANDONED, D.PAUSED): "final",
    (S.ABANDONED, D.SHUTDOWN): "final",
    (S.ABANDONED, D.ABSENT): (K.DELETE,),
}
for _s in (S.RUNNING, S.INIT_RUNNING, S.BIDIRECT_RUNNING, S.SINGLE_RUNNING, S.RETRYING):
    EXPECTED |= {
        (_s, D.READY): "already started",
        (_s, D.PRECHECKED): "already started",
        (_s, D.RUNNING): (),
        (_s, D.PAUSED): (K.PAUSE,),
        (_s, D.SHUTDOWN): (K.SHUTDOWN,),
        (_s, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    }
for _s in (S.CHECK_FAILED_ADD, S.CHECK_PASS_ADD):
    EXPECTED |= {
        (_s, D.READY): "already started",
        (_s, D.PRECHECKED): "already started",
        (_s, D.RUNNING): (K.START,),
        (_s, D.PAUSED): (),
        (_s, D.SHUTDOWN): (K.SHUTDOWN,),
        (_s, D.ABSENT): (K.SHUTDOWN, K.DELETE),
    }
for _s in (S.CONFIG_FAILED,):
    EXPECTED |= {(_s, d): EXPECTED[(S.UN_CONFIG, d)] for d in D}
for _s in (S.DELETED,):
    EXPECTED |= {(_s, d): EXPECTED[(None, d)] for d in D}
# Transitions underway: the path starts with the step whose transition it is (the executor only waits for it).
EXPECTED |= {
    (S.CHECKING, D.READY): (),
    (S.CHECKING, D.PRECHECKED): (K.PRECHECK,),
    (S.CHECKING, D.RUNNING): (K.PRECHECK, K.START),
    (S.CHECKING, D.PAUSED): (K.PRECHECK, K.START, K.PAUSE),
    (S.CHECKING, D.SHUTDOWN): "in progress",
    (S.CHECKING, D.ABSENT): "in progress",
    (S.STOPPING, D.READY): "already started",
    (S.STOPPING, D.PRECHECKED): "already started",
    (S.STOPPING, D.RUNNING): (K.PAUSE, K.START),
    (S.STOPPING, D.PAUSED): (K.PAUSE,),
    (S.STOPPING, D.SHUTDOWN): (K.PAUSE, K.SHUTDOWN),
    (S.STOPPING, D.ABSENT): (K.PAUSE, K.SHUTDOWN, K.DELETE),
}

CELLS = [
    pytest.param(status, desired, id=f"{status or 'absent'}->{desired}")
    for status in [None, *TaskStatus]
    for desired in DesiredState
]


def test_table_has_a_row_for_every_status_and_a_cell_for_every_desired_state() -> None:
    assert set(TABLE) == {None, *TaskStatus}
    for row in TABLE.values():
        assert set(row) == set(DesiredState)
    assert set(EXPECTED) == {(s, d) for s in [None, *TaskStatus] for d in DesiredState}


@pytest.mark.parametrize(("status", "desired"), CELLS)
def test_cell(status: TaskStatus | None, desired: DesiredState) -> None:
    cell = route(status, desired)
    expected = EXPECTED[(status, desired)]
    if isinstance(expected, str):
        assert not cell.possible
        assert cell.error and expected in cell.error
        assert cell.steps == ()
    else:
        assert cell.possible, cell.error
        assert cell.steps == expected


@pytest.mark.parametrize(("status", "desired"), CELLS)
def test_every_step_may_start_where_the_previous_one_left_the_task(
    status: TaskStatus | None, desired: DesiredState
) -> None:
    """The first step is allowed from the live status (the API's allowed-from sets)."""
    cell = route(status, desired)
    if not cell.steps or status in (None, S.DELETED):
        return
    # ... or the task is in that step's own transition, which the executor waits for instead of calling.
    assert str(status) in STEP_SPECS[cell.steps[0]].expect | STEP_SPECS[cell.steps[0]].underway


def test_finished_counts_as_running_for_a_full_only_task() -> None:
    assert route("finished", D.RUNNING, full_only=True).steps == ()
    assert route("finished", D.RUNNING, full_only=True).possible
    assert not route("finished", D.RUNNING, full_only=False).possible


def test_a_precheck_in_progress_blocks_only_shutdown_and_delete_with_run_again() -> None:
    for desired in (D.SHUTDOWN, D.ABSENT):
        cell = route(S.CHECKING, desired)
        assert cell.in_progress and "run dtsflow plan again" in (cell.error or "")
    assert all(route(S.CHECKING, d).possible for d in (D.READY, D.PRECHECKED, D.RUNNING, D.PAUSED))
    assert all(route(S.STOPPING, d).possible for d in (D.RUNNING, D.PAUSED, D.SHUTDOWN, D.ABSENT))


def test_unknown_status_is_refused_with_its_name() -> None:
    cell = route("somethingNew", D.RUNNING)
    assert not cell.possible and "somethingNew" in (cell.error or "")


@pytest.mark.parametrize(
    ("kind", "wait", "fail"),
    [
        pytest.param(K.PRECHECK, {"checkPass"}, set(), id="precheck"),
        pytest.param(
            K.START,
            {"running", "initRunning", "bidirectRunning", "singleRunning", "retrying"},
            {"runFailed"},
            id="start",
        ),
        pytest.param(K.PAUSE, {"stopped"}, set(), id="pause"),
        pytest.param(K.SHUTDOWN, {"finished"}, set(), id="shutdown"),
        pytest.param(K.DELETE, set(), set(), id="delete"),
        pytest.param(K.CONFIG, set(), set(), id="config"),
    ],
)
def test_step_rules(kind: StepKind, wait: set[str], fail: set[str]) -> None:
    assert set(STEP_SPECS[kind].wait_for) == wait
    assert set(STEP_SPECS[kind].fail_on) == fail


def test_allowed_from_sets_match_the_api_docs() -> None:
    assert STEP_SPECS[K.DELETE].expect == {"finished", "abandoned"}
    assert STEP_SPECS[K.PRECHECK].expect == {"ready", "checkPass", "checkFailed"}
    assert STEP_SPECS[K.START].expect == {"checkPass", "stopped", "runFailed", "checkFailedAdd", "checkPassAdd"}
    assert STEP_SPECS[K.PAUSE].expect == {"running", "initRunning", "bidirectRunning", "singleRunning", "retrying"}
    assert STEP_SPECS[K.CONFIG].expect == {
        "ready", "checkPass", "checkFailed", "runFailed", "stopped", "configFailed", "unConfig",
    }  # fmt: skip
    assert STEP_SPECS[K.SHUTDOWN].destructive and STEP_SPECS[K.DELETE].destructive
    assert STEP_SPECS[K.PAUSE].disruptive


def test_docs_show_the_current_table() -> None:
    from pathlib import Path

    from dtsflow.plan.transitions import table_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "plan.md").read_text(encoding="utf-8")
    start = doc.index("<!-- transition-table:start -->\n") + len("<!-- transition-table:start -->\n")
    end = doc.index("<!-- transition-table:end -->")
    assert doc[start:end] == table_markdown(), "copy table_markdown() into docs/plan.md"


def test_the_planner_and_the_emulator_read_the_allowed_from_rules_alike() -> None:
    """Two independent readings of the API documentation: the planner's expectations and the emulator's refusals. If they
    drift, plans would hold steps the emulator refuses (or never use what it allows)."""
    from dtsflow.emulator.machine import ALLOWED_FROM
    from dtsflow.plan.transitions import RESIZE_FROM

    actions = {K.CONFIG: "config", K.PRECHECK: "precheck", K.START: "start", K.PAUSE: "pause"}
    actions |= {K.SHUTDOWN: "shutdown", K.DELETE: "delete", K.SKIP_PRECHECK: "skipPrecheck"}
    for kind, action in actions.items():
        assert set(STEP_SPECS[kind].expect) == set(ALLOWED_FROM[action]), kind
    # The one known difference: the docs list running/stopped/runFailed for resize; the emulator also accepts the
    # running variants (initRunning, ...), which the planner never resizes from.
    assert set(RESIZE_FROM) == {"running", "stopped", "runFailed"}
    assert set(ALLOWED_FROM["resize"]) - set(RESIZE_FROM) == {
        "initRunning",
        "bidirectRunning",
        "singleRunning",
        "retrying",
    }
    assert set(RESIZE_FROM) <= set(ALLOWED_FROM["resize"])


def test_every_step_kind_has_its_spec() -> None:
    assert set(STEP_SPECS) == set(StepKind)


def test_the_specs_hold_what_the_executor_used_to_key_by_kind() -> None:
    """Underway, beyond, extra tolerance, default waits and secrets, as the executor's tables said them."""
    assert {k for k, s in STEP_SPECS.items() if s.underway} == {K.PRECHECK, K.SKIP_PRECHECK, K.PAUSE, K.PAIR_PRECHECK}
    assert STEP_SPECS[K.PAUSE].underway == {"stopping"} and STEP_SPECS[K.PRECHECK].underway == {"checking"}
    assert {"running", "stopped", "finished", "runFailed"} <= STEP_SPECS[K.SKIP_PRECHECK].beyond
    assert STEP_SPECS[K.DELETE].beyond == {"deleted"}
    assert STEP_SPECS[K.START].tolerate - STEP_SPECS[K.PAUSE].tolerate == {
        "running", "initRunning", "bidirectRunning", "singleRunning", "retrying",
    }  # fmt: skip
    assert {k: s.default_timeout_seconds for k, s in STEP_SPECS.items() if s.default_timeout_seconds != 600} == {
        K.PRECHECK: 900, K.SKIP_PRECHECK: 900, K.START: 1800, K.DELETE: 1200, K.PAIR_PRECHECK: 900, K.WAIT_LAG: 1800,
    }  # fmt: skip
    assert {k for k, s in STEP_SPECS.items() if s.sends_secrets} == {K.CREATE, K.CONFIG}


def test_only_shutdown_deletes_a_never_started_task_directly_when_refused() -> None:
    assert {k for k, s in STEP_SPECS.items() if s.delete_if_refused_from} == {K.SHUTDOWN}
    assert STEP_SPECS[K.SHUTDOWN].delete_if_refused_from == {
        "unConfig",
        "ready",
        "checkPass",
        "checkFailed",
        "configFailed",
    }


def test_a_pair_is_prechecked_like_a_task_and_switched_only_while_it_runs() -> None:
    """The pair's precheck is the ordinary precheck call (its items come from elsewhere); the switch and the lag
    gate need a running task, as the emulator's switch does."""
    assert STEP_SPECS[K.PAIR_PRECHECK] == STEP_SPECS[K.PRECHECK]
    assert STEP_SPECS[K.SWITCH].expect == STEP_SPECS[K.PAUSE].expect == STEP_SPECS[K.WAIT_LAG].expect
    assert STEP_SPECS[K.SWITCH].disruptive and not STEP_SPECS[K.SWITCH].destructive
    assert not STEP_SPECS[K.WAIT_LAG].wait_for and not STEP_SPECS[K.WAIT_LAG].disruptive
