"""BCE auth v1 through the httpx auth flow: the vectors of the BCE signing documentation byte for byte, and agreement with the
official bce-python-sdk signer on several hundred seeded random requests."""

from __future__ import annotations

import random

import httpx
import pytest

from dtsflow.client import signing
from dtsflow.client.auth import BceAuth, decode_target
from dtsflow.client.credentials import Credentials

AK = "0b0f67dfb88244b289b72b142befad0c"
SK = "bad522c2126a4618a8125f4b6cf6356f"
TS = 1700000000  # 2023-11-14T22:13:20Z


def signed(request: httpx.Request, credentials: Credentials, ts: float = TS) -> httpx.Request:
    """Run the real httpx auth flow (no network) and return the request it would send."""
    flow = BceAuth(credentials, clock=lambda: ts, request_id=lambda: "req-1").sync_auth_flow(request)
    out = next(flow)
    assert out is request
    return out


V2_BODY = (
    b'{"productType":"postpay","type":"migration","standard":"Large","sourceInstanceType":"public",'
    b'"targetInstanceType":"public","crossRegionTag":0,"directionType":"single"}'
)

VECTORS = [
    pytest.param(
        Credentials("a" * 32, "b" * 32),
        1430123029,
        httpx.Request(
            "PUT",
            "http://bj.bcebos.com/v1/test/myfolder/readme.txt?partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851",
            headers={
                "Date": "Mon, 27 Apr 2015 16:23:49 +0800",
                "Content-Type": "text/plain",
                "Content-Md5": "NFzcPqhviddjRNnSOGo4rw==",
            },
            content=b"12345678",  # the doc's body is not published; its length and MD5 header are what is signed
        ),
        "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800/"
        "content-length;content-md5;content-type;host;x-bce-date/"
        "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e",
        id="V0",
    ),
    pytest.param(
        Credentials(AK, SK),
        TS,
        httpx.Request("GET", "http://dts.baidubce.com/v1/task/dtsmro61533558/precheck"),
        f"bce-auth-v1/{AK}/2023-11-14T22:13:20Z/1800/host;x-bce-date/"
        "45d78e86e87af3a6cd19413bd67f8ab8739c6635ec31ef264ce6640c7ab51e34",
        id="V1",
    ),
    pytest.param(
        Credentials(AK, SK),
        TS,
        httpx.Request("POST", "http://dts.baidubce.com/v1/task?clientToken=abc", content=V2_BODY),
        f"bce-auth-v1/{AK}/2023-11-14T22:13:20Z/1800/content-length;content-md5;content-type;host;x-bce-date/"
        "d16675681769ec8f6d6aebd33da1824fdfbf7ee02e4243c9c8cbc371738d5efd",
        id="V2",
    ),
    pytest.param(
        Credentials(AK, SK),
        TS,
        httpx.Request("PUT", "http://dts.baidubce.com/v1/task/dtsmro61533558?skipPrecheck"),
        f"bce-auth-v1/{AK}/2023-11-14T22:13:20Z/1800/content-type;host;x-bce-date/"
        "4c6e988d1578dce6baa1bfabb9eaefaef218dfe30b1eeef11674995a9883951c",
        id="V3",
    ),
    pytest.param(
        Credentials(AK, SK),
        TS,
        httpx.Request(
            "GET",
            "http://dts.baidubce.com:8080/v1/task/dts%20a+b=c:%E6%B5%8B%E8%AF%95~_.-/x"
            "?marker=a%20b%2Fc&maxKeys=10&keyword=%E6%B5%8B%E8%AF%95&text1=x&text10=y",
            headers={"X-Bce-Meta-Note": "  hello world/!  "},
        ),
        f"bce-auth-v1/{AK}/2023-11-14T22:13:20Z/1800/host;x-bce-date;x-bce-meta-note/"
        "b8a6b9a76a80e152e7d06f5c4c4e83d6c0dbc3cc3346f09ebbb10e9c859710c1",
        id="V4",
    ),
]


@pytest.mark.parametrize(("credentials", "ts", "request_", "expected"), VECTORS)
def test_reference_vectors_byte_for_byte(
    credentials: Credentials, ts: int, request_: httpx.Request, expected: str
) -> None:
    # V1 and V4 of the reference sign no content type; our client adds the Go SDK's one on GET unless told not to.
    content_type = None if request_.method == "GET" else "application/json;charset=utf-8"
    auth = BceAuth(credentials, clock=lambda: ts, request_id=lambda: "r", default_content_type=content_type)
    out = next(auth.sync_auth_flow(request_))
    assert out.headers["authorization"] == expected
    assert out.headers["x-bce-date"] == signing.format_timestamp(ts)
    assert out.headers["x-bce-request-id"] == "r"


def test_v2_body_md5_and_length_are_computed() -> None:
    out = signed(
        httpx.Request("POST", "http://dts.baidubce.com/v1/task?clientToken=abc", content=V2_BODY), Credentials(AK, SK)
    )
    assert out.headers["content-md5"] == "tMKD2V9eATslGK5PKUVmOw=="
    assert out.headers["content-length"] == "167"
    assert out.headers["content-type"] == "application/json;charset=utf-8"


def test_get_requests_carry_the_go_sdk_content_type_by_default() -> None:
    out = signed(httpx.Request("GET", "http://dts.baidubce.com/v1/task/x"), Credentials(AK, SK))
    assert out.headers["content-type"] == "application/json;charset=utf-8"
    assert "content-type" in out.headers["authorization"].split("/")[4].split(";")
    assert "content-length" not in out.headers["authorization"]


def test_sts_token_is_sent_and_signed() -> None:
    creds = Credentials(AK, SK, "session-token-123")
    out = signed(httpx.Request("GET", "http://dts.baidubce.com/v1/task/x"), creds)
    assert out.headers["x-bce-security-token"] == "session-token-123"
    parsed = signing.parse_authorization(out.headers["authorization"])
    assert parsed is not None and parsed[3] is not None
    assert "x-bce-security-token" in parsed[3]
    assert "x-bce-request-id" not in parsed[3]
    # The same request without the token signs differently: the token is covered by the signature.
    plain = signed(httpx.Request("GET", "http://dts.baidubce.com/v1/task/x"), Credentials(AK, SK))
    assert plain.headers["authorization"].rsplit("/", 1)[1] != out.headers["authorization"].rsplit("/", 1)[1]


def test_every_attempt_gets_a_fresh_date_and_request_id() -> None:
    times = iter([TS, TS + 61])
    ids = iter(["a", "b"])
    auth = BceAuth(Credentials(AK, SK), clock=lambda: next(times), request_id=lambda: next(ids))
    first = next(auth.sync_auth_flow(httpx.Request("POST", "http://dts.baidubce.com/v1/task/x/start")))
    first_auth, first_date = first.headers["authorization"], first.headers["x-bce-date"]
    second = next(auth.sync_auth_flow(first))  # the same request object signed again, as a retry would be
    assert second.headers["x-bce-date"] != first_date
    assert second.headers["authorization"] != first_auth
    assert (first.headers["x-bce-request-id"], second.headers["x-bce-request-id"]) == ("b", "b")


# ---- cross-check against the official bce-python-sdk signer -------------------------------------------------

_ALPHABET = "abcXYZ019-_.~ /+=&?:;,@!$'()*%#[]测试é€😀"


def _rand_text(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(lo, hi)))


def _random_request(rng: random.Random) -> tuple[httpx.Request, list[tuple[str, str]], dict[str, str]]:
    segments = [_rand_text(rng, 1, 8).replace("/", "") or "s" for _ in range(rng.randint(1, 4))]
    path = "/v1/" + "/".join(segments)
    params: dict[str, str] = {}
    for _ in range(rng.randint(0, 5)):
        params[_rand_text(rng, 1, 6)] = _rand_text(rng, 0, 8) if rng.random() < 0.8 else ""
    query = "&".join(
        signing.uri_encode(k) + ("=" + signing.uri_encode(v) if v or rng.random() < 0.5 else "")
        for k, v in params.items()
    )
    url = "http://dts.baidubce.com" + signing.uri_encode(path, keep_slash=True) + ("?" + query if query else "")
    headers: dict[str, str] = {}
    for i in range(rng.randint(0, 3)):
        value = _rand_text(rng, 0, 10)
        if rng.random() < 0.3:
            value = "  " + value + " "
        headers[f"x-bce-meta-h{i}"] = value
    method = rng.choice(["GET", "POST", "PUT", "DELETE"])
    body = _rand_text(rng, 1, 40).encode() if method in ("POST", "PUT") and rng.random() < 0.7 else None
    request = httpx.Request(method, url, headers={k.encode(): v.encode() for k, v in headers.items()}, content=body)
    return request, list(params.items()), headers


def test_cross_check_against_official_sdk_signer() -> None:
    bce_v1_signer = pytest.importorskip("baidubce.auth.bce_v1_signer")
    from baidubce import utils
    from baidubce.auth.bce_credentials import BceCredentials

    rng = random.Random(20261127)
    checked = 0
    for n in range(400):
        request, params, _ = _random_request(rng)
        ts = TS + n * 37
        creds = Credentials(AK, SK, "sts-token/+=ab" if n % 3 == 0 else None)
        out = signed(request, creds, ts)
        ours = out.headers["authorization"]

        # What went on the wire, decoded back, must be what we meant to send.
        path, wire_params = decode_target(out.url.raw_path)
        assert sorted(wire_params) == sorted(params)

        official_headers = {
            name.encode(): value.encode("utf-8")
            for name, value in out.headers.multi_items()
            if name not in ("authorization", "x-bce-request-id")
        }
        if not request.content:
            official_headers.pop(b"content-length", None)
        official = bce_v1_signer.sign(
            BceCredentials(AK, SK),
            request.method.encode(),
            utils.normalize_string(path, False),
            official_headers,
            {k.encode(): v.encode() for k, v in params},
            ts,
            1800,
            None,
        ).decode()
        assert ours.rsplit("/", 1)[1] == official.rsplit("/", 1)[1], (request.method, str(out.url))
        checked += 1
    assert checked == 400
