"""`--realism variants`: the emulator answers with each variant the API documentation leaves open, and
dtsflow's client reads every one of them. `plain` keeps the tidy shapes (checked alongside)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api


@pytest.fixture
def variants() -> Iterator[RunningEmulator]:
    # Durations are emulated seconds x time_scale: a full load of ~10 s x 0.05 keeps initRunning visible.
    with start_in_thread(time_scale=0.05, realism="variants") as emu:
        yield emu


@pytest.fixture
def vapi(variants: RunningEmulator) -> Iterator[Api]:
    client = Api(variants.url, variants.access_key, variants.secret_key)
    yield client
    client.close()


def test_null_for_unset_fields_and_createtime_with_a_space(vapi: Api) -> None:
    created = vapi.create()
    body = vapi.get(created.body["dtsTasks"][0]["dtsId"]).body
    assert body["taskName"] is None and body["dataType"] is None and body["schemaMapping"] is None
    assert body["errmsg"] is None and body["granularity"] is None
    date, _, clock = str(body["createTime"]).partition(" ")
    assert len(date) == 10 and len(clock) == 8 and "T" not in body["createTime"]


def test_extra_schema_keys_public_region_echo_and_a_field_that_changes_on_every_read(vapi: Api) -> None:
    dts_id = vapi.new_task("orders")
    first, second = vapi.get(dts_id).body, vapi.get(dts_id).body
    assert all(entry["updateFilterRule"] == "both" for entry in first["schemaMapping"])
    assert first["srcConnection"]["region"] == "public"  # a self-built end: the region is echoed as public
    assert first["readSerial"] != second["readSerial"]


def test_list_pages_say_truncated(vapi: Api) -> None:
    for name in ("a", "b"):
        vapi.new_task(name)
    page = vapi.call("POST", "/v1/task/list", body={"type": "migration", "maxKeys": 1}).body
    assert page["truncated"] is True and "isTruncated" not in page


def test_init_running_after_start_then_running(vapi: Api) -> None:
    dts_id = vapi.new_task("load")
    assert vapi.action(dts_id, "precheck").status == 200
    vapi.wait_status(dts_id, {"checkPass"})
    assert vapi.action(dts_id, "start").status == 200
    assert vapi.status(dts_id) == "initRunning"
    assert vapi.wait_status(dts_id, {"running"}, timeout=10) == "running"


def test_shutdown_refused_before_a_start_and_a_direct_delete_allowed(vapi: Api, api: Api) -> None:
    dts_id = vapi.new_task("never")
    shutdown = vapi.action(dts_id, "shutdown")
    assert (shutdown.status, shutdown.code) == (400, "InvalidInstanceStatus")
    assert "never started" in shutdown.body["message"]
    assert vapi.call("DELETE", f"/v1/task/{dts_id}").status == 200
    plain = api.new_task("never")  # plain: delete only once finished, and shutdown allowed
    early = api.call("DELETE", f"/v1/task/{plain}")
    assert (early.status, early.code) == (400, "InvalidInstanceStatus")
    assert api.action(plain, "shutdown").status == 200


def test_the_client_reads_every_variant(variants: RunningEmulator, vapi: Api) -> None:
    vapi.create()  # an unconfigured task: nulls all over
    for name in ("x1", "x2", "x3"):
        vapi.new_task(name)
    credentials = Credentials(variants.access_key, variants.secret_key)
    with HttpDtsClient(variants.url, credentials, trust_env=False) as client:
        tasks = client.list_tasks(page_size=2)  # `truncated` must be followed to the last page
        assert len(tasks) == 4 and sorted(t.task_name for t in tasks) == ["", "x1", "x2", "x3"]
        one: Any = client.get_task(next(t.dts_id for t in tasks if t.task_name == "x1"))
        assert one.created is not None and not one.created.zoned


def test_realism_flag_of_the_cli(tmp_path: Any) -> None:
    from tests.helpers import run_cli

    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "version: 1\ntasks:\n  - name: t\n    standard: large\n    dataType: [base]\n    granularity: instance\n"
        "    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}\n"
        "    dst: {instanceType: public, dbType: mysql, region: bj, host: g, port: 3306}\n"
    )
    alone = run_cli("plan", str(manifest), "--realism", "variants", cwd=tmp_path)
    assert alone.returncode == 1 and "--realism applies to the embedded emulator only" in alone.stderr
    embedded = run_cli("plan", str(manifest), "--emulator", "--realism", "variants", cwd=tmp_path)
    assert embedded.returncode == 0, embedded.stderr
    assert "Plan: 1 to create" in embedded.stdout
    bad = run_cli("emulator", "--realism", "everything", cwd=tmp_path)
    assert bad.returncode == 1 and "invalid choice" in bad.stderr
