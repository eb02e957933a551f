"""The executor in-process: the real HTTP client against the real emulator, with plans built by the planner
or, for level-triggered corner cases, by hand (a plan made against a state that has changed since)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dtsflow.client.http import HttpDtsClient
from dtsflow.credentials import Credentials
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.errors import ConfigError
from dtsflow.events import EventLog, StepPolled
from dtsflow.executor import Executor
from dtsflow.journal import Journal, client_token
from dtsflow.manifest import TaskSpec
from dtsflow.plan import Action, Change, Plan, Step, StepKind
from dtsflow.planner import make_plan
from dtsflow.refresh import fetch_live
from dtsflow.report import Outcome
from dtsflow.transitions import STEP_RULES
from dtsflow.waiter import PollPolicy
from dtsflow.wire import create_body
from tests.apply.conftest import MUTATING, task
from tests.helpers import REPO

FAST = PollPolicy(initial=0.02, factor=1.5, cap=0.2)


class Manifests:
    """What the planner needs of loaded manifests."""

    def __init__(self, specs: list[TaskSpec]) -> None:
        self.tasks = {s.name: s for s in specs}
        self.prune_prefixes: list[str] = []
        self.digest = "test"
        self.paths: list[str] = []
        self.locations: dict[str, tuple[str, int]] = {}


def spec(name: str, **extra: Any) -> TaskSpec:
    body = task(name, **extra)
    body["src"]["password"] = "${secret:DB_PASS}"
    return TaskSpec.model_validate(body)


def requests(emu: RunningEmulator) -> dict[str, int]:
    return dict(emu.stats["requests"])


def mutating(emu: RunningEmulator) -> int:
    counts = requests(emu)
    return sum(counts.get(op, 0) for op in MUTATING)


def executor(client: HttpDtsClient, tmp_path: Path, **kw: Any) -> Executor:
    kw.setdefault("resolve_secret", lambda ref: "not-a-real-password")
    kw.setdefault("poll_policy", FAST)
    return Executor(client, journal=Journal(tmp_path / "journal"), **kw)


def step(kind: StepKind) -> Step:
    rule = STEP_RULES[kind]
    return Step(kind=kind, expect=sorted(rule.expect), wait_for=sorted(rule.wait_for), fail_on=sorted(rule.fail_on))


def one_change(name: str, dts_id: str | None, live_status: str | None, *kinds: StepKind, **kw: Any) -> Plan:
    change = Change(
        task=name,
        action=kw.pop("action", Action.TRANSITION),
        reason="test",
        dts_id=dts_id,
        live_status=live_status,
        steps=[step(k) for k in kinds],
        **kw,
    )
    return Plan(manifest_digest="test", changes=[change])


def test_a_start_refused_because_the_task_already_runs_is_a_success(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    [dts_id] = emu.seed([{"taskName": "a", "status": "running", "dataType": ["base", "increment"]}])
    emu.reset_stats()
    plan = one_change("a", dts_id, "checkPass", StepKind.START)  # planned before someone else started it
    report = executor(client, tmp_path).apply(plan)
    assert report.tasks[0].outcome is Outcome.APPLIED
    assert report.exit_code == 0
    counts = requests(emu)
    assert counts.get("start") == 1 and counts.get("get", 0) == 0


def test_a_task_somewhere_unexpected_fails_with_what_was_found(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    [dts_id] = emu.seed([{"taskName": "a", "status": "finished"}])
    report = executor(client, tmp_path).apply(one_change("a", dts_id, "checkPass", StepKind.START))
    result = report.tasks[0]
    assert result.outcome is Outcome.FAILED and report.exit_code == 1
    assert "finished" in result.message and "InvalidInstanceStatus" in result.message
    assert result.not_done == ["start"]


def test_a_task_already_where_the_step_leads_needs_no_call(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    [dts_id] = emu.seed([{"taskName": "a", "status": "running", "dataType": ["base", "increment"]}])
    emu.reset_stats()
    report = executor(client, tmp_path).apply(one_change("a", dts_id, "running", StepKind.START))
    assert report.tasks[0].outcome is Outcome.APPLIED
    assert requests(emu).get("start", 0) == 0


def test_a_dropped_start_response_is_resolved_by_reading_the_task(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    [dts_id] = emu.seed([{"taskName": "a", "status": "checkPass", "dataType": ["base", "increment"]}])
    emu.set_faults({"drop_response": {"start": 1}})
    report = executor(client, tmp_path).apply(one_change("a", dts_id, "checkPass", StepKind.START))
    assert report.tasks[0].outcome is Outcome.APPLIED, report.tasks[0].message
    assert client.get_task(dts_id).status == "running"


def test_unresolvable_secrets_stop_everything_before_any_request(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    def resolve(ref: str) -> str:
        raise ConfigError(f"secret {ref} is not set")

    plan = make_plan(Manifests([spec("a"), spec("b")]), fetch_live(client))
    emu.reset_stats()
    with pytest.raises(ConfigError, match="DB_PASS"):
        executor(client, tmp_path, resolve_secret=resolve).apply(plan)
    assert emu.stats["total"] == 0


def test_twenty_tasks_share_their_polls_and_make_four_mutating_calls_each(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    plan = make_plan(Manifests([spec(f"t{i:02d}") for i in range(20)]), fetch_live(client))
    emu.reset_stats()
    log = EventLog()
    run = executor(client, tmp_path, observer=log, parallelism=10)
    report = run.apply(plan)
    assert report.applied == 20
    counts = requests(emu)
    assert mutating(emu) == 80
    assert counts.get("get", 0) == 0 and counts.get("getPrecheck", 0) == 0
    # One list call per tick for all tasks in flight: far fewer than the 40 waits (precheck + start) would need.
    assert counts.get("list", 0) == run.polls
    assert run.polls <= 40
    assert any(isinstance(e, StepPolled) for e in log.events)


def test_ctrl_c_before_the_first_step_sends_nothing(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    plan = make_plan(Manifests([spec("a"), spec("b")]), fetch_live(client))
    emu.reset_stats()
    stop = threading.Event()
    stop.set()
    report = executor(client, tmp_path, stop_event=stop).apply(plan)
    assert report.exit_code == 130 and report.interrupted
    assert {t.outcome for t in report.tasks} == {Outcome.INTERRUPTED}
    assert mutating(emu) == 0


def test_the_overall_timeout_ends_a_wait(tmp_path: Path) -> None:
    with start_in_thread(time_scale=1.0) as slow:  # a precheck takes 3 s here
        with HttpDtsClient(slow.url, Credentials(slow.access_key, slow.secret_key), trust_env=False) as c:
            plan = make_plan(Manifests([spec("a")]), fetch_live(c))
            began = time.monotonic()
            report = executor(c, tmp_path, timeout=0.5).apply(plan)
            assert time.monotonic() - began < 2.5
    result = report.tasks[0]
    assert result.outcome is Outcome.FAILED and "timed out" in result.message
    assert result.done == ["create", "config"] and result.not_done == ["precheck", "start"]


def test_a_journaled_task_is_resumed_not_created_again(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    [orphan] = emu.seed([{"status": "unConfig"}])
    journal = Journal(tmp_path / "journal")
    token = client_token("a", create_body(spec("a")), 0)
    journal.intent("a", token, 0)
    journal.created("a", token, 0, orphan)
    plan = make_plan(Manifests([spec("a")]), fetch_live(client))
    emu.reset_stats()
    report = executor(client, tmp_path).apply(plan)
    assert report.applied == 1
    assert requests(emu).get("create", 0) == 0
    live = client.get_task(orphan)
    assert live.task_name == "a" and live.status == "running"


def test_an_unanswered_create_adopts_its_orphan_when_tokens_are_not_deduplicated(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    emu.set_faults({"dedupe_tokens": False})
    journal = Journal(tmp_path / "journal")
    journal.intent("a", client_token("a", create_body(spec("a")), 0), 0)  # killed before the answer
    [orphan] = emu.seed(
        [{"status": "unConfig", "payInfo": {"sourceInstanceType": "public", "targetInstanceType": "public"}}]
    )
    plan = make_plan(Manifests([spec("a")]), fetch_live(client))
    assert [o.dts_id for o in plan.orphans] == [orphan]
    emu.reset_stats()
    report = executor(client, tmp_path).apply(plan)
    assert report.applied == 1
    assert requests(emu).get("create", 0) == 0
    assert client.get_task(orphan).task_name == "a"
    assert len(client.list_tasks()) == 1


def test_an_unanswered_create_without_orphan_is_retried_with_the_same_token(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    path = tmp_path / "journal"
    token = client_token("a", create_body(spec("a")), 0)
    Journal(path).intent("a", token, 0)
    plan = make_plan(Manifests([spec("a")]), fetch_live(client))
    report = executor(client, tmp_path).apply(plan)
    assert report.applied == 1
    records = [json.loads(line) for line in path.read_text().splitlines()]
    created = [r for r in records if r["op"] == "created"]
    assert len(created) == 1 and created[0]["token"] == token and created[0]["generation"] == 0


def test_a_dependency_waits_for_its_prerequisite(emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path) -> None:
    plan = make_plan(Manifests([spec("b", dependsOn=["a"]), spec("a"), spec("c", dependsOn=["b"])]), fetch_live(client))
    log = EventLog()
    report = executor(client, tmp_path, observer=log).apply(plan)
    assert report.applied == 3
    order = [e.task for e in log.events if type(e).__name__ == "TaskStarted"]
    finished = [e.task for e in log.events if type(e).__name__ == "TaskFinished"]
    assert order == ["a", "b", "c"] and finished == ["a", "b", "c"]


def test_the_executor_cannot_re_plan() -> None:
    """It consumes the plan's steps: none of its modules even loads the planner (or the refresh it needs)."""
    code = (
        "import sys, dtsflow.executor, dtsflow.steps, dtsflow.levels, dtsflow.stepwait; "
        "print(sorted(m for m in sys.modules if m in ('dtsflow.planner', 'dtsflow.refresh', 'dtsflow.diff')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
