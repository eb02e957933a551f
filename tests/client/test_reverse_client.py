"""The client's one-click reverse family and delay readers, against the emulator over HTTP (the emulator's clock
is driven by hand, so "caught up" is a statement, not a sleep)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.reverse import Direction
from dtsflow.client.wire import create_body, rollback_config_body, switch_position
from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.errors import ApiError, ConfigError
from dtsflow.manifest.model import TaskSpec

PASSWORD = "CANARY-reverse-pw-55"


def pair_spec(**reverse: Any) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "orders-pair",
            "standard": "large",
            "src": {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "10.0.0.1", "port": 3306,
                    "user": "reader", "password": "${secret:PW}"},
            "dst": {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "10.0.0.2", "port": 3306,
                    "user": "writer", "password": "${secret:PW}"},
            "dataType": ["schema", "base", "increment"],
            "objects": [{"type": "table", "src": "shop.orders", "dst": "shop.orders_v2"}],
            "reverse": {"dml": ["insert", "update"], **reverse},
        }
    )  # fmt: skip


@pytest.fixture
def served() -> Iterator[tuple[RunningEmulator, HttpDtsClient, ManualClock]]:
    clock = ManualClock()
    with start_in_thread(time_scale=1.0, clock=clock) as emu:
        with HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key), trust_env=False) as client:
            yield emu, client, clock


def test_the_pair_bodies_swap_the_ends_and_carry_the_dml_filter() -> None:
    spec = pair_spec()
    assert create_body(spec)["rollback"] == "1"
    body = rollback_config_body(spec, lambda ref: PASSWORD)
    back = body["dtsTaskNeg"]
    assert body["openRollbackConfig"] == "true" and body["taskName"] == "orders-pair"
    assert back["srcConnection"]["dbHost"] == "10.0.0.2" and back["dstConnection"]["dbHost"] == "10.0.0.1"
    assert back["dstConnection"]["sqlType"] == "I,U" and back["dataType"] == ["increment"]
    assert back["schemaMapping"] == [{"type": "table", "src": "shop.orders_v2", "dst": "shop.orders", "where": ""}]
    assert "taskName" not in body["dtsTaskPos"] and body["dtsTaskPos"]["srcConnection"]["dbHost"] == "10.0.0.1"
    assert "dbPass" not in str(rollback_config_body(spec))  # no resolver: no password at all
    assert switch_position(spec) is None
    at = pair_spec(position={"type": "timestamp", "position": "2026-11-29T10:00:00Z"})
    assert switch_position(at) == {"type": "timestamp", "position": "2026-11-29T10:00:00Z"}


def test_a_pair_through_the_client(served: tuple[RunningEmulator, HttpDtsClient, ManualClock]) -> None:
    emu, client, clock = served
    spec = pair_spec()
    dts_id = client.create_task(create_body(spec), client_token="pair-token-1")
    assert dts_id.startswith("dtsr")
    client.rollback_config(dts_id, rollback_config_body(spec, lambda ref: PASSWORD))
    client.precheck(dts_id)
    assert client.get_rollback_precheck(dts_id).items == []  # still checking
    clock.advance(3)
    checks = client.get_rollback_precheck(dts_id)
    assert checks.forward and checks.reverse and all(i.name.startswith("reverse:") for i in checks.items[-1:])
    client.start(dts_id)
    clock.advance(10)
    live = {t.dts_id: t for t in client.list_tasks()}[dts_id]
    assert live.is_pair and live.direction is Direction.FORWARD and live.delay is not None and live.delay >= 55
    assert client.rollback_delay(dts_id) == live.delay

    client.switch(dts_id, {"type": "binlog", "position": "mysql-bin.000002:4"})
    assert client.get_task(dts_id).direction is Direction.REVERSED
    clock.advance(25)
    assert client.rollback_delay(dts_id) <= 3
    client.switch(dts_id)
    assert client.get_task(dts_id).direction is Direction.FORWARD
    assert PASSWORD not in str(emu.engine.dump())


def test_the_client_refuses_a_bad_switch_position_before_sending(
    served: tuple[RunningEmulator, HttpDtsClient, ManualClock],
) -> None:
    emu, client, _clock = served
    with pytest.raises(ConfigError):
        client.switch("dtsrwhatever", {"type": "scn", "position": "1"})
    assert emu.stats["total"] == 0
    plain = client.create_task(create_body(pair_spec().model_copy(update={"reverse": None})), client_token="plain-1")
    with pytest.raises(ApiError) as refused:
        client.rollback_delay(plain)
    assert refused.value.code == "InvalidParameter"


def test_a_switch_whose_answer_is_lost_is_not_sent_again(
    served: tuple[RunningEmulator, HttpDtsClient, ManualClock],
) -> None:
    """A repeated switch switches back: after a dropped answer the client raises instead of retrying."""
    emu, client, clock = served
    spec = pair_spec()
    dts_id = client.create_task(create_body(spec), client_token="pair-token-2")
    client.rollback_config(dts_id, rollback_config_body(spec, lambda ref: PASSWORD))
    client.precheck(dts_id)
    clock.advance(3)
    client.start(dts_id)
    emu.set_faults({"drop_response": {"rollback": 1}})
    with pytest.raises(ApiError):
        client.switch(dts_id)
    assert emu.stats["requests"]["rollback"] == 1
    assert client.get_task(dts_id).direction is Direction.REVERSED  # it landed once, and only once
    emu.set_faults({"fail_next": {"rollback": {"count": 1, "status": 429, "code": "RequestLimitExceeded"}}})
    client.switch(dts_id)  # refused unread: that one is retried
    assert client.get_task(dts_id).direction is Direction.FORWARD
