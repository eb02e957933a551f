"""How a manifest task becomes DTS request bodies (exact JSON names of `reference/dts-api.md` §2).

Pure functions. The password is resolved through a callback only when a config request is built for
sending; with `resolve=None` the body carries no `dbPass` at all (what plans and diffs use).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from dtsflow.manifest import Endpoint, TaskSpec

SecretResolver = Callable[[str], str]  # secret reference -> value


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `extra` merged into `base`; nested dicts merge, everything else in `extra` wins."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def cross_region_tag(spec: TaskSpec) -> int:
    return spec.cross_region_tag if spec.cross_region_tag is not None else spec.derived_cross_region_tag


def create_body(spec: TaskSpec) -> dict[str, Any]:
    """CreateDtsArgs: billing and endpoint kinds; the rest of the task arrives with config."""
    body: dict[str, Any] = {
        "productType": spec.product_type,
        "type": spec.type,
        "standard": spec.standard,
        "sourceInstanceType": spec.src.instance_type,
        "targetInstanceType": spec.dst.instance_type,
        "crossRegionTag": cross_region_tag(spec),
        "directionType": spec.direction_type,
        "orderInfo": {
            "src": {"instanceType": spec.src.instance_type, "dbType": spec.src.db_type, "region": spec.src.region},
            "dst": {"instanceType": spec.dst.instance_type, "dbType": spec.dst.db_type, "region": spec.dst.region},
        },
    }
    return deep_merge(body, spec.api.create) if spec.api.create else body  # a fresh dict either way


def connection(endpoint: Endpoint, resolve: SecretResolver | None) -> dict[str, Any]:
    """Connection JSON; only set fields are sent, and `dbPass` only when a resolver is given."""
    body: dict[str, Any] = {
        "instanceType": endpoint.instance_type,
        "dbType": endpoint.db_type,
        "region": endpoint.region,
    }
    for key, value in (
        ("dbHost", endpoint.host),
        ("dbPort", endpoint.port),
        ("dbUser", endpoint.user),
        ("instanceId", endpoint.instance_id),
    ):
        if value is not None:
            body[key] = value
    if endpoint.password is not None and resolve is not None:
        body["dbPass"] = resolve(endpoint.password)
    return body


def config_body(spec: TaskSpec, resolve: SecretResolver | None = None) -> dict[str, Any]:
    """ConfigArgs for `POST /v1/task/{id}/config`, with `api.config` deep-merged in last."""
    body: dict[str, Any] = {
        "type": spec.type,
        "taskName": spec.name,
        "dataType": list(spec.data_type),
        "srcConnection": connection(spec.src, resolve),
        "dstConnection": connection(spec.dst, resolve),
        "schemaMapping": [
            {"type": o.type, "src": o.src, "dst": o.dst if o.dst is not None else o.src, "where": o.where or ""}
            for o in spec.objects
        ],
        "granularity": spec.granularity,
    }
    if spec.init_position is not None:
        body["initPosition"] = {"type": spec.init_position.type, "position": spec.init_position.position}
    return deep_merge(body, spec.api.config) if spec.api.config else body  # a fresh dict either way


def secret_names(spec: TaskSpec) -> list[str]:
    """Every secret reference a task needs to be configured (checked before any request is sent)."""
    return [e.password for e in (spec.src, spec.dst) if e.password is not None]
