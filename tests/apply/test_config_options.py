"""The config options the manifest models (column, DML and DDL filters, queueType, netType): sent as the API
documents them, stored and returned by the emulator, and diffed, against plain answers and the variants."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apply.conftest import REALISM_MODES, Env, task


@pytest.fixture(params=REALISM_MODES)
def realism(request: pytest.FixtureRequest) -> str:
    return str(request.param)


OPTIONS: dict[str, Any] = {
    "objects": [{"type": "table", "src": "shop.orders"}, {"type": "db", "src": "crm"}],
    "columns": {"include": {"shop.orders": ["id", "total"]}, "exclude": {"crm.people": ["ssn"]}},
    "dml": ["insert", "update"],
    "ignoreDdl": ["truncate"],
    "queueType": "q1",
    "netType": "vpc",
}


def test_options_are_sent_stored_and_diffed(env: Env) -> None:
    first = env.apply(env.write([task("orders", state="ready", **OPTIONS)]), "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    live = env.by_name()["orders"]
    assert live["srcConnection"]["field_whitelist"] == "shop.orders[id,total];"
    assert live["srcConnection"]["field_blacklist"] == "crm.people[ssn];"
    assert live["dstConnection"]["sqlType"] == "I,U"
    assert (live["incrIgnoreType"], live["queueType"], live["netType"]) == ("truncate", "q1", "vpc")
    again = env.cli("plan", env.write([task("orders", state="ready", **OPTIONS)]))
    assert "No changes." in again.stdout, again.stdout + again.stderr

    changed = env.write([task("orders", state="ready", **{**OPTIONS, "dml": ["insert"]})])
    plan = env.cli("plan", changed)
    assert "dstConnection.sqlType" in plan.stdout and '"I,U" -> "I"' in plan.stdout, plan.stdout

    bare = env.write([task("orders", state="ready", objects=OPTIONS["objects"])])  # every filter removed
    removed = env.apply(bare, "--auto-approve")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "srcConnection.field_whitelist" in removed.stdout
    live = env.by_name()["orders"]
    assert not live["srcConnection"].get("field_whitelist") and not live["dstConnection"].get("sqlType")
    assert not live.get("incrIgnoreType")
    assert "No changes." in env.cli("plan", bare).stdout
