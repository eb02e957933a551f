"""make_plan on plain values: no emulator, no mocks."""

from __future__ import annotations

import pytest

from dtsflow.client.live import Live, PrecheckItem
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.client.wire import config_body
from dtsflow.errors import PlanError
from dtsflow.plan.diff import diff_task, fingerprint
from dtsflow.plan.model import Action, Change, Plan, StepKind
from dtsflow.plan.planner import dependency_order, make_plan
from tests.plan.factories import live, manifests, spec

K = StepKind


def kinds(change: Change) -> list[str]:
    return [s.kind.value for s in change.steps]


def one(plan: Plan, name: str) -> Change:
    return next(c for c in plan.changes if c.task == name)


def test_new_task_is_created_configured_prechecked_and_started() -> None:
    s = spec(precheck={"timeout": "90s", "skip": ["srcMysqlBinlogFormat"]})
    plan = make_plan(manifests(s), Live())
    change = one(plan, "orders")
    assert change.action is Action.CREATE
    assert kinds(change) == ["create", "config", "precheck", "start"]
    precheck = change.steps[2]
    assert precheck.skip_allowed == ["srcMysqlBinlogFormat"] and precheck.timeout_seconds == 90
    assert precheck.wait_for == ["checkPass"]
    assert change.steps[3].wait_for == sorted(RUNNING_STATUSES) and change.steps[3].fail_on == ["runFailed"]
    assert change.fingerprint == fingerprint(None)
    assert plan.has_changes and not plan.errors


def test_full_only_task_start_also_waits_for_finished() -> None:
    s = spec(dataType=["schema", "base"])
    change = one(make_plan(manifests(s), Live()), "orders")
    assert change.steps[-1].wait_for == sorted({*RUNNING_STATUSES, "finished"})


def test_finished_full_only_task_counts_as_running_but_incremental_is_an_error() -> None:
    full = spec("full", dataType=["base"])
    incr = spec("incr")
    plan = make_plan(manifests(full, incr), Live.from_tasks([live(full, "finished"), live(incr, "finished")]))
    assert one(plan, "full").action is Action.NOOP
    assert one(plan, "incr").error and "cannot run again" in (one(plan, "incr").error or "")
    assert one(plan, "incr").steps == []


def test_unchanged_running_task_is_a_no_op_despite_api_casing_and_string_port() -> None:
    s = spec()
    task = live(s, "running")
    assert diff_task(s, task).empty
    plan = make_plan(manifests(s), Live.from_tasks([task]))
    assert not plan.has_changes and one(plan, "orders").action is Action.NOOP


def test_defaults_the_api_fills_in_are_not_drift() -> None:
    s = spec(dst={"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka.internal"})
    task = live(
        s,
        "running",
        dstConnection={
            "instanceType": "PUBLIC",
            "dbType": "Kafka",
            "region": "bj",
            "dbHost": "kafka.internal",
            "dbPort": 9092,
            "dbUser": "",
        },
    )
    assert diff_task(s, task).empty


def test_pause_resume_and_shutdown_are_transitions() -> None:
    paused = spec("a", state="paused")
    resumed = spec("b", state="running")
    shut = spec("c", state="shutdown")
    lv = Live.from_tasks([live(paused, "running"), live(resumed, "stopped"), live(shut, "running")])
    plan = make_plan(manifests(paused, resumed, shut), lv)
    assert [(c.task, c.action, kinds(c)) for c in plan.changes] == [
        ("a", Action.TRANSITION, ["pause"]),
        ("b", Action.TRANSITION, ["start"]),
        ("c", Action.TRANSITION, ["shutdown"]),
    ]
    assert one(plan, "a").disruptive and one(plan, "c").destructive and not one(plan, "b").disruptive


def test_absent_deletes_after_shutdown_and_absent_missing_is_a_no_op() -> None:
    gone = spec("gone", state="absent")
    never = spec("never", state="absent")
    plan = make_plan(manifests(gone, never), Live.from_tasks([live(gone, "running")]))
    assert one(plan, "gone").action is Action.DELETE and kinds(one(plan, "gone")) == ["shutdown", "delete"]
    assert one(plan, "never").action is Action.NOOP


def test_reconfigure_a_running_task_is_disruptive() -> None:
    s = spec()
    before = spec(src={**s.src.model_dump(by_alias=True, exclude_none=True), "host": "10.0.0.99"})
    plan = make_plan(manifests(s), Live.from_tasks([live(before, "running")]))
    change = one(plan, "orders")
    assert change.action is Action.RECONFIGURE
    assert kinds(change) == ["pause", "config", "precheck", "start"]
    assert change.disruptive and change.steps[1].disruptive
    assert [(d.path, d.before, d.after) for d in change.diff] == [
        ("srcConnection.dbHost", '"10.0.0.99"', '"10.0.0.12"')
    ]


def test_reconfigure_a_ready_task_is_not_disruptive() -> None:
    s = spec(state="ready")
    before = spec(state="ready", objects=[{"type": "table", "src": "orders.other"}])
    change = one(make_plan(manifests(s), Live.from_tasks([live(before, "ready")])), "orders")
    assert kinds(change) == ["config"] and not change.disruptive
    assert change.diff[0].path == "schemaMapping"


def test_forced_reconfigure_resends_config_without_a_diff() -> None:
    s = spec()
    plan = make_plan(manifests(s), Live.from_tasks([live(s, "stopped")]), reconfigure=["orders"])
    change = one(plan, "orders")
    assert change.action is Action.RECONFIGURE and change.diff == []
    assert kinds(change) == ["config", "precheck", "start"]
    with pytest.raises(PlanError, match="nosuch"):
        make_plan(manifests(s), Live(), reconfigure=["nosuch"])


def test_replacement_is_refused_without_allow_replace() -> None:
    s = spec()
    before = spec(dst={"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "kafka.internal"})
    lv = Live.from_tasks([live(before, "running")])
    refused = one(make_plan(manifests(s), lv), "orders")
    assert refused.action is Action.REPLACE and refused.error and "--allow-replace" in refused.error
    assert refused.steps == [] and refused.destructive
    allowed = one(make_plan(manifests(s), lv, allow_replace=True), "orders")
    assert allowed.error is None
    assert kinds(allowed) == ["shutdown", "delete", "create", "config", "precheck", "start"]
    assert [d.path for d in allowed.diff] == ["dstConnection.dbType"]


def test_resize_uses_the_resize_call() -> None:
    s = spec(standard="xlarge")
    change = one(make_plan(manifests(s), Live.from_tasks([live(spec(), "running")])), "orders")
    assert change.action is Action.RESIZE and kinds(change) == ["resize"]
    assert change.steps[0].standard == "xlarge"
    not_started = one(make_plan(manifests(spec(standard="xlarge")), Live.from_tasks([live(spec(), "ready")])), "orders")
    assert kinds(not_started) == ["precheck", "start", "resize"]


def test_prune_only_with_the_flag() -> None:
    keep = spec("orders-a")
    stray = live(spec("orders-old"), "running", name="orders-old")
    other = live(spec("users-x"), "running", name="users-x")
    lv = Live.from_tasks([live(keep, "running"), stray, other])
    without = make_plan(manifests(keep, prune=["orders-"]), lv)
    assert without.would_prune == ["orders-old"] and [c.task for c in without.changes] == ["orders-a"]
    pruned = make_plan(manifests(keep, prune=["orders-"]), lv, prune=True)
    change = one(pruned, "orders-old")
    assert change.action is Action.DELETE and kinds(change) == ["shutdown", "delete"] and change.desired is None
    assert "users-x" not in [c.task for c in pruned.changes]


def test_failed_precheck_items_are_carried_and_skip_is_planned_when_all_are_allowed() -> None:
    s = spec(precheck={"skip": ["srcMysqlBinlogFormat"]})
    task = live(s, "checkFailed")
    items = [
        PrecheckItem(name="srcMysqlBinlogFormat", status="failed", message="binlog_format is STATEMENT"),
        PrecheckItem(name="srcMysqlConnect", status="pass"),
    ]
    change = one(make_plan(manifests(s), Live.from_tasks([task], {task.dts_id: items})), "orders")
    assert kinds(change) == ["skip-precheck", "start"] and change.precheck == items
    strict = spec()
    change = one(make_plan(manifests(strict), Live.from_tasks([task], {task.dts_id: items})), "orders")
    assert kinds(change) == ["precheck", "start"]


def test_dependency_chain_orders_changes() -> None:
    c = spec("c", dependsOn=["b"])
    b = spec("b", dependsOn=["a"])
    a = spec("a")
    z = spec("0-first")
    plan = make_plan(manifests(c, z, b, a), Live())
    assert [ch.task for ch in plan.changes] == ["0-first", "a", "b", "c"]
    assert one(plan, "c").depends_on == ["b"]
    assert dependency_order({"x": spec("x", dependsOn=["y"]), "y": spec("y", dependsOn=["x"])}) == ["x", "y"]


def test_duplicate_live_names_name_both_ids() -> None:
    s = spec()
    lv = Live.from_tasks([live(s, "running", dts_id="dtsm1"), live(s, "ready", dts_id="dtsm2")])
    with pytest.raises(PlanError, match="dtsm1.*dtsm2"):
        make_plan(manifests(s), lv)


def test_a_duplicate_name_nothing_manages_is_only_a_warning() -> None:
    other = spec("billing")
    lv = Live.from_tasks([live(other, "running", dts_id="dtsm1"), live(other, "ready", dts_id="dtsm2")])
    plan = make_plan(manifests(spec()), lv)
    assert len(plan.warnings) == 1 and "dtsm1 and dtsm2" in plan.warnings[0]


def test_unnamed_unconfig_tasks_are_orphans() -> None:
    orphan = live(None, "unConfig", dts_id="dtsmorphan", createTime="2026-01-01T00:00:00Z")
    plan = make_plan(manifests(spec()), Live.from_tasks([orphan]))
    assert [(o.dts_id, o.status) for o in plan.orphans] == [("dtsmorphan", "unConfig")]


def test_a_precheck_underway_is_waited_for_then_the_task_goes_on() -> None:
    """A re-run after a crash mid-precheck continues: the precheck step waits for the one in progress."""
    s = spec()
    change = one(make_plan(manifests(s), Live.from_tasks([live(s, "checking")])), "orders")
    assert change.error is None
    assert [st.kind for st in change.steps] == [StepKind.PRECHECK, StepKind.START]


def test_a_pause_underway_is_waited_for_then_the_task_goes_on() -> None:
    s = spec()
    change = one(make_plan(manifests(s), Live.from_tasks([live(s, "stopping")])), "orders")
    assert change.error is None
    assert [st.kind for st in change.steps] == [StepKind.PAUSE, StepKind.START]


def test_shutting_down_mid_precheck_and_reconfiguring_mid_transition_say_run_again() -> None:
    gone = spec(state="absent")
    change = one(make_plan(manifests(gone), Live.from_tasks([live(gone, "checking")])), "orders")
    assert change.error and "run dtsflow plan again" in change.error
    s = spec()
    moved = live(s, "stopping", srcConnection={"dbHost": "elsewhere.internal"})
    change = one(make_plan(manifests(s), Live.from_tasks([moved])), "orders")
    assert change.error and "while it is stopping" in change.error and "run dtsflow plan again" in change.error


def test_fingerprint_tracks_status_and_config_but_not_progress() -> None:
    s = spec()
    a = live(s, "running")
    b = live(s, "running", dynamicInfo={"base": [{"current": "9"}]}, runningTime=99)
    assert fingerprint(a, s) == fingerprint(b, s)
    assert fingerprint(a, s) != fingerprint(live(s, "stopped"), s)
    assert fingerprint(a, s) != fingerprint(live(spec(standard="small"), "running"), s)


def test_fingerprint_ignores_fields_the_plan_does_not_read() -> None:
    s = spec()
    a = live(s, "running", someCounter=1, srcConnection={"dbHost": "10.0.0.12", "dbPort": 3306, "vpcId": "v1"})
    b = live(s, "running", someCounter=2, srcConnection={"dbHost": "10.0.0.12", "dbPort": 3306, "vpcId": "v2"})
    assert fingerprint(a, s) == fingerprint(b, s)
    c = live(s, "running", someCounter=1, srcConnection={"dbHost": "10.0.0.13", "dbPort": 3306})
    assert fingerprint(a, s) != fingerprint(c, s)  # a compared value
    assert fingerprint(a) != fingerprint(live(s, "running", name="other"))  # a pruned task: its name and status


def test_schema_mapping_entries_compare_only_the_keys_we_send() -> None:
    s = spec()
    sent = config_body(s)["schemaMapping"]
    task = live(s, "running", schemaMapping=[{**e, "updateFilterRule": "both", "extra": None} for e in sent])
    assert diff_task(s, task).empty
    moved = live(s, "running", schemaMapping=[{**e, "where": "id > 1", "updateFilterRule": "both"} for e in sent])
    assert [d.path for d in diff_task(s, moved).reconfigure] == ["schemaMapping"]


def test_a_public_region_echoed_differently_is_not_a_replacement() -> None:
    s = spec()
    conn = {**config_body(s)["srcConnection"], "region": "public"}
    task = live(s, "running", srcConnection=conn)
    assert diff_task(s, task).empty
    rds = spec(src={"instanceType": "bcerds", "dbType": "mysql", "region": "bj", "instanceId": "rdsm1"})
    moved = live(rds, "running", srcConnection={**config_body(rds)["srcConnection"], "region": "gz"})
    assert [d.path for d in diff_task(rds, moved).replace] == ["srcConnection.region"]


def test_api_config_overrides_are_compared_where_the_live_task_returns_them() -> None:
    s = spec(api={"config": {"srcConnection": {"dbServer": "s1"}, "admin": "x"}})
    same = live(s, "running")
    assert diff_task(s, same).empty
    drift = live(s, "running", srcConnection={**same.src_connection.model_dump(by_alias=True), "dbServer": "s2"})
    assert [d.path for d in diff_task(s, drift).reconfigure] == ["srcConnection.dbServer"]
    missing = live(spec(), "running")  # returns no admin, no dbServer: nothing to compare
    assert diff_task(s, missing).empty


FILTERED = {
    "columns": {"include": {"orders.items": ["id", "total"]}, "exclude": {"orders.notes": ["body"]}},
    "objects": [{"type": "db", "src": "orders"}],
    "dml": ["insert", "update"],
    "ignoreDdl": ["drop"],
    "queueType": "q1",
    "netType": "vpc",
}


def test_config_options_are_diffed_against_the_live_task() -> None:
    s = spec(**FILTERED)
    same = live(s, "running")
    assert diff_task(s, same).empty
    shuffled = live(  # the same filters written another way: other order, spaces, all DML codes
        s,
        "running",
        srcConnection={**config_body(s)["srcConnection"], "field_whitelist": "orders.items[total, id]"},
        dstConnection={**config_body(s)["dstConnection"], "sqlType": "u,i"},
        incrIgnoreType="DROP",
    )
    assert diff_task(s, shuffled).empty
    other = spec(**{**FILTERED, "dml": ["insert"], "ignoreDdl": ["drop", "truncate"], "queueType": "q2"})
    changed = diff_task(other, same).reconfigure
    assert {d.path: (d.before, d.after) for d in changed} == {
        "dstConnection.sqlType": ('"I,U"', '"I"'),
        "incrIgnoreType": ('"drop"', '"drop,truncate"'),
        "queueType": ('"q1"', '"q2"'),
    }


def test_a_filter_is_compared_with_none_when_one_side_has_none() -> None:
    s = spec(**FILTERED)
    unfiltered = live(spec(objects=FILTERED["objects"]), "running")  # configured before the manifest had filters
    assert (
        {d.path for d in diff_task(s, unfiltered).reconfigure}
        == {
            "srcConnection.field_whitelist",
            "srcConnection.field_blacklist",
            "dstConnection.sqlType",
            "incrIgnoreType",
        }
    )  # fmt: skip  -- queueType and netType follow the general rule: a field the service does not return is not compared
    bare = spec(objects=FILTERED["objects"])  # the filters were removed from the manifest: the live ones must go
    assert {d.path for d in diff_task(bare, live(s, "running")).reconfigure} == {
        "srcConnection.field_whitelist", "srcConnection.field_blacklist", "dstConnection.sqlType", "incrIgnoreType",
    }  # fmt: skip
    all_dml = live(bare, "running", dstConnection={**config_body(bare)["dstConnection"], "sqlType": "I,U,D"})
    assert diff_task(bare, all_dml).empty  # every DML kind is no filter at all
    filtered = live(s, "running", name="orders")
    planned = make_plan(manifests(bare), Live.from_tasks([filtered])).changes[0]
    assert planned.fingerprint == fingerprint(filtered, bare)  # what a saved plan is checked against at apply


def test_password_is_never_compared_or_shown() -> None:
    s = spec()
    task = live(s, "running", srcConnection={"dbPass": "hunter2-canary", "dbHost": "10.0.0.99"})
    plan = make_plan(manifests(s), Live.from_tasks([task]))
    assert "hunter2-canary" not in plan.model_dump_json()
    assert all("dbPass" not in d.path for c in plan.changes for d in c.diff)


def test_cross_region_tag_change_is_a_replacement() -> None:
    s = spec(
        src={"instanceType": "bcerds", "dbType": "mysql", "region": "bj", "instanceId": "rdsm1"},
        dst={"instanceType": "bcerds", "dbType": "mysql", "region": "bj", "instanceId": "rdsm2"},
    )
    task = live(s, "running", payInfo={"crossRegionTag": 1, "standard": "Large"})
    assert [d.path for d in diff_task(s, task).replace] == ["crossRegionTag"]


def test_config_differences_of_a_finished_or_shutting_down_task_are_shown_not_applied() -> None:
    s = spec(state="shutdown", objects=[{"type": "table", "src": "orders.other"}])
    running = one(make_plan(manifests(s), Live.from_tasks([live(spec(), "running")])), "orders")
    assert running.action is Action.TRANSITION and kinds(running) == ["shutdown"] and running.diff
    done = one(make_plan(manifests(s), Live.from_tasks([live(spec(), "finished")])), "orders")
    assert done.action is Action.NOOP and done.error is None and done.diff
    full = spec(dataType=["base"], objects=[{"type": "table", "src": "orders.other"}])
    finished_full = one(
        make_plan(manifests(full), Live.from_tasks([live(spec(dataType=["base"]), "finished")])), "orders"
    )
    assert finished_full.action is Action.NOOP and finished_full.error is None
    forced = one(
        make_plan(manifests(full), Live.from_tasks([live(full, "finished")]), reconfigure=["orders"]), "orders"
    )
    assert forced.error and "finished" in forced.error


@pytest.mark.parametrize("status", sorted(RUNNING_STATUSES))
def test_every_running_variant_is_running_and_ends_a_start_wait(status: str) -> None:
    s = spec()
    plan = make_plan(manifests(s), Live.from_tasks([live(s, status)]))
    assert one(plan, "orders").action is Action.NOOP
    started = one(make_plan(manifests(s), Live.from_tasks([live(s, "checkPass")])), "orders")
    assert [st.kind for st in started.steps] == [K.START] and status in started.steps[0].wait_for
    retrying = [w for w in plan.warnings if "retrying" in w]
    assert bool(retrying) == (status == "retrying")


def test_targets_take_their_dependencies_and_a_destroy_takes_the_dependents() -> None:
    a, b, c = spec("a"), spec("b", dependsOn=["a"]), spec("c", dependsOn=["b"])
    plan = make_plan(manifests(a, b, c, spec("z")), Live(), targets=["b"])
    assert [ch.task for ch in plan.changes] == ["a", "b"] and plan.targets == ["b"]
    assert plan.warnings[0].startswith("--target is in effect: this plan is partial")
    with pytest.raises(PlanError, match="--target names tasks that no manifest defines: nope"):
        make_plan(manifests(a), Live(), targets=["nope"])
    tasks = {s.name: live(s, "running") for s in (a, b, c)}
    destroy = make_plan(manifests(a, b, c), Live(tasks=tasks), destroy=True, targets=["b"], force=True)
    assert [ch.task for ch in destroy.changes] == ["c", "b"]
    assert all(ch.desired == "absent" and kinds(ch)[-1] == "delete" for ch in destroy.changes)


def test_destroy_leaves_a_task_dtsflow_did_not_create_unless_adopted() -> None:
    a, b = spec("a", state="ready"), spec("b", state="ready")
    tasks = {"a": live(a, "checkPass"), "b": live(b, "checkPass", tags=[])}
    plan = make_plan(manifests(a, b), Live(tasks=tasks), destroy=True)
    assert [ch.task for ch in plan.changes] == ["a"] and not plan.errors
    assert any(w.startswith("destroy leaves b (dtsmb) alone") for w in plan.warnings)
    adopted = make_plan(manifests(a, b), Live(tasks=tasks), destroy=True, adopt=["b"])
    assert [ch.task for ch in adopted.changes] == ["a", "b"]


def test_a_task_live_under_a_previous_name_is_renamed_first() -> None:
    old = spec("orders-old", state="ready")
    s = spec("orders", state="ready", previousNames=["orders-old"])
    live_old = live(old, "checkPass", dts_id="dtsm1")
    plan = make_plan(manifests(s, prune=["orders"]), Live(tasks={"orders-old": live_old}))
    change = one(plan, "orders")
    assert change.action is Action.RENAME and kinds(change) == ["rename"] and change.renamed_from == "orders-old"
    assert change.dts_id == "dtsm1" and plan.would_prune == []
    paused = spec("orders", state="running", previousNames=["orders-old"])
    started = make_plan(manifests(paused), Live(tasks={"orders-old": live_old}))
    assert kinds(one(started, "orders"))[:2] == ["rename", "start"]
    assert one(started, "orders").reason.startswith("renamed from orders-old; ")
    gone = make_plan(
        manifests(spec("orders", state="absent", previousNames=["orders-old"])), Live(tasks={"orders-old": live_old})
    )
    assert "rename" not in kinds(one(gone, "orders")) and one(gone, "orders").action is Action.DELETE


def test_a_task_live_under_its_name_and_a_previous_name_is_an_error_naming_both() -> None:
    s = spec("orders", state="ready", previousNames=["orders-old"])
    tasks = {
        "orders": live(s, "checkPass", dts_id="dtsmA"),
        "orders-old": live(s, "checkPass", dts_id="dtsmB", name="orders-old"),
    }
    change = one(make_plan(manifests(s), Live(tasks=tasks)), "orders")
    assert change.error is not None and "orders (dtsmA) and orders-old (dtsmB)" in change.error and not change.steps
