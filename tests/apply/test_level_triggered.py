"""Level-triggered corner cases against the real emulator: a step whose transition another run started, a
task another run configured and started after our plan, and waits that see the task go elsewhere or vanish."""

from __future__ import annotations

import time
from pathlib import Path

from dtsflow.apply.events import Event, StepPolled, StepSucceeded
from dtsflow.apply.poller import ABSENT, Poller, PollPolicy, WaitOutcome
from dtsflow.apply.report import Outcome
from dtsflow.apply.tokens import token_for_body as client_token
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.wire import config_body, create_body
from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.plan.model import StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.refresh import fetch_live
from tests.apply.conftest import client_of
from tests.apply.test_executor import Manifests, executor, one_change, requests, spec
from tests.helpers import EventLog


def _wait_for(client: HttpDtsClient, dts_id: str, status: str) -> None:
    deadline = time.monotonic() + 20
    while client.get_task(dts_id).status != status:
        assert time.monotonic() < deadline, f"{dts_id} never reached {status}"
        time.sleep(0.01)


def test_a_precheck_found_underway_is_waited_for_not_sent_again(tmp_path: Path) -> None:
    clock = ManualClock()  # the precheck (0.3 s of this clock) stays underway until the test moves the clock
    with start_in_thread(time_scale=0.1, clock=clock) as emu, client_of(emu) as client:
        body = create_body(spec("a"))
        dts_id = client.create_task(body, client_token=client_token("a", body, 0))
        client.config_task(dts_id, config_body(spec("a"), lambda ref: "x"))
        client.precheck(dts_id)  # another run's precheck, in progress when ours comes
        emu.reset_stats()
        log = EventLog()

        def observe(event: Event) -> None:
            log(event)
            if isinstance(event, StepPolled) and event.status == "checking":
                clock.advance(1.0)  # our wait has seen it underway: now let it finish

        plan = one_change("a", dts_id, "checking", StepKind.PRECHECK)
        report = executor(client, tmp_path, observer=observe).apply(plan)
        assert report.tasks[0].outcome is Outcome.APPLIED, report.tasks[0].message
        assert requests(emu).get("precheck", 0) == 0
        [succeeded] = [e for e in log.events if isinstance(e, StepSucceeded)]
        assert succeeded.note == "already underway" and succeeded.status == "checkPass"


def test_a_task_another_run_configured_and_started_after_our_plan_is_ours_and_done(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    plan = make_plan(Manifests([spec("a")]), fetch_live(client))  # made while the task did not exist
    assert [s.kind for s in plan.changes[0].steps][0] is StepKind.CREATE
    # Another apply of the same manifest (same token) creates, configures, prechecks and starts it meanwhile.
    body = create_body(spec("a"))
    dts_id = client.create_task(body, client_token=client_token("a", body, 0))
    client.config_task(dts_id, config_body(spec("a"), lambda ref: "x"))
    client.precheck(dts_id)
    _wait_for(client, dts_id, "checkPass")
    client.start(dts_id)
    _wait_for(client, dts_id, "running")
    emu.reset_stats()
    log = EventLog()
    report = executor(client, tmp_path, observer=log).apply(plan)
    result = report.tasks[0]
    assert result.outcome is Outcome.APPLIED, result.message
    assert result.dts_id == dts_id and len(client.list_tasks()) == 1
    notes = {e.step: e.note for e in log.events if isinstance(e, StepSucceeded)}
    assert notes["config"] == "configured by another run (the task is running)"
    assert notes["precheck"] == "already running" and notes["start"] == "already running"
    counts = requests(emu)
    assert counts.get("create") == 1  # answered with the same task (token de-duplication)
    assert counts.get("precheck", 0) == 0 and counts.get("start", 0) == 0


def test_a_wait_fails_when_the_task_settles_elsewhere_or_vanishes(emu: RunningEmulator, client: HttpDtsClient) -> None:
    [stopped] = emu.seed([{"taskName": "a", "status": "stopped"}])
    with Poller(client, policy=PollPolicy(floor=0.01, fraction=0.1, cap=0.01)) as poller:
        elsewhere = poller.wait(stopped, targets={"running"}, tolerate={"checkPass"}, timeout=10)
        assert elsewhere.outcome is WaitOutcome.FAILED and elsewhere.status == "stopped"
        assert elsewhere.message == "the task moved to stopped"
        gone = poller.wait("dts-never-existed", targets={"running"}, timeout=10)
        assert gone.outcome is WaitOutcome.FAILED and gone.status == ABSENT
        assert gone.message == "the task no longer exists"
        # A status the wait tolerates is sat through until the timeout.
        patient = poller.wait(stopped, targets={"running"}, tolerate={"stopped"}, timeout=0.2)
        assert patient.outcome is WaitOutcome.TIMEOUT and patient.status == "stopped"
