"""clientToken derivation, request/response models and the error mapping (pure functions, no network)."""

from __future__ import annotations

import json

import pytest

from dtsflow.apply.tokens import resize_token_for, token_for_body
from dtsflow.client.errors import code_for_status, error_from_exception, error_from_response
from dtsflow.client.models import (
    ConfigTaskRequest,
    CreateTaskRequest,
    GetPrecheckResponse,
    ListTasksRequest,
    ListTasksResponse,
    check_request,
)
from dtsflow.client.wire import config_body, create_body
from dtsflow.errors import ConfigError
from dtsflow.manifest.model import TaskSpec
from tests.helpers import client_token_for

CANARY = "CANARY-pw-0b1c"


def make_spec(**over: object) -> TaskSpec:
    data: dict[str, object] = {
        "name": "orders-to-kafka",
        "standard": "large",
        "src": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "host": "10.0.0.1",
            "port": 3306,
            "user": "u",
            "password": "${secret:PW}",
        },
        "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "k", "port": 9092},
        "dataType": ["schema", "base"],
    }
    data.update(over)
    return TaskSpec.model_validate(data)


def test_token_is_deterministic_short_ascii_and_spec_dependent() -> None:
    spec = make_spec()
    token = client_token_for(spec)
    assert token == client_token_for(make_spec())
    assert token.startswith("dtsflow-") and len(token) <= 64 and token.isascii()
    assert client_token_for(spec, 1) != token  # a new generation is a new task
    assert client_token_for(make_spec(name="other")) != token
    assert client_token_for(make_spec(standard="xlarge")) != token  # create body changed
    # Config-only fields do not change the create token: a re-run after a crash finds the same task.
    assert client_token_for(make_spec(dataType=["schema", "base", "increment"])) == token


def test_token_ignores_dict_order() -> None:
    body = create_body(make_spec())
    reordered = dict(reversed(list(body.items())))
    assert token_for_body("t", body) == token_for_body("t", reordered)
    assert resize_token_for("dtsm1", "large") != resize_token_for("dtsm1", "xlarge")
    with pytest.raises(ValueError):
        token_for_body("t", body, -1)


def test_each_resize_of_a_back_and_forth_has_its_own_token_and_a_retry_the_same() -> None:
    moves = [("large", "xlarge"), ("xlarge", "large"), ("large", "xlarge"), ("xlarge", "large")]
    tokens = [resize_token_for("dtsm1", to, came, generation) for generation, (came, to) in enumerate(moves)]
    assert len(set(tokens)) == 4
    assert tokens[2] == resize_token_for("dtsm1", "XLarge", "Large", 2)  # a retry: the same order
    assert all(t.startswith("dtsflow-") and len(t) <= 64 for t in tokens)


def test_create_and_config_bodies_from_wire_pass_the_strict_models() -> None:
    spec = make_spec()
    check_request(CreateTaskRequest, create_body(spec), "create")
    check_request(ConfigTaskRequest, config_body(spec, resolve=lambda ref: CANARY), "config")


def test_strict_request_errors_name_fields_never_values() -> None:
    body = config_body(make_spec(), resolve=lambda ref: CANARY)
    body["srcConnection"]["dbPort"] = "3306"  # a string where the API wants a number
    body["srcConnection"]["dbPass"] = 12345  # wrong type on the secret field itself
    with pytest.raises(ConfigError) as info:
        check_request(ConfigTaskRequest, body, "config")
    text = str(info.value)
    assert "srcConnection.dbPort" in text and "srcConnection.dbPass" in text
    assert CANARY not in text and "12345" not in text and "'3306'" not in text
    bad = create_body(make_spec())
    bad["crossRegionTag"] = True
    with pytest.raises(ConfigError, match="crossRegionTag"):
        check_request(CreateTaskRequest, bad, "create")


def test_list_request_bounds() -> None:
    assert ListTasksRequest().body() == {"type": "migration", "maxKeys": 1000}
    with pytest.raises(ValueError):
        ListTasksRequest(max_keys=1001)


def test_list_response_is_tolerant() -> None:
    page = ListTasksResponse.model_validate(
        {
            "truncated": True,
            "nextMarker": "m2",
            "maxKeys": "",
            "task": [
                {
                    "dtsId": "dtsm1",
                    "taskName": "",
                    "status": "running",
                    "srcConnection": {"dbPass": CANARY, "dbPort": ""},
                    "dataType": None,
                    "newField": 1,
                }
            ],
        }
    )
    assert page.more and page.next_marker == "m2"
    assert page.task[0].src_connection.db_port is None
    assert CANARY not in repr(page) and CANARY not in page.model_dump_json()
    assert not ListTasksResponse.model_validate({"isTruncated": False, "truncated": True}).more  # Go's name wins
    assert ListTasksResponse.model_validate({"tasks": [{"dtsId": "a"}]}).task[0].dts_id == "a"
    assert ListTasksResponse.model_validate(None).task == []


def test_precheck_items_parse() -> None:
    items = GetPrecheckResponse.model_validate(
        {"success": True, "result": [{"name": "srcBinlog", "status": "failed", "message": "m", "subscription": "d"}]}
    ).result
    assert items[0].failed and items[0].name == "srcBinlog"
    assert GetPrecheckResponse.model_validate({"success": True, "result": {}}).result == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "InvalidHTTPRequest"),
        (403, "AccessDenied"),
        (412, "PreconditionFailed"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
        (429, "TooManyRequests"),
        (404, "NotFound"),
        (502, "BadGateway"),
        (599, "HTTP599"),
    ],
)
def test_code_from_status_like_go(status: int, code: str) -> None:
    assert code_for_status(status) == code


def test_error_mapping_of_bodies() -> None:
    full = json.dumps({"requestId": "rid-body", "code": "InvalidInstanceStatus", "message": "task is running"}).encode()
    err = error_from_response(409, full, {"x-bce-request-id": "rid-header"}, operation="start")
    assert (err.status, err.code, err.message, err.request_id, err.operation) == (
        409,
        "InvalidInstanceStatus",
        "task is running",
        "rid-body",
        "start",
    )
    assert str(err) == "start: HTTP 409 InvalidInstanceStatus: task is running (requestId rid-body)"

    empty = error_from_response(500, b"", {"x-bce-request-id": "rid-h"})
    assert (empty.code, empty.request_id) == ("InternalError", "rid-h")
    assert "empty error body" in empty.message

    html = error_from_response(502, b"<html>\n<b>Bad gateway</b></html>", {})
    assert html.code == "BadGateway" and "not JSON" in html.message and "<html>" in html.message

    partial = error_from_response(403, b'{"code": "AccessDenied"}', {"x-bce-request-id": "r"})
    assert (partial.code, partial.request_id) == ("AccessDenied", "r") and partial.message

    listy = error_from_response(400, b"[1,2]", {})
    assert listy.code == "InvalidHTTPRequest"

    leaky = error_from_response(400, json.dumps({"code": "X", "message": "m", "dbPass": CANARY}).encode(), {})
    assert CANARY not in str(leaky)


def test_error_from_exception() -> None:
    import httpx

    err = error_from_exception(httpx.ReadTimeout("timed out"), operation="get", target="http://127.0.0.1:1")
    assert (err.status, err.code) == (0, "Timeout") and "http://127.0.0.1:1" in err.message
    err = error_from_exception(httpx.ConnectError("refused"), operation="get")
    assert (err.status, err.code) == (0, "ConnectionError")
