"""A third-party client: the official bce-python-sdk signer and HTTP client against the emulator."""

from __future__ import annotations

import copy
import json

import pytest

from dtsflow.emulator import RunningEmulator

baidubce = pytest.importorskip("baidubce")

# The official SDK never closes its HTTP connections (each request opens one and leaves it to the garbage
# collector): its ResourceWarnings are the SDK's, not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

from baidubce import bce_client_configuration, protocol  # noqa: E402
from baidubce.auth import bce_v1_signer  # noqa: E402
from baidubce.auth.bce_credentials import BceCredentials  # noqa: E402
from baidubce.bce_client_configuration import BceClientConfiguration  # noqa: E402
from baidubce.exception import BceHttpClientError, BceServerError  # noqa: E402
from baidubce.http import bce_http_client, handler, http_methods  # noqa: E402
from baidubce.retry.retry_policy import NoRetryPolicy  # noqa: E402


def _config(emu: RunningEmulator) -> BceClientConfiguration:
    """What `BceBaseClient.__init__` does: the SDK defaults, then our values."""
    config = copy.deepcopy(bce_client_configuration.DEFAULT_CONFIG)
    config.merge_non_none_values(
        BceClientConfiguration(
            credentials=BceCredentials(emu.access_key, emu.secret_key),
            endpoint=f"127.0.0.1:{emu.port}".encode(),
            protocol=protocol.HTTP,
            retry_policy=NoRetryPolicy(),
        )
    )
    return config


def _send(emu: RunningEmulator, method: bytes, path: bytes, body: object = None, params: dict | None = None, sign=None):  # type: ignore[no-untyped-def]
    data = json.dumps(body).encode() if body is not None else None
    return bce_http_client.send_request(
        _config(emu),
        sign or bce_v1_signer.sign,
        [handler.parse_error, handler.parse_json],
        method,
        path,
        data,
        {b"Content-Type": b"application/json; charset=utf-8"},
        params or {},
    )


def _server_error(exc: BceHttpClientError) -> BceServerError:
    """The SDK wraps the parsed error body (it needs all of requestId, code and message) in its client error."""
    assert isinstance(exc.last_error, BceServerError), exc
    return exc.last_error


def _tampered_sign(*args, **kwargs):  # type: ignore[no-untyped-def]
    auth = bce_v1_signer.sign(*args, **kwargs)
    last = auth[-1:]
    return auth[:-1] + (b"0" if last != b"0" else b"1")


def test_official_sdk_is_accepted_and_a_changed_signature_byte_is_refused(instant: RunningEmulator) -> None:
    created = _send(
        instant,
        http_methods.POST,
        b"/v1/task",
        {
            "productType": "postpay",
            "type": "migration",
            "standard": "Large",
            "sourceInstanceType": "public",
            "targetInstanceType": "public",
            "crossRegionTag": 0,
            "directionType": "single",
        },
        {b"clientToken": b"sdk-token-1"},
    )
    dts_id = created.dts_tasks[0].dts_id
    detail = _send(instant, http_methods.GET, f"/v1/task/{dts_id}".encode())
    assert detail.status == "unConfig"
    with pytest.raises(BceHttpClientError) as refused_skip:
        _send(instant, http_methods.PUT, f"/v1/task/{dts_id}".encode(), params={b"skipPrecheck": b""})
    assert _server_error(refused_skip.value).code == "InvalidInstanceStatus"  # signed query `skipPrecheck=` accepted
    listed = _send(instant, http_methods.POST, b"/v1/task/list", {"type": "migration", "maxKeys": 5})
    assert [t.dts_id for t in listed.task] == [dts_id]

    with pytest.raises(BceHttpClientError) as refused:
        _send(instant, http_methods.GET, f"/v1/task/{dts_id}".encode(), sign=_tampered_sign)
    error = _server_error(refused.value)
    assert error.status_code == 400
    assert error.code == "SignatureDoesNotMatch"
    assert error.request_id
