"""The planned steps work on the emulator's status machine: walk each plan with plain client calls.

Not the executor: a few lines that call each step's operation, then poll until a `wait_for` status, checking
`expect` before each call. It catches a transition table that disagrees with the API's allowed-from rules. The
emulator runs on a `ManualClock`: a transient status lasts until the test moves the clock, never by real time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dtsflow.client.live import LiveTask
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.client.wire import config_body, create_body
from dtsflow.clock import ManualClock
from dtsflow.emulator import start_in_thread
from dtsflow.errors import ApiError
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.model import Change, StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.transitions import NEVER_STARTED_STATUSES
from tests.plan.factories import manifests, spec
from tests.plan.test_cli import seed

K = StepKind
LOOKS = 50  # reads of a status before a step is called stuck; the clock moves a second of emulated time between


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module", params=["plain", "variants"])
def emulator(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[Any]:
    """The emulator in both realism modes, on the module's manual clock (time_scale 0.01: a second of that clock
    is longer than any emulated phase)."""
    with start_in_thread(time_scale=0.01, realism=request.param, clock=clock) as running:
        yield running


@pytest.fixture()
def client(emulator: Any, admin: Any) -> Iterator[Any]:
    from dtsflow.client.credentials import Credentials
    from dtsflow.client.http import HttpDtsClient

    with HttpDtsClient(emulator.url, Credentials(emulator.access_key, emulator.secret_key), trust_env=False) as c:
        yield c


def find(client: Any, name: str) -> LiveTask | None:
    return next((t for t in client.list_tasks() if t.task_name == name), None)


def walk(client: Any, change: Change, task_spec: TaskSpec, clock: ManualClock) -> str | None:
    """Perform the steps of one change; return the final status (None when deleted)."""
    dts_id = change.dts_id
    for step in change.steps:
        if step.kind is not K.CREATE:
            status = client.get_task(dts_id).status
            assert not step.expect or status in step.expect, f"{step.kind} from {status}"
        if step.kind is K.CREATE:
            dts_id = client.create_task(create_body(task_spec), client_token=f"t-{time.monotonic_ns()}")
        elif step.kind is K.CONFIG:
            client.config_task(dts_id, config_body(task_spec, resolve=lambda ref: "pw"))
        elif step.kind is K.DELETE:
            client.delete(dts_id)
            assert find(client, change.task) is None
            return None
        elif step.kind is K.SHUTDOWN and status in NEVER_STARTED_STATUSES:
            try:
                client.shutdown(dts_id)
            except ApiError as refused:  # the variants refuse it before a start: delete directly, as apply does
                assert refused.code == "InvalidInstanceStatus" and change.steps[-1].kind is K.DELETE
                client.delete(dts_id)
                assert find(client, change.task) is None
                return None
        elif step.kind is K.RESIZE:
            client.resize(dts_id, str(step.standard))
        else:
            getattr(client, step.kind.value.replace("-", "_"))(dts_id)
        if step.wait_for:
            for _ in range(LOOKS):
                if (status := client.get_task(dts_id).status) in step.wait_for:
                    break
                assert status not in step.fail_on, f"{step.kind} failed: {status}"
                clock.advance(1.0)
            else:
                raise AssertionError(f"{step.kind}: still {status} after {LOOKS} s of emulated time")
    final = str(client.get_task(dts_id).status)
    return "running" if final in RUNNING_STATUSES else final  # any of the running family is running


def plan_one(client: Any, task_spec: TaskSpec) -> Change:
    from dtsflow.plan.refresh import fetch_live

    change = make_plan(manifests(task_spec), fetch_live(client)).changes[0]
    assert change.error is None, change.error
    return change


@pytest.mark.parametrize(
    ("status", "state", "final"),
    [
        pytest.param(None, "running", "running", id="absent->running"),
        pytest.param(None, "paused", "stopped", id="absent->paused"),
        pytest.param(None, "prechecked", "checkPass", id="absent->prechecked"),
        pytest.param("ready", "running", "running", id="ready->running"),
        pytest.param("running", "paused", "stopped", id="running->paused"),
        pytest.param("stopped", "running", "running", id="stopped->running"),
        pytest.param("running", "shutdown", "finished", id="running->shutdown"),
        pytest.param("running", "absent", None, id="running->absent"),
        pytest.param("ready", "absent", None, id="ready->absent"),
        pytest.param("checkPass", "absent", None, id="checkPass->absent"),
        pytest.param("runFailed", "running", "running", id="runFailed->running"),
    ],
)
def test_transition_on_emulator(
    client: Any, admin: Any, clock: ManualClock, status: str | None, state: str, final: str | None
) -> None:
    task_spec = spec("orders-a", state=state)
    if status is not None:
        seed(admin, (spec("orders-a"), status))
    change = plan_one(client, task_spec)
    assert walk(client, change, task_spec, clock) == final
    again = plan_one(client, task_spec)
    assert again.action.value == "no-op", again


@pytest.mark.parametrize("status", ["running", "stopped"])
def test_reconfigure_on_emulator(client: Any, admin: Any, clock: ManualClock, status: str) -> None:
    seed(admin, (spec("orders-a"), status))
    wanted = spec("orders-a", state="running", objects=[{"type": "table", "src": "orders.refunds"}])
    change = plan_one(client, wanted)
    assert change.action.value == "reconfigure"
    assert walk(client, change, wanted, clock) == "running"
    assert plan_one(client, wanted).action.value == "no-op"


def test_resize_on_emulator(client: Any, admin: Any, clock: ManualClock) -> None:
    seed(admin, (spec("orders-a"), "running"))
    wanted = spec("orders-a", standard="xlarge")
    change = plan_one(client, wanted)
    assert [s.kind for s in change.steps] == [K.RESIZE]
    walk(client, change, wanted, clock)
    assert plan_one(client, wanted).action.value == "no-op"


def test_failed_precheck_then_skip_on_emulator(client: Any, admin: Any, clock: ManualClock) -> None:
    host = "binlog-off.db.internal"  # the emulator fails srcMysqlBinlogFormat for such a source
    src = {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": host, "port": 3306, "user": "u"}
    wanted = spec("orders-a", state="prechecked", src=src, precheck={"skip": ["srcMysqlBinlogFormat"]})
    seed(admin, (wanted, "ready"))
    client.precheck(find(client, "orders-a").dts_id)  # type: ignore[union-attr]
    for _ in range(LOOKS):
        if (task := find(client, "orders-a")) is None or task.status == "checkFailed":
            break
        clock.advance(1.0)
    change = plan_one(client, wanted)
    assert [i.name for i in change.precheck if i.failed] == ["srcMysqlBinlogFormat"]
    assert [s.kind for s in change.steps] == [K.SKIP_PRECHECK]
    assert walk(client, change, wanted, clock) == "checkPass"
    assert plan_one(client, wanted).action.value == "no-op"
