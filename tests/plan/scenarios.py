"""The plan scenarios of the golden-file tests, as plain values."""

from __future__ import annotations

from collections.abc import Callable

from dtsflow.client.live import Live, PrecheckItem
from dtsflow.plan.model import Plan
from dtsflow.plan.planner import make_plan
from tests.plan.factories import live, manifests, spec


def nothing_to_do() -> Plan:
    a, b = spec("orders-to-kafka"), spec("users-to-kafka", state="paused")
    return make_plan(manifests(a, b), Live.from_tasks([live(a, "running"), live(b, "stopped")]))


def new_tasks() -> Plan:
    a = spec("orders-to-kafka", precheck={"timeout": "15m", "skip": ["srcMysqlBinlogFormat"]})
    b = spec("users-ready", state="ready")
    c = spec("full-copy", state="prechecked", dataType=["schema", "base"])
    return make_plan(manifests(a, b, c), Live())


def pause() -> Plan:
    a = spec("orders-to-kafka", state="paused")
    return make_plan(manifests(a), Live.from_tasks([live(a, "running")]))


def resume() -> Plan:
    a = spec("orders-to-kafka", state="running")
    return make_plan(manifests(a), Live.from_tasks([live(a, "stopped")]))


def shutdown() -> Plan:
    a = spec("orders-to-kafka", state="shutdown")
    return make_plan(manifests(a), Live.from_tasks([live(a, "running")]))


def delete_under_prune() -> Plan:
    keep = spec("orders-a")
    old = live(spec("orders-old"), "stopped", name="orders-old")
    done = live(spec("orders-done"), "finished", name="orders-done")
    lv = Live.from_tasks([live(keep, "running"), old, done])
    return make_plan(manifests(keep, prune=["orders-"]), lv, prune=True)


def reconfigure_running() -> Plan:
    a = spec(
        "orders-to-kafka",
        objects=[{"type": "table", "src": "orders.items"}, {"type": "table", "src": "orders.refunds"}],
    )
    before = spec("orders-to-kafka", src={**a.src.model_dump(by_alias=True, exclude_none=True), "host": "10.0.0.11"})
    return make_plan(manifests(a), Live.from_tasks([live(before, "running")]))


def replace() -> Plan:
    a = spec("orders-to-kafka")
    before = spec(
        "orders-to-kafka", dst={"instanceType": "bcerds", "dbType": "mysql", "region": "gz", "instanceId": "rdsm1"}
    )
    return make_plan(manifests(a), Live.from_tasks([live(before, "running")]), allow_replace=True)


def failed_precheck() -> Plan:
    a = spec("orders-to-kafka", precheck={"skip": ["srcMysqlBinlogFormat"]})
    task = live(a, "checkFailed")
    items = [
        PrecheckItem(
            name="srcMysqlConnect", status="pass", message="", subscription="Check the source can be reached."
        ),
        PrecheckItem(
            name="srcMysqlBinlogFormat",
            status="failed",
            message="binlog_format is STATEMENT, ROW is required",
            subscription="Check the binlog format of the source.",
        ),
        PrecheckItem(
            name="dstEmpty",
            status="failed",
            message="table orders.items exists | is not empty",
            subscription="Check the destination <objects> are empty.",
        ),
    ]
    return make_plan(manifests(a), Live.from_tasks([task], {task.dts_id: items}))


def dependency_chain() -> Plan:
    a = spec("1-users")
    b = spec("2-orders", dependsOn=["1-users"])
    c = spec("0-refunds", dependsOn=["2-orders"])
    return make_plan(manifests(c, b, a), Live.from_tasks([live(a, "running")]))


SCENARIOS: dict[str, Callable[[], Plan]] = {
    "nothing_to_do": nothing_to_do,
    "new_tasks": new_tasks,
    "pause": pause,
    "resume": resume,
    "shutdown": shutdown,
    "delete_under_prune": delete_under_prune,
    "reconfigure_running": reconfigure_running,
    "replace": replace,
    "failed_precheck": failed_precheck,
    "dependency_chain": dependency_chain,
}
