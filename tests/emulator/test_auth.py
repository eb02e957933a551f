"""BCE auth v1 verification: accepted forms, and each refusal with its code."""

from __future__ import annotations

import time

from dtsflow.emulator import DEV_ACCESS_KEY, DEV_SECRET_KEY, RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api


def test_dev_keys_are_the_defaults(instant: RunningEmulator) -> None:
    assert (instant.access_key, instant.secret_key) == (DEV_ACCESS_KEY, DEV_SECRET_KEY)
    assert instant.url.startswith("http://127.0.0.1:")


def test_go_style_and_python_style_signed_header_lists_are_accepted(api: Api) -> None:
    assert api.call("POST", "/v1/task/list", body={}).status == 200  # explicit sorted list (Go)
    assert api.call("POST", "/v1/task/list", body={}, signed_headers="").status == 200  # empty list (Python)
    assert api.call("POST", "/v1/task/list", body={}, signed_headers="host;x-bce-date").status == 200


def test_refusals(api: Api) -> None:
    unsigned = api.call("POST", "/v1/task/list", body={}, sign=False)
    assert (unsigned.status, unsigned.code) == (403, "AccessDenied")
    malformed = api.call("POST", "/v1/task/list", body={}, sign=False, headers={"Authorization": "bce-auth-v1/x"})
    assert (malformed.status, malformed.code) == (400, "InvalidHTTPAuthHeader")
    unknown = api.call("POST", "/v1/task/list", body={}, access_key="someone-else")
    assert (unknown.status, unknown.code) == (403, "InvalidAccessKeyId")
    tampered = api.call("POST", "/v1/task/list", body={}, tamper=True)
    assert (tampered.status, tampered.code) == (400, "SignatureDoesNotMatch")
    wrong_secret = api.call("POST", "/v1/task/list", body={}, secret_key="not-the-secret")
    assert wrong_secret.code == "SignatureDoesNotMatch"
    expired = api.call("POST", "/v1/task/list", body={}, timestamp=time.time() - 1900)
    assert (expired.status, expired.code) == (400, "RequestExpired")
    short = api.call("POST", "/v1/task/list", body={}, timestamp=time.time() - 120, expiration=60)
    assert short.code == "RequestExpired"
    future = api.call("POST", "/v1/task/list", body={}, timestamp=time.time() + 16 * 60)
    assert future.code == "RequestExpired"
    slightly_ahead = api.call("POST", "/v1/task/list", body={}, timestamp=time.time() + 5 * 60)
    assert slightly_ahead.status == 200
    no_host = api.call("POST", "/v1/task/list", body={}, signed_headers="x-bce-date")
    assert no_host.code == "InvalidHTTPAuthHeader"
    for refused in (unsigned, malformed, unknown, tampered, expired):
        assert set(refused.body) == {"requestId", "code", "message"}
        assert DEV_SECRET_KEY not in refused.raw.decode()


def test_the_signature_covers_path_query_and_signed_headers(instant: RunningEmulator, api: Api) -> None:
    """A request changed after signing is refused: sign one thing, send another."""
    import http.client

    from tests.rawapi import signed_headers

    headers = {"Host": f"127.0.0.1:{instant.port}"}
    headers = signed_headers(instant.access_key, instant.secret_key, "GET", "/v1/task/vpc", headers, [("region", "bj")])
    for target in ("/v1/task/vpc?region=bj", "/v1/task/vpc?region=gz", "/v1/task/list?region=bj"):
        conn = http.client.HTTPConnection("127.0.0.1", instant.port, timeout=10)
        conn.request("GET", target, headers=headers)
        status = conn.getresponse().status
        conn.close()
        assert status == (200 if target == "/v1/task/vpc?region=bj" else 400), target


def test_unicode_and_reserved_characters_in_path_and_query(api: Api) -> None:
    got = api.call("GET", "/v1/task/dts a+b=c:测试~_.-", params=[("marker", "a b/c"), ("keyword", "测试")])
    assert (got.status, got.code) == (404, "InstanceNotExist")  # authenticated, then simply not found


def test_sts_security_token() -> None:
    with start_in_thread(
        time_scale=0,
        access_key="sts-ak",
        secret_key="sts-sk",
        security_token="tok-123",
        extra_keys=[("ak2", "sk2", None)],
    ) as emu:
        good = Api(emu.url, "sts-ak", "sts-sk", security_token="tok-123")
        assert good.call("POST", "/v1/task/list", body={}).status == 200
        assert good.call("POST", "/v1/task/list", body={}, signed_headers="").status == 200
        missing = Api(emu.url, "sts-ak", "sts-sk")
        assert missing.call("POST", "/v1/task/list", body={}).code == "InvalidSessionToken"
        wrong = Api(emu.url, "sts-ak", "sts-sk", security_token="tok-999")
        assert wrong.call("POST", "/v1/task/list", body={}).code == "InvalidSessionToken"
        unsigned_token = good.call("POST", "/v1/task/list", body={}, signed_headers="host;x-bce-date")
        assert unsigned_token.code == "InvalidSessionToken"
        plain = Api(emu.url, "ak2", "sk2")
        assert plain.call("POST", "/v1/task/list", body={}).status == 200
        plain_with_token = Api(emu.url, "ak2", "sk2", security_token="tok-123")
        assert plain_with_token.call("POST", "/v1/task/list", body={}).code == "InvalidSessionToken"
        for client in (good, missing, wrong, plain, plain_with_token):
            client.close()


def test_clock_skew_fault_makes_fresh_requests_expire(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"clock_skew_s": 3600})
    assert api.call("POST", "/v1/task/list", body={}).code == "RequestExpired"
    instant.set_faults({"clock_skew_s": 0})
    assert api.call("POST", "/v1/task/list", body={}).status == 200
