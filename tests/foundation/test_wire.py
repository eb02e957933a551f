"""How a loaded manifest task becomes request bodies (the field mapping; never a password without asking),
and messages for literal fields that must not suggest quoting a number."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtsflow.client.wire import config_body, create_body, deep_merge, secret_names
from dtsflow.errors import ManifestError
from dtsflow.manifest.load import load_manifests
from dtsflow.manifest.model import TaskSpec

TASK = """version: 1
tasks:
  - name: orders
    standard: XLarge
    src: {{instanceType: bcerds, dbType: mysql, region: bj, instanceId: rds-a, user: u,
          password: "{{{{ secret('SRC_PW') }}}}"}}
    dst: {{instanceType: {dst_type}, dbType: mysql, region: {dst_region}, {dst_where}}}
    dataType: [schema, base, increment]
    objects:
      - {{type: table, src: shop.orders, where: "id > 0"}}
      - {{type: table, src: shop.items, dst: copy.items}}
    columns: {{include: {{shop.orders: [id, total]}}, exclude: {{shop.items: [secret, notes]}}}}
    dml: [update, insert]
    ignoreDdl: [truncate, drop]
    queueType: kafka
    netType: vpc
    initPosition: {{type: binlog, position: "mysql-bin.000001:4"}}
    api:
      create: {{orderInfo: {{src: {{zone: a}}}}}}
      config: {{srcConnection: {{dbServer: s1}}, admin: x}}
{extra}"""


def load(tmp_path: Path, **fields: str) -> TaskSpec:
    values = {"dst_type": "bcerds", "dst_region": "gz", "dst_where": "instanceId: rds-b", "extra": ""} | fields
    path = tmp_path / "t.yaml"
    path.write_text(TASK.format(**values))
    return load_manifests([str(path)]).tasks["orders"]


@pytest.mark.parametrize(
    ("dst_type", "dst_region", "dst_where", "tag"),
    [
        ("bcerds", "gz", "instanceId: rds-b", 1),  # both bcerds, regions differ
        ("bcerds", "bj", "instanceId: rds-b", 0),  # same region
        ("public", "gz", "host: h, port: 3306", 0),  # not both bcerds
    ],
)
def test_cross_region_tag_is_derived(tmp_path: Path, dst_type: str, dst_region: str, dst_where: str, tag: int) -> None:
    task = load(tmp_path, dst_type=dst_type, dst_region=dst_region, dst_where=dst_where)
    assert task.cross_region_tag is None
    assert create_body(task)["crossRegionTag"] == tag


DETAILED = {
    "bcerds": "bcerds", "bcedocdb": "bcerds", "bcescs": "bcerds", "bceddc": "bcerds", "bcegaiadb": "bcerds",
    "public": "public", "bceet": "public", "bcebcc": "public", "bcebbc": "public", "bcedcc": "public",
    "bcegateway": "public",
}  # fmt: skip


@pytest.mark.parametrize(("detailed", "top"), sorted(DETAILED.items()))
def test_top_level_type_is_bcerds_or_public_and_the_detailed_one_goes_to_order_info(
    tmp_path: Path, detailed: str, top: str
) -> None:
    cloud = top == "bcerds"
    where = "instanceId: x-1" if cloud else "host: h, port: 3306"
    task = load(tmp_path, dst_type=detailed, dst_where=where)
    body = create_body(task)
    assert body["targetInstanceType"] == top and body["orderInfo"]["dst"]["instanceType"] == detailed
    assert config_body(task)["dstConnection"]["instanceType"] == top
    assert body["crossRegionTag"] == (1 if cloud else 0)  # src is bcerds in bj, dst in gz


def test_scs_to_scs_across_regions_is_cross_region(tmp_path: Path) -> None:
    path = tmp_path / "scs.yaml"
    path.write_text(
        "version: 1\ntasks:\n  - name: cache\n    standard: large\n    dataType: [base]\n    granularity: instance\n"
        "    src: {instanceType: bcescs, dbType: redis, region: bj, instanceId: scs-a}\n"
        "    dst: {instanceType: bcescs, dbType: redis, region: gz, instanceId: scs-b}\n"
    )
    body = create_body(load_manifests([str(path)]).tasks["cache"])
    assert (body["sourceInstanceType"], body["targetInstanceType"], body["crossRegionTag"]) == ("bcerds", "bcerds", 1)


def test_an_explicit_cross_region_tag_that_agrees_is_accepted(tmp_path: Path) -> None:
    task = load(tmp_path, extra="    crossRegionTag: 1\n")
    assert create_body(task)["crossRegionTag"] == 1


def test_create_body_uses_the_api_names(tmp_path: Path) -> None:
    assert create_body(load(tmp_path)) == {
        "productType": "postpay",
        "type": "migration",
        "standard": "xlarge",
        "sourceInstanceType": "bcerds",
        "targetInstanceType": "bcerds",
        "crossRegionTag": 1,
        "directionType": "single",
        "orderInfo": {
            "src": {"instanceType": "bcerds", "dbType": "mysql", "region": "bj", "zone": "a"},  # api.create merged
            "dst": {"instanceType": "bcerds", "dbType": "mysql", "region": "gz"},
        },
        "bindTags": [{"tagKey": "managed-by", "tagValue": "dtsflow"}],  # what dtsflow creates is marked as its own
    }


def test_config_body_maps_connection_fields_and_holds_no_password_unless_resolved(tmp_path: Path) -> None:
    task = load(tmp_path, dst_type="public", dst_region="bj", dst_where="host: kafka.internal, port: 9092")
    body = config_body(task)
    assert body == {
        "type": "migration",
        "taskName": "orders",
        "dataType": ["schema", "base", "increment"],
        "srcConnection": {
            "instanceType": "bcerds",
            "dbType": "mysql",
            "region": "bj",
            "dbUser": "u",
            "instanceId": "rds-a",
            "field_whitelist": "shop.orders[id,total];",  # columns.include, as the API documents it
            "field_blacklist": "shop.items[secret,notes];",  # columns.exclude
            "dbServer": "s1",  # api.config merged
        },
        "dstConnection": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "dbHost": "kafka.internal",
            "dbPort": 9092,
            "sqlType": "I,U",  # dml, in the documented order
        },
        "schemaMapping": [
            {"type": "table", "src": "shop.orders", "dst": "shop.orders", "where": "id > 0"},
            {"type": "table", "src": "shop.items", "dst": "copy.items", "where": ""},
        ],
        "granularity": "dbtb",
        "initPosition": {"type": "binlog", "position": "mysql-bin.000001:4"},
        "incrIgnoreType": "drop,truncate",  # ignoreDdl
        "queueType": "kafka",
        "netType": "vpc",
        "admin": "x",  # api.config merged
    }
    asked: list[str] = []
    resolved = config_body(task, resolve=lambda ref: asked.append(ref) or "pw-value")
    assert asked == ["${secret:SRC_PW}"] and secret_names(task) == ["${secret:SRC_PW}"]
    assert resolved["srcConnection"]["dbPass"] == "pw-value" and "dbPass" not in resolved["dstConnection"]
    assert "dbPass" not in body["srcConnection"]


def test_deep_merge_copies_and_lets_extra_win() -> None:
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    extra = {"a": {"b": 2}, "d": {"e": 1}}
    merged = deep_merge(base, extra)
    assert merged == {"a": {"b": 2, "c": [1]}, "d": {"e": 1}}
    merged["a"]["c"].append(2)
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("version: 2", "$.version: must be 1"),  # a number is expected: no advice to quote it
        ("version: 1\ntasks: []\nprune: {prefix: 7}", "$.prune.prefix: must be a string (YAML read the unquoted"),
    ],
)
def test_literal_messages_suggest_quotes_only_for_strings(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(line + "\n")
    with pytest.raises(ManifestError) as info:
        load_manifests([str(path)])
    messages = [d.message for d in info.value.diagnostics]
    shown = [str(d) for d in info.value.diagnostics]
    assert any(message in s for s in shown), shown
    if message.endswith("must be 1"):
        assert messages == ["must be 1"]
