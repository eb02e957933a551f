"""Properties (hypothesis) of the planner and the executor, against the emulator's status machine.

  * plan -> apply on the emulator -> plan again is empty, for random valid manifests and random live states;
  * the planner never emits a step the emulator's status machine refuses (`dtsflow.emulator.machine`), walking
    every step of every plan from the live status through the status each step settles in;
  * the config diff of a spec against the live task it just configured is empty.

Quick mode (the default, CI): a fixed, small number of examples, derandomized, so that CI runs the same cases
every time. Soak (`DTSFLOW_SOAK=1`): ten times as many examples, random.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtsflow.apply.executor import Executor
from dtsflow.apply.journal import Journal
from dtsflow.apply.poller import PollPolicy
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.live import LiveTask
from dtsflow.client.wire import config_body, create_body, managed_tags
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.emulator.machine import ALLOWED_FROM, KNOWN_STATUSES
from dtsflow.manifest.model import DesiredState, TaskSpec
from dtsflow.plan.diff import diff_task
from dtsflow.plan.model import Plan, StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.refresh import Live, fetch_live

SOAK = os.environ.get("DTSFLOW_SOAK", "") not in ("", "0")
QUICK = settings(
    max_examples=300 if SOAK else 30,
    deadline=None,
    derandomize=not SOAK,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PASSWORD = "${secret:PROP_PASS}"

# ---- strategies -----------------------------------------------------------------------------------------------

_word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_host = st.one_of(st.ip_addresses(v=4).map(str), st.builds(lambda a, b: f"{a}.{b}.internal", _word, _word))
_data_types = st.sampled_from(
    [["schema", "base", "increment"], ["base", "increment"], ["increment"], ["schema", "base"], ["base"]]
)


def _endpoint(db_type: str, *, src: bool) -> st.SearchStrategy[dict[str, Any]]:
    base = {"instanceType": st.just("public"), "dbType": st.just(db_type), "region": st.just("bj")}
    user = {"user": _word} if src or db_type == "mysql" else {}
    password = {"password": st.just(PASSWORD)} if src or db_type == "mysql" else {}
    return st.fixed_dictionaries({**base, "host": _host, "port": st.integers(1, 65535), **user, **password})


@st.composite
def task_specs(draw: st.DrawFn, name: str) -> TaskSpec:
    """A valid manifest task, drawn as a user could write it."""
    dst_type = draw(st.sampled_from(["mysql", "kafka"]))
    objects = draw(st.lists(st.builds(lambda d, t: f"{d}.{t}", _word, _word), min_size=1, max_size=3, unique=True))
    body: dict[str, Any] = {
        "name": name,
        "state": draw(st.sampled_from(list(DesiredState))).value,
        "standard": draw(st.sampled_from(["small", "medium", "large", "xlarge"])),
        "src": draw(_endpoint("mysql", src=True)),
        "dst": draw(_endpoint(dst_type, src=False)),
        "dataType": draw(_data_types),
        "objects": [{"type": "table", "src": o} for o in objects],
    }
    body.update(draw(_options(objects, incremental="increment" in body["dataType"])))
    return TaskSpec.model_validate(body)


def _options(tables: list[str], *, incremental: bool) -> st.SearchStrategy[dict[str, Any]]:
    """The modelled config options, each maybe: column filters of the task's tables, DML/DDL filters (with
    increment), queueType and netType."""
    columns = st.lists(_word, min_size=1, max_size=3, unique=True)
    filters = st.dictionaries(st.sampled_from(tables), columns, min_size=1, max_size=len(tables))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "columns": st.one_of(st.fixed_dictionaries({"include": filters}), st.fixed_dictionaries({"exclude": filters})),
        "queueType": _word,
        "netType": _word,
    }
    if incremental:
        optional["dml"] = st.lists(st.sampled_from(["insert", "update", "delete"]), min_size=1, max_size=3, unique=True)
        optional["ignoreDdl"] = st.lists(st.sampled_from(["drop", "truncate"]), min_size=1, max_size=2, unique=True)
    return st.fixed_dictionaries({}, optional=optional)


SEEDABLE = ("ready", "checkPass", "checkFailed", "running", "stopped", "runFailed", "finished")
DRIFT = ("none", "none", "host", "port", "objects", "dbType", "standard")


@dataclass
class LiveState:
    status: str | None  # None: the task does not exist
    drift: str = "none"  # how the live config differs from the manifest's


@dataclass
class Case:
    specs: dict[str, TaskSpec]
    live: dict[str, LiveState]
    allow_replace: bool


@st.composite
def cases(draw: st.DrawFn) -> Case:
    names = [f"prop-{i}" for i in range(draw(st.integers(1, 3)))]
    specs = {n: draw(task_specs(n)) for n in names}
    live = {
        n: LiveState(draw(st.one_of(st.none(), st.sampled_from(SEEDABLE))), draw(st.sampled_from(DRIFT))) for n in names
    }
    return Case(specs, live, draw(st.booleans()))


# ---- helpers ---------------------------------------------------------------------------------------------------


@dataclass
class Manifests:
    tasks: dict[str, TaskSpec]
    prune_prefixes: list[str] = field(default_factory=list)
    digest: str = "properties"
    paths: list[str] = field(default_factory=list)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)


def _drifted(spec: TaskSpec, drift: str) -> dict[str, Any]:
    """The config body of the live task: the spec's, changed as `drift` says."""
    body = config_body(spec)
    if drift == "host":
        body["srcConnection"]["dbHost"] = "drifted.internal"
    elif drift == "port":
        body["srcConnection"]["dbPort"] = (int(body["srcConnection"]["dbPort"]) % 65535) + 1
    elif drift == "objects":
        body["schemaMapping"] = [{"type": "table", "src": "drifted.table", "dst": "drifted.table", "where": ""}]
    elif drift == "dbType":
        body["dstConnection"]["dbType"] = "mysql" if body["dstConnection"]["dbType"] == "kafka" else "kafka"
    return body


def _seed(emu: RunningEmulator, case: Case) -> None:
    seeds = []
    for name, state in case.live.items():
        if state.status is None:
            continue
        spec = case.specs[name]
        standard = "medium" if state.drift == "standard" and spec.standard != "medium" else spec.standard
        seeds.append(
            {**_drifted(spec, state.drift), "standard": standard, "status": state.status, "tags": managed_tags()}
        )
    emu.seed(seeds)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    # Full loads far longer than a test: a task without `increment` must not finish (a race with a pause that
    # depends on the machine's load, not on dtsflow) while prechecks stay quick (15 ms).
    with start_in_thread(time_scale=0.005, durations={"schema_load": 100_000, "base_load": 100_000}) as emu:
        yield emu


def _client(emu: RunningEmulator) -> HttpDtsClient:
    return HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key), trust_env=False, backoff_base=0.01)


def _plan(client: HttpDtsClient, case: Case) -> Plan:
    return make_plan(Manifests(case.specs), fetch_live(client), allow_replace=case.allow_replace)


# ---- the properties --------------------------------------------------------------------------------------------


@QUICK
@given(case=cases())
def test_plan_apply_plan_again_is_empty(emulator: RunningEmulator, case: Case) -> None:
    emulator.engine.store.reset()
    _seed(emulator, case)
    with _client(emulator) as client, tempfile.TemporaryDirectory() as tmp:
        plan = _plan(client, case)
        if plan.errors:  # a way the planner refuses (e.g. a finished task cannot run again): nothing to apply
            assert all(change.error for change in plan.errors)
            return
        executor = Executor(
            client,
            journal=Journal(Path(tmp) / "journal"),
            resolve_secret=lambda ref: "prop-password",
            poll_policy=PollPolicy(floor=0.005, cap=0.02),
        )
        report = executor.apply(plan)
        assert report.failed == 0 and report.not_attempted == 0, report.to_dict()
        again = _plan(client, case)
        assert not again.has_changes, [(c.task, c.action, c.reason, c.diff) for c in again.changes if c.steps]


# Step kind -> the emulator's operation, and the status the task settles in once the step is done.
OPERATION = {
    StepKind.CONFIG: "config",
    StepKind.PRECHECK: "precheck",
    StepKind.SKIP_PRECHECK: "skipPrecheck",
    StepKind.START: "start",
    StepKind.PAUSE: "pause",
    StepKind.SHUTDOWN: "shutdown",
    StepKind.DELETE: "delete",
    StepKind.RESIZE: "resize",
}
SETTLES = {
    StepKind.CREATE: "unConfig",
    StepKind.CONFIG: "ready",
    StepKind.PRECHECK: "checkPass",
    StepKind.SKIP_PRECHECK: "checkPass",
    StepKind.START: "running",
    StepKind.PAUSE: "stopped",
    StepKind.SHUTDOWN: "finished",
    StepKind.DELETE: "deleted",
}
REACHED = {"ready": {"ready"}, "prechecked": {"checkPass"}, "running": {"running", "finished"}}
REACHED |= {"paused": {"stopped"}, "shutdown": {"finished"}, "absent": {"deleted", None}}


def _live_task(name: str, spec: TaskSpec, state: LiveState) -> LiveTask:
    body = _drifted(spec, state.drift)
    pay = {k: v for k, v in create_body(spec).items() if k not in ("orderInfo", "type", "directionType")}
    return LiveTask.model_validate(
        {
            **body,
            "dtsId": f"dts-{name}",
            "status": state.status,
            "payInfo": pay,
            "taskName": name,
            "tags": managed_tags(),
        }
    )


@QUICK
@given(
    case=cases(),
    statuses=st.lists(st.sampled_from(sorted(KNOWN_STATUSES)), min_size=3, max_size=3),
)
def test_the_planner_never_emits_a_step_the_emulator_refuses(case: Case, statuses: list[str]) -> None:
    """Pure: every live status the emulator knows (transient ones included), any desired state, any drift."""
    tasks = []
    for (name, spec), status in zip(case.specs.items(), statuses, strict=False):
        state = case.live[name]
        if state.status is not None:
            tasks.append(_live_task(name, spec, LiveState(status, state.drift)))
    plan = make_plan(Manifests(case.specs), Live.from_tasks(tasks), allow_replace=case.allow_replace)
    for change in plan.changes:
        if change.error:
            continue
        status = change.live_status
        for step in change.steps:
            if step.kind is StepKind.CREATE:
                status = "unConfig"
                continue
            spec = step  # the plan's own copy of the step's rules
            if status in spec.beyond:
                continue  # the executor counts the step done without calling
            if status in spec.underway:
                status = SETTLES.get(step.kind, status)  # it waits for the transition already running
                continue
            operation = OPERATION.get(step.kind)
            if operation is not None and operation in ALLOWED_FROM:
                assert status in ALLOWED_FROM[operation], (change.task, change.live_status, step.kind, status)
            status = SETTLES.get(step.kind, status)
        if change.steps and change.desired is not None:  # and the walk ends where the task was meant to go
            assert status in REACHED[change.desired.value], (change.task, change.live_status, status)


@QUICK
@given(spec=task_specs("prop-config"))
def test_the_config_diff_of_a_just_configured_task_is_empty(emulator: RunningEmulator, spec: TaskSpec) -> None:
    emulator.engine.store.reset()
    with _client(emulator) as client:
        dts_id = client.create_task(create_body(spec), client_token=f"prop-{hash(spec.model_dump_json())}")
        client.config_task(dts_id, config_body(spec, lambda ref: "prop-password"))
        live = client.get_task(dts_id)
    diff = diff_task(spec, live)
    assert diff.empty, (diff.replace, diff.reconfigure, diff.resize)
