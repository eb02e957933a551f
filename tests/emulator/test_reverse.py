"""The replication delay and the one-click reverse family in the emulator, over HTTP, on the emulator's own clock.

The emulator runs on a `ManualClock`, so "after 10 emulated seconds" is a statement, not a sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api
from tests.rawapi import config_body, create_body

Clock = ManualClock


@pytest.fixture
def timed() -> Iterator[tuple[RunningEmulator, Clock, Api]]:
    clock = ManualClock()
    with start_in_thread(time_scale=1.0, clock=clock) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        yield emu, clock, api
        api.close()


def _delay(api: Api, dts_id: str) -> int:
    got = api.get(dts_id)
    assert got.status == 200, got.body
    return int(got.body["dynamicInfo"]["increment"]["delay"])


def _running_task(api: Api, clock: Clock, **config: Any) -> str:
    dts_id = api.new_task("lagging", **config)
    assert api.action(dts_id, "precheck").status == 200
    clock.advance(3)
    assert api.status(dts_id) == "checkPass"
    assert api.action(dts_id, "start").status == 200
    return dts_id


def test_the_delay_falls_after_the_load_and_a_fault_raises_it(timed: tuple[RunningEmulator, Clock, Api]) -> None:
    emu, clock, api = timed
    dts_id = _running_task(api, clock)
    clock.advance(10)  # schema 2 s + base 8 s: the incremental phase begins now
    first = _delay(api, dts_id)
    clock.advance(10)
    middle = _delay(api, dts_id)
    clock.advance(15)
    settled = _delay(api, dts_id)
    assert first >= 55 and 25 <= middle <= 35 and settled <= 3, (first, middle, settled)

    emu.set_faults({"lag_s": {"lagging": 300}})
    assert _delay(api, dts_id) >= 300
    emu.set_faults({"lag_s": {"someone-else": 300}})
    assert _delay(api, dts_id) <= 3
    emu.set_faults(None)


def _pair(api: Api, name: str = "pair", *, neg_src_host: str = "10.0.0.2") -> str:
    created = api.create(create_body(rollback="1"))
    assert created.status == 200, created.body
    dts_id = str(created.body["dtsTasks"][0]["dtsId"])
    forward = config_body(name)
    forward.pop("taskName")
    back = config_body(name, src_host=neg_src_host, dst_host="10.0.0.1", data_type=("increment",))
    back.pop("taskName")
    back["dstConnection"]["sqlType"] = "I,U"
    body = {"taskName": name, "openRollbackConfig": "true", "dtsTaskPos": forward, "dtsTaskNeg": back}
    configured = api.call("POST", f"/v1/task/{dts_id}/newRollback/config", body=body)
    assert configured.status == 200, configured.body
    return dts_id


def test_a_pair_is_created_configured_prechecked_started_and_switched(
    timed: tuple[RunningEmulator, Clock, Api],
) -> None:
    emu, clock, api = timed
    dts_id = _pair(api)
    assert dts_id.startswith("dtsr")
    detail = api.get(dts_id).body
    assert detail["status"] == "ready" and detail["taskName"] == "pair"
    assert detail["dtsTaskNeg"]["dstConnection"]["sqlType"] == "I,U"
    assert detail["dtsIdPos"] != detail["dtsIdNeg"] and detail["dtsIdPos"].startswith("dtsm")
    # A pair listed like any task, by its name.
    listed = api.call("POST", "/v1/task/list", body={"type": "migration", "maxKeys": 100}).body["task"]
    assert [t["dtsId"] for t in listed if t["taskName"] == "pair"] == [dts_id]

    assert api.action(dts_id, "precheck").status == 200
    empty = api.call("GET", f"/v1/task/{dts_id}/rollback/precheck").body
    assert empty["result"] == {"posCheckResults": [], "negCheckResults": []}  # not ready yet
    clock.advance(3)
    checks = api.call("GET", f"/v1/task/{dts_id}/rollback/precheck").body["result"]
    assert checks["posCheckResults"] and checks["negCheckResults"]
    assert api.status(dts_id) == "checkPass"

    assert api.action(dts_id, "start").status == 200
    clock.advance(10)
    detail = api.get(dts_id).body
    assert (detail["dtsTaskPos"]["status"], detail["dtsTaskNeg"]["status"]) == ("running", "stopped")
    check = api.action(dts_id, "newRollbackCheck").body
    entry = check["result"]["data"][0]
    assert entry["dtsId"] == detail["dtsIdPos"] and isinstance(entry["delay"], str) and int(entry["delay"]) >= 55

    switched = api.call(
        "POST",
        f"/v1/task/{dts_id}/rollback",
        body={"updateParams": {"position": {"type": "timestamp", "position": "2026-11-29T10:00:00Z"}}},
    )
    assert switched.status == 200, switched.body
    detail = api.get(dts_id).body
    assert detail["status"] == "running"
    assert (detail["dtsTaskPos"]["status"], detail["dtsTaskNeg"]["status"]) == ("stopped", "running")
    entry = api.action(dts_id, "newRollbackCheck").body["result"]["data"][0]
    assert entry["dtsId"] == detail["dtsIdNeg"] and int(entry["delay"]) >= 55  # the way back catches up anew
    clock.advance(25)
    assert int(api.action(dts_id, "newRollbackCheck").body["result"]["data"][0]["delay"]) <= 3

    back = api.call("POST", f"/v1/task/{dts_id}/rollback", body={"updateParams": {}})
    assert back.status == 200, back.body
    detail = api.get(dts_id).body
    assert (detail["dtsTaskPos"]["status"], detail["dtsTaskNeg"]["status"]) == ("running", "stopped")


def test_the_reverse_direction_is_prechecked_with_its_own_connections(
    timed: tuple[RunningEmulator, Clock, Api],
) -> None:
    _emu, clock, api = timed
    dts_id = _pair(api, neg_src_host="binlog-off.db")
    api.action(dts_id, "precheck")
    clock.advance(3)
    assert api.status(dts_id) == "checkFailed"
    checks = api.call("GET", f"/v1/task/{dts_id}/rollback/precheck").body["result"]
    assert all(item["status"] == "pass" for item in checks["posCheckResults"])
    assert [i["name"] for i in checks["negCheckResults"] if i["status"] == "failed"] == ["srcMysqlBinlogFormat"]
    skipped = api.call("PUT", f"/v1/task/{dts_id}", params=[("skipPrecheck", None)])
    assert skipped.status == 200 and api.status(dts_id) == "checkPass"


def test_the_reverse_family_refuses_what_it_cannot_do(timed: tuple[RunningEmulator, Clock, Api]) -> None:
    _emu, clock, api = timed
    plain = api.new_task("plain")
    for method, path in (
        ("GET", f"/v1/task/{plain}/rollback/precheck"),
        ("POST", f"/v1/task/{plain}/newRollbackCheck"),
        ("POST", f"/v1/task/{plain}/rollback"),
    ):
        answer = api.call(method, path, body={} if method == "POST" else None)
        assert (answer.status, answer.code) == (400, "InvalidParameter"), (path, answer.body)
    dts_id = _pair(api)
    not_running = api.call("POST", f"/v1/task/{dts_id}/rollback", body={"updateParams": {}})
    assert (not_running.status, not_running.code) == (400, "InvalidInstanceStatus")
    plain_config = api.call("POST", f"/v1/task/{dts_id}/config", body=config_body("pair"))
    assert plain_config.status == 400 and "newRollback/config" in plain_config.body["message"]
    assert api.create(create_body(rollback="2")).status == 400
    api.action(dts_id, "precheck")
    clock.advance(3)
    api.action(dts_id, "start")
    bad = api.call("POST", f"/v1/task/{dts_id}/rollback", body={"updateParams": {"position": {"type": "scn"}}})
    assert (bad.status, bad.code) == (400, "InvalidParameter")
