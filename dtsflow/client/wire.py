"""How a manifest task becomes DTS request bodies (exact JSON names of the API documentation's field tables).

Pure functions. The password is resolved through a callback only when a config request is built for
sending; with `resolve=None` the body carries no `dbPass` at all (what plans and diffs use).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dtsflow.client.reverse import ROLLBACK_CREATE_FIELD, ROLLBACK_CREATE_VALUE
from dtsflow.manifest.model import Endpoint, ObjectMapping, TaskSpec, top_level_instance_type

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


MANAGED_TAG_KEY = "managed-by"
MANAGED_TAG_VALUE = "dtsflow"


def managed_tags() -> list[dict[str, str]]:
    """The tag dtsflow binds to every task it creates (`bindTags`), and to a task it adopts."""
    return [{"tagKey": MANAGED_TAG_KEY, "tagValue": MANAGED_TAG_VALUE}]


def cross_region_tag(spec: TaskSpec) -> int:
    return spec.cross_region_tag if spec.cross_region_tag is not None else spec.derived_cross_region_tag


def create_body(spec: TaskSpec) -> dict[str, Any]:
    """CreateDtsArgs: billing and endpoint kinds; the rest of the task arrives with config.

    The top level takes only `bcerds` or `public`; the manifest's detailed type goes into `orderInfo` only.
    """
    src, dst = spec.ends()
    body: dict[str, Any] = {
        "productType": spec.product_type,
        "type": spec.type,
        "standard": spec.standard,
        "sourceInstanceType": top_level_instance_type(src.instance_type),
        "targetInstanceType": top_level_instance_type(dst.instance_type),
        "crossRegionTag": cross_region_tag(spec),
        "directionType": spec.direction_type,
        "orderInfo": {
            "src": {"instanceType": src.instance_type, "dbType": src.db_type, "region": src.region},
            "dst": {"instanceType": dst.instance_type, "dbType": dst.db_type, "region": dst.region},
        },
        "bindTags": managed_tags(),
    }
    if spec.reverse is not None:  # a one-click reverse pair
        body[ROLLBACK_CREATE_FIELD] = ROLLBACK_CREATE_VALUE
    return deep_merge(body, spec.api.create) if spec.api.create else body  # a fresh dict either way


def connection(endpoint: Endpoint, resolve: SecretResolver | None) -> dict[str, Any]:
    """Connection JSON; only set fields are sent, and `dbPass` only when a resolver is given.

    `instanceType` is the top-level type (`bcerds`/`public`), as on create.
    """
    body: dict[str, Any] = {
        "instanceType": top_level_instance_type(endpoint.instance_type),
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
    src, dst = spec.ends()
    body: dict[str, Any] = {
        "type": spec.type,
        "taskName": spec.name,
        "dataType": list(spec.data_types()),
        "srcConnection": connection(src, resolve),
        "dstConnection": connection(dst, resolve),
        "schemaMapping": [
            {"type": o.type, "src": o.src, "dst": o.dst if o.dst is not None else o.src, "where": o.where or ""}
            for o in spec.objects
        ],
        "granularity": spec.granularity,
    }
    if spec.init_position is not None:
        body["initPosition"] = {"type": spec.init_position.type, "position": spec.init_position.position}
    _filters(spec, body)
    return deep_merge(body, spec.api.config) if spec.api.config else body  # a fresh dict either way


DML_CODES = {"insert": "I", "update": "U", "delete": "D"}
"""The DML filter on the wire: `sqlType` of the destination connection, e.g. `I,U,D`."""
DDL_ORDER = ("drop", "truncate")
"""The special DDL filter on the wire: `incrIgnoreType`, e.g. `drop,truncate`."""


def sql_type(kinds: Sequence[str]) -> str:
    """`sqlType` of a DML filter: its codes in the documented order (`I,U,D`), each once."""
    return ",".join(code for kind, code in DML_CODES.items() if kind in kinds)


def column_filter(tables: Mapping[str, Sequence[str]]) -> str:
    """`field_whitelist` / `field_blacklist`: `db.table[col,col];` for each table, as the documentation writes it."""
    return "".join(f"{table}[{','.join(columns)}];" for table, columns in tables.items())


def _filters(spec: TaskSpec, body: dict[str, Any]) -> None:
    """The config options the manifest models beyond the connections and objects, each only when set."""
    if spec.columns is not None and spec.columns.include:
        body["srcConnection"]["field_whitelist"] = column_filter(spec.columns.include)
    if spec.columns is not None and spec.columns.exclude:
        body["srcConnection"]["field_blacklist"] = column_filter(spec.columns.exclude)
    if spec.dml is not None:
        body["dstConnection"]["sqlType"] = sql_type(spec.dml)
    if spec.ignore_ddl is not None:
        body["incrIgnoreType"] = ",".join(kind for kind in DDL_ORDER if kind in spec.ignore_ddl)
    if spec.queue_type is not None:
        body["queueType"] = spec.queue_type
    if spec.net_type is not None:
        body["netType"] = spec.net_type


def _mapping(objects: list[ObjectMapping], *, swap: bool = False) -> list[dict[str, str]]:
    out = []
    for o in objects:
        src, dst = o.src, o.dst if o.dst is not None else o.src
        if swap:
            src, dst = dst, src
        out.append({"type": o.type, "src": src, "dst": dst, "where": o.where or ""})
    return out


def rollback_config_body(spec: TaskSpec, resolve: SecretResolver | None = None) -> dict[str, Any]:
    """`newRollback/config` of a task with `reverse:`: the forward direction as `config_body` describes it, and
    the way back with the ends swapped, its own dataType, objects (the forward ones swapped by default) and DML
    filter, `reverse.config` deep-merged into it."""
    assert spec.reverse is not None, "only a task with reverse: is a pair"
    forward = config_body(spec, resolve)
    forward.pop("taskName")
    back_objects = spec.reverse.objects
    src, dst = spec.ends()
    back: dict[str, Any] = {
        "type": spec.type,
        "dataType": list(spec.reverse.data_type),
        "srcConnection": connection(dst, resolve),
        "dstConnection": connection(src, resolve),
        "schemaMapping": _mapping(back_objects) if back_objects is not None else _mapping(spec.objects, swap=True),
        "granularity": spec.granularity,
    }
    if spec.reverse.dml is not None:
        back["dstConnection"]["sqlType"] = sql_type(spec.reverse.dml)
    if spec.reverse.config:
        back = deep_merge(back, spec.reverse.config)
    return {"taskName": spec.name, "openRollbackConfig": "true", "dtsTaskPos": forward, "dtsTaskNeg": back}


def switch_position(spec: TaskSpec) -> dict[str, str] | None:
    """The position the switched-to direction starts from (`reverse.position`), None = the latest."""
    if spec.reverse is None or spec.reverse.position is None:
        return None
    return {"type": spec.reverse.position.type, "position": spec.reverse.position.position}


def secret_names(spec: TaskSpec) -> list[str]:
    """Every secret reference a task needs to be configured (checked before any request is sent)."""
    return [e.password for e in (spec.src, spec.dst) if e is not None and e.password is not None]
