"""The executor in-process: the real HTTP client against the real emulator, with plans built by the planner
or, for level-triggered corner cases, by hand (a plan made against a state that has changed since)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from dtsflow.apply.events import StepPolled
from dtsflow.apply.executor import Executor
from dtsflow.apply.journal import Journal
from dtsflow.apply.poller import PollPolicy
from dtsflow.apply.report import Outcome
from dtsflow.apply.tokens import token_for_body as client_token
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.wire import create_body
from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.errors import ConfigError
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.model import Action, Change, Plan, Step, StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.refresh import fetch_live
from dtsflow.plan.transitions import STEP_SPECS
from tests.apply.conftest import MUTATING, task
from tests.helpers import REPO, EventLog

FAST = PollPolicy(floor=0.02, fraction=0.1, cap=0.2)


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
    rule = STEP_SPECS[kind]
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
    # The emulator's clock stands still: the precheck cannot finish, whatever the machine's load; only the
    # --timeout deadline can end the wait.
    with start_in_thread(time_scale=1.0, clock=ManualClock()) as frozen:
        with HttpDtsClient(frozen.url, Credentials(frozen.access_key, frozen.secret_key), trust_env=False) as c:
            plan = make_plan(Manifests([spec("a")]), fetch_live(c))
            report = executor(c, tmp_path, timeout=0.5).apply(plan)
    result = report.tasks[0]
    assert result.outcome is Outcome.FAILED and "timed out at the --timeout deadline" in result.message
    assert report.timed_out
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
        "import sys, dtsflow.apply.executor, dtsflow.apply.steps, dtsflow.apply.guards, dtsflow.apply.waits; "
        "print(sorted(m for m in sys.modules if m in ('dtsflow.plan.planner', 'dtsflow.plan.refresh', 'dtsflow.plan.diff')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_secret_file_removed_mid_apply_fails_its_task_keeping_what_is_known(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    from dtsflow.apply.events import Event, StepStarted
    from dtsflow.manifest.secrets import SecretPolicy

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    password = secrets / "db"
    password.write_text("pw\n")
    body = task("a")
    body["src"]["password"] = f"${{secret:file:{password}}}"
    plan = make_plan(Manifests([TaskSpec.model_validate(body)]), fetch_live(client))
    log = EventLog()

    def observe(event: Event) -> None:
        log(event)
        if isinstance(event, StepStarted) and event.step == "config":
            password.unlink()  # after the pre-flight read every secret: removed while the apply runs

    policy = SecretPolicy.from_operator([str(secrets)], env={})
    report = executor(client, tmp_path, observer=observe, resolve_secret=policy.resolve).apply(plan)
    [result] = report.tasks
    assert result.outcome is Outcome.FAILED
    assert result.dts_id is not None and result.dts_id.startswith("dts")  # the task created before is named
    assert result.done == ["create"] and result.not_done == ["config", "precheck", "start"]
    assert result.message.startswith("config failed: secret ${secret:file:"), result.message
    assert "cannot read the file" in result.message and "internal error" not in result.message
    assert "ConfigError" not in result.message


def test_a_create_later_in_a_plan_after_an_unanswered_create_takes_the_next_generation(
    emu: RunningEmulator, client: HttpDtsClient, tmp_path: Path
) -> None:
    # A create that is not the plan's first step (as in a replacement) is decided when it comes, from the journal.
    [old] = emu.seed([{"taskName": "a", "status": "running"}])
    journal = Journal(tmp_path / "journal")
    journal.intent("a", "token-of-an-unanswered-create", 3)  # a killed run's create, never answered
    plan = one_change("a", old, "running", StepKind.PAUSE, StepKind.CREATE, spec=spec("a"))
    report = executor(client, tmp_path).apply(plan)
    assert report.applied == 1, report.tasks[0].message
    entry = Journal(tmp_path / "journal").get("a")
    assert entry is not None and entry.dts_id == report.tasks[0].dts_id != old
    assert entry.generation == 4  # never a fall back to generation 0, whose token an earlier life used
