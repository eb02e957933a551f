"""A small signing HTTP client for the emulator tests (http.client + dtsflow.client.signing; one keep-alive connection).

Deliberately independent of dtsflow's own client (another module's job): it lets each test choose exactly
what goes on the wire — bare `?key` or `key=`, tampered signatures, odd timestamps, raw bodies.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dtsflow.client import signing
from tests.rawapi import config_body, create_body


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def code(self) -> str:
        return str(self.body.get("code", "")) if isinstance(self.body, dict) else ""


class Api:
    def __init__(self, url: str, access_key: str, secret_key: str, *, security_token: str | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.access_key = access_key
        self.secret_key = secret_key
        self.security_token = security_token
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self._conn

    def call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str | None]] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: float | None = None,
        expiration: int = 1800,
        signed_headers: str | None = None,
        tamper: bool = False,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> Response:
        """One request. A param value of None goes on the wire as a bare key (Go style), "" as `key=`."""
        params = params or []
        data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
        host_header = f"{self.host}:{self.port}"
        ts = signing.format_timestamp(time.time() if timestamp is None else timestamp)
        hdrs: dict[str, str] = {"Host": host_header, "x-bce-date": ts, "Content-Type": "application/json"}
        if data or method in ("POST", "PUT"):
            hdrs["Content-Length"] = str(len(data))
        if data:
            hdrs["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        if self.security_token:
            hdrs["x-bce-security-token"] = self.security_token
        hdrs.update(headers or {})
        if sign:
            ak = access_key or self.access_key
            sk = secret_key or self.secret_key
            signing_params = [(k, v or "") for k, v in params]
            prefix = signing.auth_string_prefix(ak, ts, expiration)
            if signed_headers is None:
                canonical, names = signing.canonical_request(method, path, signing_params, hdrs)
                listed = ";".join(names)
            else:
                wanted = [h for h in signed_headers.split(";") if h] or None
                canonical, _ = signing.canonical_request(method, path, signing_params, hdrs, wanted)
                listed = signed_headers
            sig = signing.signature(sk, prefix, canonical)
            if tamper:
                sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
            hdrs["Authorization"] = f"{prefix}/{listed}/{sig}"
        query = "&".join(
            signing.uri_encode(k) if v is None else f"{signing.uri_encode(k)}={signing.uri_encode(v)}"
            for k, v in params
        )
        target = signing.canonical_uri(path) + (f"?{query}" if query else "")
        conn = self._connection()
        try:
            conn.request(method, target, body=data or None, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except (ConnectionError, http.client.HTTPException):
            self.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        parsed: Any = json.loads(raw) if raw else None
        return Response(resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()}, raw)

    # ---- shortcuts -----------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any] | None = None, token: str | None = None) -> Response:
        params: list[tuple[str, str | None]] = [("clientToken", token)] if token else []
        return self.call("POST", "/v1/task", params=params, body=body if body is not None else create_body())

    def new_task(self, name: str = "t1", **config: Any) -> str:
        created = self.create()
        assert created.status == 200, created.body
        dts_id = str(created.body["dtsTasks"][0]["dtsId"])
        configured = self.call("POST", f"/v1/task/{dts_id}/config", body=config_body(name, **config))
        assert configured.status == 200, configured.body
        return dts_id

    def get(self, dts_id: str) -> Response:
        return self.call("GET", f"/v1/task/{dts_id}")

    def status(self, dts_id: str) -> str:
        got = self.get(dts_id)
        assert got.status == 200, got.body
        return str(got.body["status"])

    def action(self, dts_id: str, action: str) -> Response:
        return self.call("POST", f"/v1/task/{dts_id}/{action}")

    def admin(self, method: str, path: str, body: Any = None) -> Response:
        return self.call(method, path, body=body, sign=False)

    def wait_status(self, dts_id: str, wanted: set[str], *, timeout: float = 5.0) -> str:
        """Poll until the task reaches one of `wanted` (bounded); returns the status seen last."""
        deadline = time.monotonic() + timeout
        status = self.status(dts_id)
        while status not in wanted and time.monotonic() < deadline:
            time.sleep(0.005)
            status = self.status(dts_id)
        return status
