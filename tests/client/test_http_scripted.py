"""HttpDtsClient over real loopback HTTP against a scripted server: error bodies the emulator never sends,
Retry-After, what is (not) retried, budget exhaustion, timeouts and connection errors."""

from __future__ import annotations

import json
import random
import socket

import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.retry import RetryBudget
from dtsflow.errors import ApiError
from tests.client.scripted_server import Answer, ScriptedServer
from tests.rawapi import create_body

CREDS = Credentials("AK-test", "CANARY-scripted-sk")
TASK = {"dtsId": "dtsm1", "taskName": "t", "status": "running"}


def client_for(url: str, slept: list[float], **options: object) -> HttpDtsClient:
    return HttpDtsClient(url, CREDS, rng=random.Random(3), sleep=slept.append, trust_env=False, **options)  # type: ignore[arg-type]


def ok(data: object) -> Answer:
    return Answer(200, json.dumps(data).encode(), {"x-bce-request-id": "rid-ok"})


@pytest.mark.parametrize(
    ("answer", "code", "request_id", "fragment"),
    [
        (Answer(500, b"", {"x-bce-request-id": "rid-h"}), "InternalError", "rid-h", "empty error body"),
        (Answer(400, b"", {}), "InvalidHTTPRequest", "", "empty error body"),
        (Answer(403, b"not json at all", {"x-bce-request-id": "r3"}), "AccessDenied", "r3", "not JSON"),
        (Answer(404, b'{"message": "no such task"}', {"x-bce-request-id": "r4"}), "NotFound", "r4", "no such task"),
        (
            Answer(409, b'{"code":"InvalidInstanceStatus","message":"m","requestId":"rb"}'),
            "InvalidInstanceStatus",
            "rb",
            "m",
        ),
        (Answer(412, b'{"code": 7, "message": null}', {}), "PreconditionFailed", "", "no message"),
    ],
)
def test_error_bodies_of_any_shape_give_a_clear_api_error(
    answer: Answer, code: str, request_id: str, fragment: str
) -> None:
    slept: list[float] = []
    status = answer.status
    server = ScriptedServer([answer] * 4)
    with server.running(), client_for(server.url, slept) as client, pytest.raises(ApiError) as info:
        client.get_task("dtsm1")
    err = info.value
    assert (err.status, err.code, err.request_id, err.operation) == (status, code, request_id, "get")
    assert fragment in err.message
    expected_attempts = 4 if status == 500 else 1  # 500 is retried, 4xx never
    assert len(server.seen) == expected_attempts
    assert client.stats.requests["get"] == expected_attempts


def test_retry_after_is_honoured_then_success() -> None:
    slept: list[float] = []
    server = ScriptedServer(
        [
            Answer(429, b'{"code":"TooManyRequests","message":"slow down","requestId":"a"}', {"Retry-After": "2"}),
            Answer(503, b"", {"Retry-After": "1"}),
            ok(TASK),
        ]
    )
    with server.running(), client_for(server.url, slept) as client:
        task = client.get_task("dtsm1")
    assert task.dts_id == "dtsm1" and task.status == "running"
    # Retry-After 2, then 1; after a 429 the run also spaces its requests (at most 1 s apart here).
    assert slept[:2] == [2.0, 1.0] and all(0 < s <= 1.0 for s in slept[2:])
    assert client.stats.snapshot()["requests"] == {"get": 3}
    assert client.stats.snapshot()["retries"] == {"get": 2}
    # Each attempt was signed afresh: distinct request ids, an Authorization each time.
    ids = [s.headers["x-bce-request-id"] for s in server.seen]
    assert len(set(ids)) == 3 and all(
        s.headers["authorization"].startswith("bce-auth-v1/AK-test/") for s in server.seen
    )


def test_backoff_without_retry_after_uses_full_jitter() -> None:
    slept: list[float] = []
    server = ScriptedServer([Answer(503, b"")] * 3 + [ok(TASK)])
    with server.running(), client_for(server.url, slept) as client:
        client.get_task("dtsm1")
    rng = random.Random(3)
    assert slept == [rng.uniform(0, 0.3), rng.uniform(0, 0.6), rng.uniform(0, 1.2)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 422])
def test_other_4xx_are_never_retried(status: int) -> None:
    slept: list[float] = []
    server = ScriptedServer([Answer(status, b'{"code":"X","message":"m","requestId":"r"}')] * 2)
    with server.running(), client_for(server.url, slept) as client, pytest.raises(ApiError):
        client.start("dtsm1")
    assert len(server.seen) == 1 and slept == [] and client.stats.total_retries == 0


def test_request_expired_is_retried_even_as_400() -> None:
    slept: list[float] = []
    server = ScriptedServer([Answer(400, b'{"code":"RequestExpired","message":"clock","requestId":"r"}'), ok({})])
    with server.running(), client_for(server.url, slept) as client:
        client.pause("dtsm1")
    assert len(server.seen) == 2
    assert server.seen[0].headers["x-bce-date"] <= server.seen[1].headers["x-bce-date"]


def test_retry_budget_exhaustion_bounds_total_attempts() -> None:
    slept: list[float] = []
    server = ScriptedServer([], default=Answer(503, b""))
    budget = RetryBudget(capacity=20)  # room for 4 retries in the whole run
    with server.running(), client_for(server.url, slept, retry_budget=budget) as client:
        for _ in range(5):
            with pytest.raises(ApiError):
                client.get_task("dtsm1")
    # Without a budget 5 calls x 4 attempts = 20 requests; with it, 5 first attempts + 4 retries.
    assert len(server.seen) == 9
    assert client.stats.total_retries == 4 and client.stats.budget_exhausted == 4
    assert client.stats.snapshot()["budget_exhausted"] == 4


def test_timeout_maps_to_api_error_after_retries() -> None:
    slept: list[float] = []
    server = ScriptedServer([Answer(200, b"{}", delay=0.5)] * 2)
    with server.running(), client_for(server.url, slept, timeout=0.1, max_attempts=2) as client:
        with pytest.raises(ApiError) as info:
            client.get_task("dtsm1")
    assert (info.value.status, info.value.code) == (0, "Timeout")
    assert client.stats.requests["get"] == 2


def test_connection_refused_maps_to_connection_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    slept: list[float] = []
    with client_for(f"http://127.0.0.1:{port}", slept, max_attempts=3) as client, pytest.raises(ApiError) as info:
        client.list_tasks()
    assert (info.value.status, info.value.code, info.value.operation) == (0, "ConnectionError", "list")
    assert len(slept) == 2


def test_wire_shapes_of_query_strings_and_bodies() -> None:
    slept: list[float] = []
    server = ScriptedServer(
        [
            ok({"success": True, "result": ""}),
            Answer(200, b""),
            ok({"orderId": 98765432111111}),
            ok({"dtsTasks": [{"dtsId": "dtsmNEW"}]}),
        ]
    )
    body = create_body()
    with server.running(), client_for(server.url, slept) as client:
        client.skip_precheck("dtsm1")
        client.rename("dtsm1", "新しい name")
        assert client.resize("dtsm1", "xlarge", client_token="tok-1") == "98765432111111"
        assert client.create_task(body, client_token="dtsflow-abc") == "dtsmNEW"
    targets = [(s.method, s.target) for s in server.seen]
    assert targets == [
        ("PUT", "/v1/task/dtsm1?skipPrecheck"),
        ("PUT", "/v1/task/dtsm1?name"),
        ("PUT", "/v1/task/dtsm1?standard&clientToken=tok-1"),
        ("POST", "/v1/task?clientToken=dtsflow-abc"),
    ]
    assert json.loads(server.seen[1].body) == {"taskName": "新しい name"}
    assert json.loads(server.seen[2].body) == {"standard": "xlarge"}
    assert json.loads(server.seen[3].body) == body
    assert server.seen[3].headers["content-type"] == "application/json;charset=utf-8"


def test_success_false_is_an_error() -> None:
    slept: list[float] = []
    server = ScriptedServer([ok({"success": False, "result": "no failed check item"})])
    with server.running(), client_for(server.url, slept) as client, pytest.raises(ApiError) as info:
        client.skip_precheck("dtsm1")
    assert info.value.code == "SkipPrecheckFailed" and "no failed check item" in info.value.message


def test_pagination_follows_next_marker_and_refuses_a_stuck_marker() -> None:
    slept: list[float] = []
    server = ScriptedServer(
        [
            ok({"isTruncated": True, "nextMarker": "m1", "task": [{"dtsId": "a"}]}),
            ok({"truncated": True, "nextMarker": "m2", "task": [{"dtsId": "b"}]}),
            ok({"isTruncated": False, "nextMarker": "", "task": [{"dtsId": "c"}]}),
            ok({"isTruncated": True, "nextMarker": "x", "task": []}),
            ok({"isTruncated": True, "nextMarker": "x", "task": []}),
        ]
    )
    with server.running(), client_for(server.url, slept) as client:
        assert [t.dts_id for t in client.list_tasks(status="running", page_size=2)] == ["a", "b", "c"]
        with pytest.raises(ApiError, match="no new nextMarker"):
            client.list_tasks()
    bodies = [json.loads(s.body) for s in server.seen[:3]]
    assert bodies == [
        {"type": "migration", "status": "running", "maxKeys": 2},
        {"type": "migration", "status": "running", "marker": "m1", "maxKeys": 2},
        {"type": "migration", "status": "running", "marker": "m2", "maxKeys": 2},
    ]


def test_malformed_success_answers_are_clear_errors_and_not_retried() -> None:
    slept: list[float] = []
    server = ScriptedServer(
        [
            ok({"dtsId": {"not": "an id"}, "dbPass": "CANARY-pw"}),
            Answer(200, b"<html>ok</html>"),
            ok({"dtsTasks": []}),
            ok({"task": [{"dtsId": "a", "dataType": 7}]}),
        ]
    )
    with server.running(), client_for(server.url, slept) as client:
        with pytest.raises(ApiError, match="MalformedResponse: unexpected answer: dtsId") as info:
            client.get_task("dtsm1")
        assert "CANARY-pw" not in str(info.value)
        with pytest.raises(ApiError, match="MalformedResponse: the answer is not JSON"):
            client.get_task("dtsm1")
        with pytest.raises(ApiError, match="create answered without a dtsId"):
            client.create_task(create_body(), client_token="t")
        with pytest.raises(ApiError, match=r"task\.0\.dataType"):
            client.list_tasks()
    assert len(server.seen) == 4 and slept == []


def test_a_detail_without_its_id_is_the_task_asked_for() -> None:
    """`null` means absent, in the id too: the answer to `GET /v1/task/{id}` describes that id."""
    server = ScriptedServer([ok({"dtsId": None, "status": "unConfig", "taskName": None})])
    with server.running(), client_for(server.url, []) as client:
        task = client.get_task("dtsm1")
    assert (task.dts_id, task.status, task.task_name) == ("dtsm1", "unConfig", "")


@pytest.mark.parametrize("bound", [2, 6])
def test_requests_in_flight_are_bounded(bound: int) -> None:
    """Many threads share one client: the server never sees more than `max_in_flight` requests at once."""
    from concurrent.futures import ThreadPoolExecutor

    slow = Answer(200, json.dumps({"task": [], "isTruncated": False}).encode(), delay=0.1)
    with ScriptedServer([], default=slow).running() as server, client_for(server.url, [], max_in_flight=bound) as c:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(c.list_tasks) for _ in range(16)]:
                assert future.result(timeout=30) == []
    assert len(server.seen) == 16
    assert 2 <= server.max_active <= bound  # requests did overlap, never more than the bound


@pytest.mark.parametrize(
    ("answer", "code", "detail"),
    [
        # a body that says it is gzip and is not: httpx raises DecodingError while reading it
        (Answer(200, b"not gzip at all", {"content-encoding": "gzip"}), "MalformedResponse", "DecodingError"),
        # a body that says it is deflate and is not
        (Answer(200, b"\x00\x01garbage", {"content-encoding": "deflate"}), "MalformedResponse", "DecodingError"),
    ],
    ids=["gzip", "deflate"],
)
def test_every_httpx_request_error_is_an_api_error(answer: Answer, code: str, detail: str) -> None:
    slept: list[float] = []
    server = ScriptedServer([], default=answer)
    with server.running(), client_for(server.url, slept, max_attempts=2) as client:
        with pytest.raises(ApiError) as info:
            client.get_task("dtsm1")
    assert (info.value.status, info.value.code, info.value.operation) == (0, code, "get")
    assert detail in info.value.message


def test_only_the_standard_retry_after_is_read_not_the_emulators_own_hint() -> None:
    slept: list[float] = []
    limited = Answer(
        429, b'{"code":"RequestLimitExceeded","message":"m"}', {"Retry-After": "2", "x-retry-after-ms": "5"}
    )
    server = ScriptedServer([limited, ok(TASK)])
    with server.running(), client_for(server.url, slept) as client:
        client.get_task("dtsm1")
    assert slept == [2.0]  # the real service sends no x-retry-after-ms: the client must not depend on it
