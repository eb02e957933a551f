"""BCE auth v1 as an `httpx.Auth`: every attempt gets a fresh `x-bce-date`, request id and signature.

httpx runs the auth flow once per `client.send`, and `HttpDtsClient` sends each retry as a new request,
so a retry is always re-signed (a signature older than 30 minutes would earn `RequestExpired`).
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable, Generator
from urllib.parse import unquote

import httpx

from dtsflow.client import signing
from dtsflow.client.credentials import Credentials
from dtsflow.client.errors import REQUEST_ID_HEADER

CONTENT_TYPE = "application/json;charset=utf-8"  # what the Go SDK sends, even on GET (the API documentation's examples)
SECURITY_TOKEN_HEADER = "x-bce-security-token"

# Signed when present: the default set of the BCE docs plus every x-bce-* header but the request id.
_SIGNED = ("host", "content-type", "content-length", "content-md5")


def decode_target(raw_path: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The decoded path and query parameters of a request target, as the signer wants them.

    Only percent-escapes are decoded (a `+` stays a `+`); a bare `key` is the parameter `key` with an empty value.
    """
    path_bytes, _, query_bytes = raw_path.partition(b"?")
    path = unquote(path_bytes.decode("ascii"))
    params: list[tuple[str, str]] = []
    for part in query_bytes.decode("ascii").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        params.append((unquote(key), unquote(value)))
    return path, params


class BceAuth(httpx.Auth):
    """Signs requests with an access key; adds `x-bce-security-token` for STS credentials."""

    requires_request_body = True  # the body's MD5 is signed

    def __init__(
        self,
        credentials: Credentials,
        *,
        clock: Callable[[], float] = time.time,
        request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        expiration: int = signing.DEFAULT_EXPIRATION_SECONDS,
        default_content_type: str | None = CONTENT_TYPE,
    ) -> None:
        self._credentials = credentials
        self._default_content_type = default_content_type
        self._clock = clock
        self._request_id = request_id
        self._expiration = expiration

    def __repr__(self) -> str:
        return f"BceAuth(access_key_id={self._credentials.access_key_id!r})"

    def sign(self, request: httpx.Request) -> None:
        """Set the date, request id, content headers and `Authorization` of `request` in place."""
        headers = request.headers
        timestamp = signing.format_timestamp(self._clock())
        headers["x-bce-date"] = timestamp
        headers[REQUEST_ID_HEADER] = self._request_id()
        if self._default_content_type and "content-type" not in headers:
            headers["content-type"] = self._default_content_type
        body = request.content
        if body:
            headers["content-length"] = str(len(body))
            # A caller-set Content-MD5 is kept (the official doc vector signs one without its body).
            headers.setdefault("content-md5", base64.b64encode(hashlib.md5(body).digest()).decode("ascii"))
        if self._credentials.security_token:
            headers[SECURITY_TOKEN_HEADER] = self._credentials.security_token
        path, params = decode_target(request.url.raw_path)
        to_sign = {
            name: value
            for name, value in headers.items()
            if name in _SIGNED or (name.startswith("x-bce-") and name != REQUEST_ID_HEADER)
        }
        if not body:
            # httpx adds `Content-Length: 0` to body-less PUT/POST; like Go, sign only a real body's length.
            to_sign.pop("content-length", None)
        headers["authorization"] = signing.authorization(
            self._credentials.access_key_id,
            self._credentials.secret_access_key,
            request.method,
            path,
            params,
            to_sign,
            timestamp=timestamp,
            expiration=self._expiration,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request
