"""Each fault mode, asserted by counts (never by how long something took, except lower bounds of a delay)."""

from __future__ import annotations

import http.client
import time

import pytest

from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api


def _list(api: Api) -> int:
    return api.call("POST", "/v1/task/list", body={"maxKeys": 1000}).status


def test_fail_next_fails_exactly_n_calls_of_that_operation(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"fail_next": {"list": 3, "get": {"count": 1, "status": 502, "code": "BadGateway"}}})
    assert [_list(api) for _ in range(5)] == [500, 500, 500, 200, 200]
    failed = api.get("dtsmwhatever")
    assert (failed.status, failed.code) == (502, "BadGateway")
    assert api.get("dtsmwhatever").code == "InstanceNotExist"
    assert instant.stats["faults"] == {"fail_next": 4}


def test_error_rate_is_reproducible_with_a_seed(instant: RunningEmulator, api: Api) -> None:
    outcomes = []
    for _ in range(2):
        instant.set_faults({"error_rate": {"list": 0.3}, "seed": 42})
        instant.reset_stats()
        outcomes.append([_list(api) for _ in range(200)])
        assert instant.stats["faults"]["error_rate"] == outcomes[-1].count(503)
    assert outcomes[0] == outcomes[1]
    assert 30 <= outcomes[0].count(503) <= 90  # about 30% of 200
    assert set(outcomes[0]) == {200, 503}
    instant.set_faults({"error_rate": {"get": 1.0}, "error_status": 500, "error_code": "InternalError"})
    assert _list(api) == 200  # another operation is not affected
    got = api.get("dtsmx")
    assert (got.status, got.code) == (500, "InternalError")
    assert set(got.body) == {"requestId", "code", "message"}
    instant.set_faults({"error_rate": 1.0})  # a bare number applies to every operation
    assert _list(api) == 503


def test_drop_response_commits_then_closes_the_connection(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"drop_response": {"create": 2}})
    for _ in range(2):
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            api.create(token=None)
    third = api.create()
    assert third.status == 200
    tasks = api.call("POST", "/v1/task/list", body={}).body["task"]
    assert len(tasks) == 3  # the two unanswered creates were committed
    assert instant.stats["faults"] == {"drop_response": 2}
    assert instant.stats["outcomes"]["create"] == {"dropped": 2, "200": 1}


def test_a_dropped_create_retried_with_its_token_makes_one_task(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"drop_response": {"create": 1}})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        api.create(token="retry-me")
    retried = api.create(token="retry-me")
    assert retried.status == 200
    tasks = api.call("POST", "/v1/task/list", body={}).body["task"]
    assert [t["dtsId"] for t in tasks] == [retried.body["dtsTasks"][0]["dtsId"]]


def test_drop_probability(instant: RunningEmulator, api: Api) -> None:
    dts_id = api.create().body["dtsTasks"][0]["dtsId"]
    instant.set_faults({"drop_response": {"get": {"probability": 0.5}}, "seed": 7})
    dropped = 0
    for _ in range(40):
        try:
            api.get(dts_id)
        except (http.client.RemoteDisconnected, ConnectionError):
            dropped += 1
    assert dropped == instant.stats["faults"]["drop_response"]
    assert 5 <= dropped <= 35


def test_rate_limit_answers_429_with_retry_after(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"rate_limit_rps": 1, "rate_limit_burst": 3})
    statuses = [_list(api) for _ in range(6)]
    assert statuses[:3] == [200, 200, 200] and statuses.count(429) >= 2
    limited = api.call("POST", "/v1/task/list", body={})
    assert limited.status == 429 and limited.code == "RequestLimitExceeded"
    assert int(limited.headers["retry-after"]) >= 1
    assert int(limited.headers["x-retry-after-ms"]) > 0
    assert instant.stats["faults"]["rate_limited"] == statuses.count(429) + 1


def test_latency_and_jitter_delay_every_request(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"latency_ms": 30, "jitter_ms": 10})
    started = time.perf_counter()
    for _ in range(3):
        assert _list(api) == 200
    assert time.perf_counter() - started >= 0.09  # a lower bound only: 3 x 30 ms


def test_faults_given_at_start() -> None:
    with start_in_thread(time_scale=0, faults={"fail_next": {"*": 1}}) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        assert _list(api) == 500
        assert _list(api) == 200
        api.close()
    with pytest.raises(ValueError, match="unknown fault keys"):
        start_in_thread(faults={"latency": 5})
    with pytest.raises(ValueError, match="unknown operation 'crate'"):
        start_in_thread(faults={"error_rate": {"crate": 0.5}})
