"""Which live task a manifest task is, as `status` and the plan's refresh see it, through the real CLI: a task
not yet renamed (`previousNames`) and a name held by a task of another type (bidirect, group, rollback)."""

from __future__ import annotations

import json

import httpx

from dtsflow.client.wire import config_body, managed_tags
from tests.apply.conftest import Env, task
from tests.plan.factories import spec


def test_status_shows_a_task_not_yet_renamed_under_its_previous_name(env: Env) -> None:
    assert env.apply(env.write([task("orders-old", state="ready")]), "--auto-approve").returncode == 0
    dts_id = env.by_name()["orders-old"]["dtsId"]
    manifest = env.write([task("orders", state="ready", previousNames=["orders-old"])])
    result = env.cli("status", manifest, "--format", "json", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    [row] = json.loads(result.stdout)["tasks"]
    assert (row["task"], row["dts_id"], row["status"], row["renamed_from"]) == ("orders", dts_id, "ready", "orders-old")
    assert row["in_sync"] is False and "renamed from orders-old" in row["out_of_sync"]
    text = env.cli("status", manifest)
    line = next(line for line in text.stdout.splitlines() if line.startswith("orders "))
    assert "ready" in line and dts_id in line and "(absent)" not in line
    assert "    to be renamed from orders-old" in text.stdout

    assert env.apply(manifest, "--auto-approve").returncode == 0  # renamed: in sync under its new name
    [row] = json.loads(env.cli("status", manifest, "--format", "json").stdout)["tasks"]
    assert row["in_sync"] is True and row["renamed_from"] is None and row["dts_id"] == dts_id


def test_plan_reads_the_failed_precheck_of_a_task_still_under_its_previous_name(env: Env) -> None:
    old = task("bad-old", state="prechecked", src_host="db-binlog-off.internal")
    assert env.apply(env.write([old]), "--auto-approve").returncode == 1  # the precheck fails, on purpose
    assert env.by_name()["bad-old"]["status"] == "checkFailed"
    renamed = task("bad", state="prechecked", src_host="db-binlog-off.internal", previousNames=["bad-old"])
    manifest = env.write([renamed])
    env.reset_stats()
    planned = env.cli("plan", manifest, "--format", "json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    [change] = json.loads(planned.stdout)["changes"]
    assert change["renamed_from"] == "bad-old"
    assert any(i["name"] == "srcMysqlBinlogFormat" for i in change["precheck"]), change["precheck"]
    assert env.stats()["requests"].get("getPrecheck") == 1


def test_status_reports_a_name_held_by_a_task_of_another_type_as_plan_does(env: Env) -> None:
    body = {**config_body(spec("orders-sync")), "type": "bidirect", "status": "running", "tags": managed_tags()}
    httpx.post(env.url + "/_emulator/tasks", json={"tasks": [body]}, timeout=10).raise_for_status()
    manifest = env.write([task("orders-sync", state="absent")])
    planned = env.cli("plan", manifest)
    assert planned.returncode == 1 and "a live bidirect task" in planned.stdout + planned.stderr
    result = env.cli("status", manifest, "--format", "json", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    [row] = json.loads(result.stdout)["tasks"]
    assert row["in_sync"] is False
    assert "a live bidirect task" in row["out_of_sync"] and "manages migration tasks only" in row["out_of_sync"]
