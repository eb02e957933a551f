"""Waiting and scheduling against the real emulator: the poll schedule, the wait timeouts and what they say,
Ctrl-C during a wait, and the `parallelism` bound."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dtsflow.apply.events import Event, StepPolled, TaskFinished, TaskStarted
from dtsflow.apply.poller import Poller, PollPolicy, WaitOutcome
from dtsflow.apply.report import Outcome, summary_line
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.live import LiveTask
from dtsflow.emulator import RunningEmulator
from dtsflow.plan.model import StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.refresh import fetch_live
from tests.apply.conftest import client_of
from tests.apply.test_executor import Manifests, executor, requests, spec
from tests.helpers import EventLog


def test_polls_come_at_a_fraction_of_the_time_waited_and_one_list_call_serves_the_waits(
    slow: RunningEmulator,
) -> None:
    [dts_id] = slow.seed([{"taskName": "a", "status": "running", "dataType": ["base", "increment"]}])
    policy = PollPolicy(floor=0.01, fraction=0.5, cap=0.04)
    with client_of(slow) as client:
        slow.reset_stats()
        with Poller(client, policy=policy) as poller:
            seen: list[float] = []

            def record(live: LiveTask | None, status: str) -> None:
                seen.append(time.monotonic())

            began = time.monotonic()
            first = poller.wait(dts_id, targets={"stopped"}, timeout=0.5, on_poll=record)
            assert first.outcome is WaitOutcome.TIMEOUT and first.status == "running"
            # the schedule itself is PollPolicy.gap (tests/apply/test_poll_thread.py); here: it is followed,
            # never sooner than the floor (at most one call per 10 ms), and the wait is looked at repeatedly
            assert 4 <= len(seen) <= 0.5 / 0.01 + 1, [round(t - began, 3) for t in seen]
            again = poller.wait(dts_id, targets={"running"}, timeout=5)
            assert again.outcome is WaitOutcome.REACHED
            polls = poller.polls
    counts = requests(slow)
    assert counts.get("list", 0) == polls and counts.get("get", 0) == 0  # one list call per tick, no detail


def test_wait_timeouts_say_which_limit_ended_them_and_what_was_awaited(
    slow: RunningEmulator, slow_client: HttpDtsClient, tmp_path: Path
) -> None:
    tasks = [spec("own", precheck={"timeout": "300ms"}), spec("deadline")]
    plan = make_plan(Manifests(tasks), fetch_live(slow_client))
    report = executor(slow_client, tmp_path, timeout=1.0).apply(plan)
    results = {r.task: r for r in report.tasks}
    own, deadline = results["own"], results["deadline"]
    assert own.outcome is Outcome.FAILED and deadline.outcome is Outcome.FAILED
    assert own.message == (
        "precheck failed: timed out after 0.3s (precheck.timeout) waiting for checkPass; last status checking"
    )
    assert deadline.message == (
        "precheck failed: timed out at the --timeout deadline waiting for checkPass; last status checking"
    )
    assert own.not_done == ["precheck", "start"] and deadline.not_done == ["precheck", "start"]
    # one word for the run, in the summary, the JSON report and its last event: the deadline ended it
    assert report.timed_out and summary_line(report).startswith("Apply timed out: 0 applied, 2 failed")
    assert report.to_dict()["timed_out"] is True and report.exit_code == 1


def test_ctrl_c_during_a_precheck_wait_ends_the_wait_and_starts_nothing_new(
    slow: RunningEmulator, slow_client: HttpDtsClient, tmp_path: Path
) -> None:
    plan = make_plan(Manifests([spec("a"), spec("b", dependsOn=["a"])]), fetch_live(slow_client))
    stop = threading.Event()
    log = EventLog()

    def observe(event: Event) -> None:
        log(event)
        if isinstance(event, StepPolled) and event.status == "checking":
            stop.set()  # what the SIGINT handler of `apply` does

    report = executor(slow_client, tmp_path, observer=observe, stop_event=stop).apply(plan)
    assert report.interrupted and report.exit_code == 130
    results = {r.task: r for r in report.tasks}
    assert results["a"].outcome is Outcome.INTERRUPTED
    assert results["a"].message == "interrupted while waiting for precheck"
    assert results["a"].done == ["create", "config"] and results["a"].not_done == ["precheck", "start"]
    assert results["b"].outcome is Outcome.INTERRUPTED and results["b"].message == "interrupted before it started"
    counts = requests(slow)
    assert counts.get("create") == 1 and counts.get("start", 0) == 0
    assert slow_client.get_task(results["a"].dts_id or "").status == "checking"  # the wait ended, not the precheck


def test_a_re_run_right_after_an_interrupted_precheck_wait_converges_without_a_second_precheck(
    slow: RunningEmulator, slow_client: HttpDtsClient, tmp_path: Path
) -> None:
    """The crash-recovery promise while the service is still busy: the killed run's precheck is `checking`
    when the re-run plans; the plan waits for it (no refusal, no second precheck call) and goes on."""
    manifests = Manifests([spec("a"), spec("b", dependsOn=["a"])])
    stop = threading.Event()

    def interrupt_when_checking(event: Event) -> None:
        if isinstance(event, StepPolled) and event.status == "checking":
            stop.set()

    first = executor(slow_client, tmp_path, observer=interrupt_when_checking, stop_event=stop)
    assert first.apply(make_plan(manifests, fetch_live(slow_client))).interrupted
    again = make_plan(manifests, fetch_live(slow_client))
    change_a = next(c for c in again.changes if c.task == "a")
    assert change_a.live_status == "checking" and change_a.error is None
    assert [s.kind for s in change_a.steps] == [StepKind.PRECHECK, StepKind.START]
    slow.reset_stats()
    report = executor(slow_client, tmp_path).apply(again)
    assert report.exit_code == 0 and report.applied == 2, [r.message for r in report.tasks]
    counts = requests(slow)
    assert counts.get("precheck") == 1  # b's only: a's precheck of the first run was waited for, not repeated
    assert counts.get("create") == 1 and counts.get("start") == 2
    assert {t.task_name: t.status for t in slow_client.list_tasks()} == {"a": "running", "b": "running"}


def test_parallelism_bounds_the_tasks_in_flight(emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path) -> None:
    plan = make_plan(Manifests([spec(f"t{i}") for i in range(7)]), fetch_live(client))
    log = EventLog()
    report = executor(client, tmp_path, observer=log, parallelism=3).apply(plan)
    assert report.applied == 7
    in_flight = peak = 0
    for event in log.events:
        if isinstance(event, TaskStarted):
            in_flight += 1
            peak = max(peak, in_flight)
        elif isinstance(event, TaskFinished):
            in_flight -= 1
    assert peak == 3  # parallel, and never more than --parallelism
    started = [e.task for e in log.events if isinstance(e, TaskStarted)]
    assert started == [f"t{i}" for i in range(7)]  # launched in plan order


def test_a_list_that_keeps_failing_ends_the_waits_with_the_api_error(emu: RunningEmulator, tmp_path: Path) -> None:
    creds = Credentials(emu.access_key, emu.secret_key)
    with HttpDtsClient(emu.url, creds, trust_env=False, backoff_base=0.01) as client:  # quick client retries
        plan = make_plan(Manifests([spec("a"), spec("b")]), fetch_live(client))
        emu.set_faults({"fail_next": {"list": 1000}})
        report = executor(client, tmp_path).apply(plan)
    for result in report.tasks:
        assert result.outcome is Outcome.FAILED
        assert result.message.startswith("precheck failed: cannot list tasks: list: HTTP 500 InternalError")
        assert result.done == ["create", "config"]
    counts = requests(emu)
    assert counts.get("start", 0) == 0
    # The poller gave up after a bounded number of failed ticks (each retried by the client), shared by both.
    assert counts["list"] <= 20


def test_a_long_wait_says_every_30_seconds_what_it_still_waits_for() -> None:
    # The clock is manual and drives the poll thread: a precheck of 5m40s is waited for without real time, and
    # each heartbeat is seen at the first look at or after its 30 s mark (the looks are at most 5 s apart).
    from dtsflow.apply.events import StepWaiting
    from dtsflow.apply.guards import TaskState
    from dtsflow.apply.waits import StepWaiter
    from dtsflow.clock import ManualClock
    from tests.apply.test_executor import step
    from tests.apply.test_poll_schedule import FinishingTasks, run_workers

    clock = ManualClock(start=0.0)  # run_to_next_deadline needs exact sums: a clock at epoch time rounds them
    tasks = FinishingTasks(clock)
    log = EventLog()
    reached: list[str] = []
    with Poller(tasks, policy=PollPolicy(), clock=clock) as poller:  # type: ignore[arg-type]
        waiter = StepWaiter(poller, clock, log, None)
        state = TaskState(dts_id="dts-1", status=None, mutated_at=float("-inf"))
        tasks.finish_in("dts-1", 340)

        def work() -> None:
            precheck = step(StepKind.PRECHECK)
            reached.append(waiter.wait("orders", precheck, state, precheck.goal, frozenset({"checkFailed"})))

        run_workers(clock, [work])
    assert reached == ["checkPass"]
    beats = [e for e in log.events if isinstance(e, StepWaiting)]
    assert [(b.task, b.step, b.waiting_for) for b in beats] == [("orders", "precheck", "checkPass")] * 11
    for mark, beat in enumerate(beats, start=1):
        assert 30 * mark <= beat.elapsed < 30 * mark + 5, [b.elapsed for b in beats]


def test_off_a_terminal_a_heartbeat_is_one_line_naming_the_task_the_status_and_the_time() -> None:
    import io

    from dtsflow.apply.events import StepWaiting
    from dtsflow.apply.progress import PlainProgress

    out = io.StringIO()
    view = PlainProgress(out)
    view(StepWaiting(task="orders", step="precheck", waiting_for="checkPass", elapsed=331.7))
    view(StepWaiting(task="orders", step="wait-lag", waiting_for="a replication delay of at most 5s", elapsed=42))
    view(StepWaiting(task="orders", step="start", waiting_for="running", elapsed=3900))
    lines = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "orders: precheck: still waiting for checkPass, 5m31s",
        "orders: wait-lag: still waiting for a replication delay of at most 5s, 42s",
        "orders: start: still waiting for running, 1h05m",
    ]


def test_a_lag_gate_that_is_not_reached_says_every_30_seconds_what_it_waits_for() -> None:
    from dtsflow.apply.events import StepWaiting
    from dtsflow.apply.guards import StepFailure
    from dtsflow.apply.waits import StepWaiter
    from dtsflow.clock import ManualClock
    from dtsflow.plan.model import Step

    clock = ManualClock(start=0.0)
    log = EventLog()
    with Poller(None, policy=PollPolicy(), clock=clock) as poller:  # type: ignore[arg-type]  # never polls here
        waiter = StepWaiter(poller, clock, log, None)
        gate = Step(kind=StepKind.WAIT_LAG, max_delay=5.0, timeout_seconds=100.0)
        with pytest.raises(StepFailure, match="timed out after 100s waiting for a replication delay of at most 5s"):
            # The gate's pauses go through the clock: 100 s of a delay above the gate take no real time.
            waiter.wait_lag("orders", gate, lambda: 12.0, lambda: False)
    beats = [e for e in log.events if isinstance(e, StepWaiting)]
    assert [b.waiting_for for b in beats] == ["a replication delay of at most 5s"] * 3
    assert [30 <= b.elapsed - 30 * i < 35 for i, b in enumerate(beats)] == [True] * 3
