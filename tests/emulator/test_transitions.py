"""The status machine: every action from every status (allowed or refused), and the asynchronous paths."""

from __future__ import annotations

import pytest

from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator
from tests.emulator.apiclient import Api
from tests.rawapi import config_body

ALL_STATUSES = [
    "unConfig",
    "ready",
    "checking",
    "checkPass",
    "checkFailed",
    "running",
    "stopping",
    "stopped",
    "stopCheckFailed",
    "runFailed",
    "finished",
    "initRunning",
    "bidirectRunning",
    "singleRunning",
    "retrying",
    "checkFailedAdd",
    "checkPassAdd",
    "configFailed",
    "abandoned",
]
RUNNING = {"running", "initRunning", "bidirectRunning", "singleRunning", "retrying"}
# Written out from the API documentation's allowed-from sets (documented sets) and docs/emulator.md (our choices), not imported
# from the implementation, so that a change of the table there is caught here.
EXPECTED_ALLOWED = {
    "config": {"ready", "checkPass", "checkFailed", "runFailed", "stopped", "configFailed", "unConfig"},
    "precheck": {"ready", "checkPass", "checkFailed"},
    "skipPrecheck": {"checkFailed"},
    "start": {"checkPass", "stopped", "runFailed", "checkFailedAdd", "checkPassAdd"},
    "pause": RUNNING,
    "shutdown": RUNNING
    | {
        "unConfig",
        "ready",
        "checkPass",
        "checkFailed",
        "stopped",
        "runFailed",
        "configFailed",
        "stopCheckFailed",
        "checkFailedAdd",
        "checkPassAdd",
    },
    "delete": {"finished", "abandoned"},
    "resize": RUNNING | {"stopped", "runFailed"},
}
# the status right after an allowed action on the frozen emulator (asynchronous steps never complete there)
AFTER = {"config": "ready", "skipPrecheck": "checkPass", "pause": "stopping", "precheck": "checking"}


def _call(api: Api, dts_id: str, action: str):  # type: ignore[no-untyped-def]
    if action == "config":
        return api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("matrix"))
    if action == "skipPrecheck":
        return api.call("PUT", f"/v1/task/{dts_id}", params=[("skipPrecheck", None)])
    if action == "delete":
        return api.call("DELETE", f"/v1/task/{dts_id}")
    if action == "resize":
        return api.call("PUT", f"/v1/task/{dts_id}", params=[("standard", None)], body={"standard": "medium"})
    return api.action(dts_id, action)


@pytest.mark.parametrize("action", sorted(EXPECTED_ALLOWED))
def test_every_action_from_every_status(frozen: RunningEmulator, slow_api: Api, action: str) -> None:
    ids = frozen.seed(
        [{"taskName": f"m-{s}", "status": s, "dataType": ["schema", "base", "increment"]} for s in ALL_STATUSES]
    )
    for status, dts_id in zip(ALL_STATUSES, ids, strict=True):
        got = _call(slow_api, dts_id, action)
        if status in EXPECTED_ALLOWED[action]:
            assert got.status == 200, (action, status, got.body)
            after = slow_api.get(dts_id)
            if action == "delete":
                assert after.status == 404
            elif action in AFTER:
                assert after.body["status"] == AFTER[action], (action, status)
            elif action == "start":
                assert after.body["status"] == "running"
            elif action in ("shutdown", "resize"):
                assert after.body["status"] == status  # shutdown finishes later; resize changes no status
        else:
            assert (got.status, got.code) == (400, "InvalidInstanceStatus"), (action, status, got.body)
            assert f"status {status}" in got.body["message"]
            assert slow_api.get(dts_id).body["status"] == status  # a refused action changes nothing


def test_full_lifecycle_of_an_incremental_task(api: Api) -> None:
    dts_id = api.new_task("inc")
    assert api.action(dts_id, "precheck").body == {"result": {}, "success": True}
    assert api.status(dts_id) == "checkPass"
    assert api.action(dts_id, "start").status == 200
    assert api.status(dts_id) == "running"  # with increment it keeps running after the base load
    assert api.action(dts_id, "pause").status == 200
    assert api.status(dts_id) == "stopped"
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("inc2")).status == 200
    assert api.status(dts_id) == "ready"  # pause -> config -> precheck -> start, as the planner does it
    api.action(dts_id, "precheck")
    api.action(dts_id, "start")
    assert api.status(dts_id) == "running"
    assert api.action(dts_id, "shutdown").status == 200
    assert api.status(dts_id) == "finished"
    assert api.call("DELETE", f"/v1/task/{dts_id}").body == {"result": {}, "success": True}
    assert api.get(dts_id).code == "InstanceNotExist"


def test_full_only_task_finishes_by_itself(api: Api) -> None:
    dts_id = api.new_task("full", data_type=("schema", "base"))
    api.action(dts_id, "precheck")
    api.action(dts_id, "start")
    detail = api.get(dts_id).body
    assert detail["status"] == "finished"
    assert detail["dynamicInfo"]["base"][0]["current"] == detail["dynamicInfo"]["base"][0]["count"]
    assert detail["subStatus"] == [{"s": "finished", "b": "finished", "i": ""}]


def test_transient_statuses_while_steps_take_time(slow_api: Api) -> None:
    dts_id = slow_api.new_task("slow")
    slow_api.action(dts_id, "precheck")
    assert slow_api.status(dts_id) == "checking"
    assert slow_api.call("GET", f"/v1/task/{dts_id}/precheck").body == {"success": True, "result": []}
    refused = slow_api.action(dts_id, "start")
    assert refused.code == "InvalidInstanceStatus" and "status checking" in refused.body["message"]


def test_shutdown_keeps_the_status_until_finished_and_blocks_other_actions(frozen: RunningEmulator) -> None:
    api = Api(frozen.url, frozen.access_key, frozen.secret_key)
    [dts_id] = frozen.seed([{"taskName": "s", "status": "running", "dataType": ["increment"]}])
    assert api.action(dts_id, "shutdown").status == 200
    assert api.status(dts_id) == "running"
    assert api.action(dts_id, "shutdown").status == 200  # repeating it is harmless
    paused = api.action(dts_id, "pause")
    assert paused.code == "InvalidInstanceStatus" and "shutdown in progress" in paused.body["message"]
    api.close()


def test_time_derived_progress(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dtsflow.emulator import start_in_thread

    # time_scale 0.02: precheck 60 ms, schema 40 ms + base 160 ms, pause 40 ms (of the manual clock's time)
    clock = ManualClock()
    with start_in_thread(time_scale=0.02, state_path=str(tmp_path / "s.db"), clock=clock) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        dts_id = api.new_task("p", data_type=("schema", "base", "increment"))
        api.action(dts_id, "precheck")
        clock.advance(0.059)
        assert api.status(dts_id) == "checking"
        clock.advance(0.002)
        assert api.status(dts_id) == "checkPass"
        api.action(dts_id, "start")
        seen: list[int] = []
        for _ in range(30):
            base = api.get(dts_id).body["dynamicInfo"]["base"][0]
            seen.append(int(base["current"]))
            if base["current"] == base["count"]:
                break
            clock.advance(0.01)
        assert seen == sorted(seen) and seen[-1] > seen[0] and len(set(seen)) > 5, seen  # advances to the end
        assert seen[-1] == int(base["count"])
        assert api.get(dts_id).body["dynamicInfo"]["increment"]["syncStatus"] == "running"
        assert api.get(dts_id).body["runningTime"] >= 10  # emulated seconds: (40+160 ms) / 0.02
        api.close()


def test_precheck_failure_triggers(api: Api) -> None:
    cases = {
        ("binlog-off.db", "10.0.0.2"): {"srcMysqlBinlogFormat"},
        ("10.0.0.1", "unreachable.example"): {"dstMysqlConnect"},
        ("unreachable-src", "10.0.0.2"): {"srcMysqlConnect"},
        ("no-privilege.db", "10.0.0.2"): {"srcMysqlPrivilege"},
        ("10.0.0.1", "not-empty.db"): {"dstMysqlObjectConflict"},
        ("row-image-minimal", "x"): {"srcMysqlBinlogRowImage"},
        ("server-id-0", "x"): {"srcMysqlServerId"},
    }
    for (src, dst), expected in cases.items():
        dts_id = api.new_task("trig", src_host=src, dst_host=dst)
        api.action(dts_id, "precheck")
        assert api.status(dts_id) == "checkFailed", (src, dst)
        items = api.call("GET", f"/v1/task/{dts_id}/precheck").body
        assert items["success"] is True
        failed = {i["name"] for i in items["result"] if i["status"] == "failed"}
        assert failed == expected, (src, dst)
        for item in items["result"]:
            assert set(item) == {"name", "status", "message", "subscription"}
            assert item["subscription"]
            assert bool(item["message"]) == (item["status"] == "failed")


def test_binlog_checks_only_for_an_incremental_mysql_source(api: Api) -> None:
    dts_id = api.new_task("full", src_host="binlog-off", data_type=("schema", "base"))
    api.action(dts_id, "precheck")
    assert api.status(dts_id) == "checkPass"
    names = {i["name"] for i in api.call("GET", f"/v1/task/{dts_id}/precheck").body["result"]}
    assert "srcMysqlBinlogFormat" not in names and "srcMysqlConnect" in names


def test_skip_precheck_accepts_go_and_python_query_forms(api: Api) -> None:
    for form in (None, ""):
        dts_id = api.new_task("skip", src_host="binlog-off")
        api.action(dts_id, "precheck")
        assert api.status(dts_id) == "checkFailed"
        skipped = api.call("PUT", f"/v1/task/{dts_id}", params=[("skipPrecheck", form)])
        assert skipped.status == 200 and skipped.body == {"success": True, "result": ""}
        assert api.status(dts_id) == "checkPass"
        again = api.call("PUT", f"/v1/task/{dts_id}", params=[("skipPrecheck", form)])
        assert again.code == "InvalidInstanceStatus" and "status checkPass" in again.body["message"]


def test_run_failure_and_config_failure_triggers(api: Api) -> None:
    dts_id = api.new_task("rf", dst_host="run-fail.example")
    api.action(dts_id, "precheck")
    api.action(dts_id, "start")
    detail = api.get(dts_id).body
    assert detail["status"] == "runFailed"
    assert "run-fail" in detail["errmsg"]
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("rf")).status == 200
    assert api.get(dts_id).body["errmsg"] == ""
    cf = api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("rf", src_host="config-fail"))
    assert cf.status == 200
    assert api.get(dts_id).body["status"] == "configFailed"
    assert "config-fail" in api.get(dts_id).body["errmsg"]


def test_config_validation(api: Api) -> None:
    dts_id = api.create().body["dtsTasks"][0]["dtsId"]
    no_name = api.call("POST", f"/v1/task/{dts_id}/config", body=config_body(""))
    assert (no_name.status, no_name.code) == (400, "InvalidParameter")
    bad_type = api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("x", data_type=("full",)))
    assert (bad_type.status, bad_type.code) == (400, "InvalidParameter")
    bad_port = config_body("x")
    bad_port["srcConnection"]["dbPort"] = "abc"
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=bad_port).code == "InvalidParameter"
    bad_mapping = config_body("x", schemaMapping=[{"type": "sequence", "src": "a", "dst": "a"}])
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=bad_mapping).code == "InvalidParameter"
    not_object = config_body("x", schemaMapping=["a.b"])
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=not_object).code == "InappropriateJSON"
    bad_granularity = config_body("x", granularity="row")
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=bad_granularity).code == "InvalidParameter"
    string_port = config_body("x")
    string_port["srcConnection"]["dbPort"] = "3307"
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=string_port).status == 200
    assert api.get(dts_id).body["srcConnection"]["dbPort"] == 3307
    assert api.status(dts_id) == "ready"


def test_phase_durations_can_be_set_one_by_one() -> None:
    from dtsflow.emulator import start_in_thread

    durations = {"precheck": 10_000.0, "schema_load": 0.0, "base_load": 0.0}
    with start_in_thread(time_scale=1.0, durations=durations) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        slow = api.new_task("slow-check")
        api.action(slow, "precheck")
        assert api.status(slow) == "checking"  # precheck takes hours
        [ready] = emu.seed([{"taskName": "fast-load", "status": "checkPass", "dataType": ["schema", "base"]}])
        api.action(ready, "start")
        assert api.status(ready) == "finished"  # the load takes no time
        api.close()
    with pytest.raises(ValueError, match="unknown durations"):
        start_in_thread(durations={"prechek": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        start_in_thread(durations={"pause": -1.0})


def test_check_names_follow_the_documented_pattern_side_database_check(api: Api) -> None:
    """`srcOracleConnect` in the API documentation: side, then the end's database type, then the check."""
    kafka = {"instanceType": "public", "dbType": "kafka", "region": "bj", "dbHost": "unreachable-k", "dbPort": 9092}
    dts_id = api.new_task("names", dstConnection=kafka)
    api.action(dts_id, "precheck")
    items = api.call("GET", f"/v1/task/{dts_id}/precheck").body["result"]
    assert [i["name"] for i in items] == [
        "srcMysqlConnect", "dstKafkaConnect", "srcMysqlVersion", "dstKafkaVersion", "srcMysqlPrivilege",
        "dstKafkaPrivilege", "srcMysqlBinlogFormat", "srcMysqlBinlogRowImage", "srcMysqlServerId",
        "srcMysqlObjectExist", "dstKafkaObjectConflict",
    ]  # fmt: skip
    assert {i["name"] for i in items if i["status"] == "failed"} == {"dstKafkaConnect"}
