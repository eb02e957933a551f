"""The one-click reverse pair in the emulator: its record, how it is shown, configured, prechecked and switched.

A pair is one stored task (the `dtsr...` main task) with a `_pair` record: the ids of its two directions, the
reverse direction's configuration, which direction is live and since when. The main task's status machine is
the ordinary one; what the service leaves open (the directions' statuses, what the switch does) follows the
choices of `dtsflow.client.reverse`, which the client and the planner read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dtsflow.client.reverse import (
    IDLE_DIRECTION_STATUS,
    ROLLBACK_CREATE_VALUE,
    SWITCH_POSITION_TYPES,
)
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.emulator import precheck as checks
from dtsflow.emulator.failures import ApiFailure, invalid

POS, NEG = "pos", "neg"


def wants_pair(body: Mapping[str, Any]) -> bool:
    """Whether a create body asks for a one-click reverse pair (`"rollback": "1"`; the number 1 is read alike)."""
    value = body.get("rollback")
    if value is None or value == "":
        return False
    if str(value) != ROLLBACK_CREATE_VALUE:
        raise invalid(f"rollback must be {ROLLBACK_CREATE_VALUE!r} (a one-click reverse task) or left out")
    return True


def new_record(pos_id: str, neg_id: str) -> dict[str, Any]:
    return {"posId": pos_id, "negId": neg_id, "live": POS, "since": None, "started": False, "neg": None}


def is_pair(doc: Mapping[str, Any]) -> bool:
    return bool(doc.get("_pair"))


def require_pair(doc: Mapping[str, Any], dts_id: str) -> dict[str, Any]:
    record = doc.get("_pair")
    if not record:
        raise ApiFailure(400, "InvalidParameter", f"The task {dts_id} is not a one-click reverse task")
    return dict(record)


def lag_since(doc: Mapping[str, Any]) -> float | None:
    """When the live direction's incremental phase began, for a pair that has been switched (else None)."""
    record = doc.get("_pair") or {}
    since = record.get("since")
    return float(since) if since is not None else None


def direction_statuses(record: Mapping[str, Any], status: str) -> tuple[str, str]:
    """(forward, reverse) statuses: both the main status until the pair first started; then the live direction
    shows the main status and the idle one `stopped`."""
    if not record.get("started"):
        return status, status
    live, idle = status, IDLE_DIRECTION_STATUS
    return (live, idle) if record.get("live") == POS else (idle, live)


def _direction_view(
    doc: Mapping[str, Any], record: Mapping[str, Any], side: str, status: str, info: Mapping[str, Any]
) -> dict[str, Any]:
    neg: Mapping[str, Any] = record.get("neg") or {}
    source = doc if side == POS else neg
    live = record.get("live") == side
    return {
        "dtsId": record["posId"] if side == POS else record["negId"],
        "taskName": doc.get("taskName", ""),
        "status": status,
        "dataType": source.get("dataType", []),
        "srcConnection": source.get("srcConnection", {}),
        "dstConnection": source.get("dstConnection", {}),
        "schemaMapping": source.get("schemaMapping", []),
        "dynamicInfo": dict(info) if live else {},
    }


def decorate(view: dict[str, Any], doc: Mapping[str, Any]) -> None:
    """Add the pair's fields (`dtsIdPos`, `dtsIdNeg`, `dtsTaskPos`, `dtsTaskNeg`) to the main task's view."""
    record = doc.get("_pair")
    if not record:
        return
    pos_status, neg_status = direction_statuses(record, str(view["status"]))
    info = view.get("dynamicInfo") or {}
    view["dtsIdPos"] = record["posId"]
    view["dtsIdNeg"] = record["negId"]
    view["dtsTaskPos"] = _direction_view(doc, record, POS, pos_status, info)
    view["dtsTaskNeg"] = _direction_view(doc, record, NEG, neg_status, info)


def neg_items(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """The reverse direction's precheck items (its own connections: the forward ends swapped)."""
    record = doc.get("_pair") or {}
    neg = record.get("neg") or {}
    return checks.build_items(neg)


def on_start(doc: dict[str, Any]) -> None:
    record = doc.get("_pair")
    if record:
        record["started"] = True


def switch(doc: dict[str, Any], status: str, now: float, body: Mapping[str, Any], dts_id: str) -> dict[str, Any]:
    """`POST /v1/task/{id}/rollback`: pause the live direction, start the other from the position (or the latest)."""
    record = doc.get("_pair")
    if not record:
        raise ApiFailure(400, "InvalidParameter", f"The task {dts_id} is not a one-click reverse task")
    if status not in RUNNING_STATUSES:
        raise ApiFailure(
            400,
            "InvalidInstanceStatus",
            f"The task {dts_id} is in status {status}; rollback is allowed only while the task runs",
        )
    params = body.get("updateParams")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApiFailure(400, "InappropriateJSON", "updateParams must be an object")
    position = params.get("position")
    if position not in (None, {}):
        if not isinstance(position, dict):
            raise ApiFailure(400, "InappropriateJSON", "updateParams.position must be an object")
        kind = str(position.get("type") or "")
        if kind not in SWITCH_POSITION_TYPES:
            raise invalid(f"updateParams.position.type must be one of {', '.join(SWITCH_POSITION_TYPES)}")
        if not str(position.get("position") or ""):
            raise invalid("updateParams.position.position is required with a position type")
    record["live"] = NEG if record.get("live") == POS else POS
    record["since"] = now
    record["started"] = True
    record["position"] = position or {}
    return {"success": True, "result": {}}
