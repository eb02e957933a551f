"""Hand-built DTS API requests for tests and benchmarks that bypass dtsflow's client: raw request bodies with the
API's JSON names, and BCE-signed headers from `dtsflow.client.signing` (what a third-party client would send)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from dtsflow.client import signing


def signed_headers(
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    params: Iterable[tuple[str, str]] = (),
    *,
    timestamp: float | None = None,
) -> dict[str, str]:
    """`headers` plus a fresh `x-bce-date` and the `Authorization` that signs them (Go style: every header given)."""
    ts = signing.format_timestamp(time.time() if timestamp is None else timestamp)
    out = {**headers, "x-bce-date": ts}
    out["Authorization"] = signing.authorization(access_key, secret_key, method, path, list(params), out, timestamp=ts)
    return out


def create_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productType": "postpay",
        "type": "migration",
        "standard": "large",
        "sourceInstanceType": "public",
        "targetInstanceType": "public",
        "crossRegionTag": 0,
        "directionType": "single",
        "orderInfo": {
            "src": {"instanceType": "public", "dbType": "mysql", "region": "bj"},
            "dst": {"instanceType": "public", "dbType": "mysql", "region": "bj"},
        },
    }
    body.update(over)
    return body


def config_body(
    name: str = "t1",
    *,
    src_host: str = "10.0.0.1",
    dst_host: str = "10.0.0.2",
    data_type: tuple[str, ...] = ("schema", "base", "increment"),
    password: str = "",
    **over: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "migration",
        "taskName": name,
        "dataType": list(data_type),
        "srcConnection": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "dbHost": src_host,
            "dbPort": 3306,
            "dbUser": "reader",
            "dbPass": password,
        },
        "dstConnection": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "dbHost": dst_host,
            "dbPort": 3306,
            "dbUser": "writer",
            "dbPass": password,
        },
        "schemaMapping": [{"type": "table", "src": "shop.orders", "dst": "shop.orders", "where": ""}],
        "granularity": "dbtb",
        "initPosition": {"type": "binlog", "position": ""},
    }
    body.update(over)
    return body
