"""Each DTS operation over HTTP: request and response shapes, routing, and the documented quirks."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from dtsflow.emulator import RunningEmulator
from tests.emulator.apiclient import Api
from tests.rawapi import config_body, create_body, signed_headers

DETAIL_KEYS = {
    "dtsId",
    "taskName",
    "status",
    "dataType",
    "region",
    "createTime",
    "srcConnection",
    "dstConnection",
    "schemaMapping",
    "runningTime",
    "subStatus",
    "dynamicInfo",
    "errmsg",
    "granularity",
    "subDataScope",
    "payInfo",
    "lockStatus",
    "initPosition",
}


def test_create_answers_the_documented_shape_with_a_request_id(api: Api) -> None:
    created = api.create()
    assert created.status == 200
    assert set(created.body) == {"dtsTasks"}
    dts_id = created.body["dtsTasks"][0]["dtsId"]
    assert dts_id.startswith("dtsm") and len(dts_id) == 20
    uuid.UUID(created.headers["x-bce-request-id"])
    got = api.get(dts_id)
    assert got.status == 200
    assert got.body["status"] == "unConfig"
    assert got.body["payInfo"] == {
        "productType": "postpay",
        "sourceInstanceType": "public",
        "targetInstanceType": "public",
        "crossRegionTag": 0,
        "createTime": got.body["payInfo"]["createTime"],
        "standard": "large",
        "endTime": "",
    }
    assert got.body["srcConnection"]["dbType"] == "mysql"


def test_create_tolerates_go_zero_values_and_validates_required_fields(api: Api) -> None:
    go_style = create_body(directionType="", orderInfo={"src": {}, "dst": {}}, crossRegionTag=0)
    assert api.create(go_style).status == 200
    missing = api.create(create_body(standard=""))
    assert (missing.status, missing.code) == (400, "InvalidParameter")
    assert "standard" in missing.body["message"]
    wrong = api.create(create_body(productType="prepay"))
    assert (wrong.status, wrong.code) == (400, "InvalidParameter")
    typed = api.create(create_body(crossRegionTag="x"))
    assert (typed.status, typed.code) == (400, "InappropriateJSON")


@pytest.mark.parametrize("key", ["sourceInstanceType", "targetInstanceType"])
def test_create_refuses_a_detailed_instance_type_at_the_top_level(api: Api, key: str) -> None:
    refused = api.create(create_body(**{key: "bcescs"}))
    assert (refused.status, refused.code) == (400, "InvalidParameter")
    assert key in refused.body["message"] and "orderInfo" in refused.body["message"]
    assert api.create(create_body(**{key: "bcerds"})).status == 200


def test_detail_has_every_documented_field_and_config_is_kept(api: Api) -> None:
    dts_id = api.new_task("orders", granularity="dbtb", queueType="kafka-q")
    body = api.get(dts_id).body
    assert DETAIL_KEYS <= set(body)
    assert body["status"] == "ready"
    assert body["taskName"] == "orders"
    assert body["srcConnection"]["dbHost"] == "10.0.0.1"
    assert body["srcConnection"]["dbPort"] == 3306
    assert body["schemaMapping"] == [{"type": "table", "src": "shop.orders", "dst": "shop.orders", "where": ""}]
    assert body["initPosition"] == {"type": "binlog", "position": ""}
    assert body["queueType"] == "kafka-q"  # unmodelled config fields are echoed back
    assert body["dynamicInfo"]["base"][0]["current"] == "0"


def test_a_password_is_never_returned_nor_stored(instant: RunningEmulator, api: Api) -> None:
    canary = "canary-Pa55w0rd-7f3e"
    created = api.create(create_body(orderInfo={"src": {"dbPass": canary}, "dst": {}}))
    dts_id = created.body["dtsTasks"][0]["dtsId"]
    config = config_body("secretive", password=canary)
    config["srcConnection"]["field_whitelist"] = "shop.orders[id];"
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=config).status == 200
    api.call("POST", f"/v1/task/{dts_id}/precheck")
    responses = [
        api.get(dts_id).raw,
        api.call("POST", "/v1/task/list", body={"type": "migration"}).raw,
        api.call("POST", "/v1/task/listWithPage", body={"types": ["migration"]}).raw,
        api.call("GET", f"/v1/task/{dts_id}/precheck").raw,
        api.admin("GET", "/_emulator/tasks").raw,
    ]
    assert all(canary.encode() not in raw for raw in responses)
    assert b"dbPass" not in responses[0]
    assert api.get(dts_id).body["srcConnection"]["field_whitelist"] == "shop.orders[id];"
    with sqlite3.connect(instant.state_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
        dumped = "\n".join(conn.iterdump())
    assert canary not in dumped
    with open(instant.state_path, "rb") as fh:
        assert canary.encode() not in fh.read()


def test_rename_and_resize(api: Api) -> None:
    dts_id = api.new_task("before", data_type=("increment",))
    renamed = api.call("PUT", f"/v1/task/{dts_id}", params=[("name", None)], body={"taskName": "after"})
    assert renamed.status == 200 and renamed.raw == b""
    assert api.get(dts_id).body["taskName"] == "after"
    empty = api.call("PUT", f"/v1/task/{dts_id}", params=[("name", "")], body={"taskName": ""})
    assert (empty.status, empty.code) == (400, "InvalidParameter")

    refused = api.call("PUT", f"/v1/task/{dts_id}", params=[("standard", None)], body={"standard": "xlarge"})
    assert (refused.status, refused.code) == (400, "InvalidInstanceStatus")
    api.action(dts_id, "precheck")
    api.action(dts_id, "start")
    assert api.status(dts_id) == "running"
    params: list[tuple[str, str | None]] = [("standard", None), ("clientToken", "resize-1")]
    first = api.call("PUT", f"/v1/task/{dts_id}", params=params, body={"standard": "xlarge"})
    assert first.status == 200 and first.body["orderId"].isdigit() and len(first.body["orderId"]) == 14
    again = api.call("PUT", f"/v1/task/{dts_id}", params=params, body={"standard": "xlarge"})
    assert again.body == first.body
    assert api.get(dts_id).body["payInfo"]["standard"] == "xlarge"
    bad = api.call("PUT", f"/v1/task/{dts_id}", params=[("standard", "")], body={"standard": "huge"})
    assert (bad.status, bad.code) == (400, "InvalidParameter")


def test_schema_and_vpc_literal_routes_win_over_task_ids(api: Api) -> None:
    schema = api.call("POST", "/v1/task/schema", body={"connection": {"dbType": "mysql"}})
    assert schema.status == 200 and schema.body == {"success": True, "result": {"schemaAll": {}}}
    vpc = api.call("GET", "/v1/task/vpc", params=[("region", "bj")])
    assert vpc.status == 200 and vpc.body == {"vpcs": []}
    as_id = api.call("GET", "/v1/task/list")  # GET of a literal is a wrong method, not a task lookup
    assert (as_id.status, as_id.code) == (405, "MethodNotAllowed")


def test_error_bodies(api: Api) -> None:
    missing = api.get("dtsmnosuchtask")
    assert missing.status == 404
    assert set(missing.body) == {"requestId", "code", "message"}
    assert missing.code == "InstanceNotExist"
    assert missing.body["requestId"] == missing.headers["x-bce-request-id"]
    for action in ("config", "precheck", "start", "pause", "shutdown"):
        got = api.call("POST", f"/v1/task/dtsmnosuchtask/{action}", body=config_body())
        assert (got.status, got.code) == (404, "InstanceNotExist"), action
    assert api.call("DELETE", "/v1/task/dtsmnosuchtask").code == "InstanceNotExist"

    malformed = api.call("POST", "/v1/task", raw_body=b'{"productType": ')
    assert (malformed.status, malformed.code) == (400, "MalformedJSON")
    not_object = api.call("POST", "/v1/task/list", raw_body=b"[1, 2]")
    assert (not_object.status, not_object.code) == (400, "InappropriateJSON")
    unknown = api.call("GET", "/v2/other")
    assert (unknown.status, unknown.code) == (400, "InvalidURI")
    put_without_key = api.call("PUT", "/v1/task/dtsmx", params=[("other", "")])
    assert (put_without_key.status, put_without_key.code) == (400, "InvalidURI")
    wrong_method = api.call("PATCH", "/v1/task/dtsmx/start")
    assert (wrong_method.status, wrong_method.code) == (405, "MethodNotAllowed")
    options = api.call("OPTIONS", "/v1/task")
    assert (options.status, options.code) == (405, "MethodNotAllowed")
    head = api.call("HEAD", "/v1/task/dtsmx")
    assert head.status == 405 and head.raw == b""  # no body on HEAD; the connection stays usable
    assert api.get("dtsmx").code == "InstanceNotExist"


def test_get_with_a_content_type_and_a_body_less_post_are_accepted(api: Api) -> None:
    dts_id = api.new_task()
    got = api.call("GET", f"/v1/task/{dts_id}", headers={"Content-Type": "application/json;charset=utf-8"})
    assert got.status == 200
    listed = api.call("POST", "/v1/task/list", raw_body=b"")
    assert listed.status == 200 and listed.body["task"][0]["dtsId"] == dts_id


def test_chunked_request_bodies_are_read(instant: RunningEmulator) -> None:
    import http.client
    import json

    payload = json.dumps({"type": "migration"}).encode()
    headers = {"Host": f"127.0.0.1:{instant.port}", "Transfer-Encoding": "chunked"}
    headers = signed_headers(instant.access_key, instant.secret_key, "POST", "/v1/task/list", headers)
    conn = http.client.HTTPConnection("127.0.0.1", instant.port, timeout=10)
    conn.request("POST", "/v1/task/list", body=iter([payload]), headers=headers, encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    assert json.loads(resp.read())["task"] == []
    conn.close()


def test_a_body_that_does_not_match_its_signed_content_md5_is_refused(api: Api) -> None:
    import base64
    import hashlib

    other = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    got = api.call("POST", "/v1/task/list", body={}, headers={"Content-MD5": other})
    assert (got.status, got.code) == (400, "BadDigest")
    assert api.call("POST", "/v1/task/list", body={"maxKeys": 5}).status == 200  # its own MD5 is fine


def test_accepted_sockets_have_no_nagle_delay(instant: RunningEmulator) -> None:
    """The emulator runs in this process: find the server side of a kept-alive connection and read its option."""
    import gc
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(instant.url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as conn:
        conn.sendall(b"GET /_emulator/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")  # answered, connection kept open
        ours = conn.getsockname()
        accepted = []
        for obj in gc.get_objects():
            if isinstance(obj, socket.socket) and obj.fileno() != -1 and obj is not conn:
                try:
                    if obj.getpeername() == ours:
                        accepted.append(obj)
                except OSError:
                    continue
        assert len(accepted) == 1
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_an_oversized_chunked_body_is_refused_and_the_connection_closed(instant: RunningEmulator) -> None:
    """The rest of the body stays unread: reading it as the next request would be request smuggling."""
    import http.client
    import socket

    from dtsflow.emulator.config import MAX_BODY_BYTES

    headers = {"Host": f"127.0.0.1:{instant.port}", "Transfer-Encoding": "chunked"}
    headers = signed_headers(instant.access_key, instant.secret_key, "POST", "/v1/task/list", headers)
    head = "POST /v1/task/list HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", instant.port), timeout=10) as sock:
        sock.sendall(head.encode() + f"{MAX_BODY_BYTES + 1:x}\r\n".encode() + b"x" * 1000)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 413 and response.getheader("Connection") == "close"
        response.read()
        assert sock.recv(1) == b""  # closed by the server, not kept alive for the body's remains
