"""The DTS operations: request bodies in, response bodies out, state in the `Store`.

Every mutation is one `BEGIN IMMEDIATE` transaction that reads the task, derives its status at this moment from
its timeline (`machine.status_at`), checks the allowed-from rule and writes the new timeline. Nothing runs in
the background: asynchronous steps are future timeline entries, so their outcome is decided when the action is
taken and becomes visible when its time comes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from dtsflow.client.reverse import PAIR_ID_PREFIX
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.client.statuses import TaskStatus as S
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.emulator import machine as m
from dtsflow.emulator import pair, realism
from dtsflow.emulator import precheck as checks
from dtsflow.emulator.durations import Durations
from dtsflow.emulator.failures import ApiFailure, bad_status, invalid, not_found
from dtsflow.emulator.progress import Lag, dynamic_info, elapsed, load_seconds, new_run
from dtsflow.emulator.store import Store, dumps

STANDARDS = frozenset({"small", "medium", "large", "xlarge", "samll"})  # "Samll" [sic] is in the Go SDK docs
TOP_LEVEL_INSTANCE_TYPES = frozenset({"bcerds", "public"})  # the detailed type travels in orderInfo only
DATA_TYPES = frozenset({"schema", "base", "increment"})
OBJECT_TYPES = frozenset({"", "db", "table", "view", "function", "procedure"})  # "" = a Go zero value
SECRET_KEYS = frozenset({"dbpass", "password", "passwd"})
# config keys kept as the task's own fields; anything else in a config body is kept too and shown on read
_CONFIG_SKIP = frozenset({"dtsId"})
# Statuses of a task that has never been started (with no run behind it): the variants refuse to shut it down.
NEVER_STARTED = frozenset({S.UN_CONFIG, S.READY, S.CHECK_PASS, S.CHECK_FAILED, S.CONFIG_FAILED})
DEFAULT_MAX_KEYS = 10
MAX_MAX_KEYS = 1000
_OK: dict[str, Any] = {"result": {}, "success": True}
_DELETED = object()  # sentinel: the change removed the task


def strip_secrets(value: Any) -> Any:
    """A copy without any password field, at any depth: the emulator never stores a password."""
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items() if str(k).lower() not in SECRET_KEYS}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be a string")
    if required and not value.strip():
        raise invalid(f"{key} is required")
    return value


def _int(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be an integer") from None


def _tags(value: Any, key: str) -> list[dict[str, str]]:
    """A list of `{"tagKey", "tagValue"}` objects (`bindTags` of create, `tags` of tag/assign)."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be a list")
    tags: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("tagKey"), str) or not item["tagKey"].strip():
            raise invalid(f"every item of {key} needs a non-empty tagKey")
        tag_value = item.get("tagValue", "")
        if not isinstance(tag_value, str):
            raise ApiFailure(400, "InappropriateJSON", f"{key}[].tagValue must be a string")
        tags.append({"tagKey": item["tagKey"], "tagValue": tag_value})
    return tags


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be an object")
    return dict(value)


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise ApiFailure(400, "InappropriateJSON", f"{key} must be an array")
    return list(value)


def _port(conn: dict[str, Any], end: str) -> None:
    port = conn.get("dbPort")
    if port is None or port == "":
        return
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise invalid(f"{end}.dbPort must be a port number") from None
    if not 0 <= number <= 65535:
        raise invalid(f"{end}.dbPort must be between 0 and 65535")
    conn["dbPort"] = number


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _parse_flow(body: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """The fields of one direction's configuration (ConfigArgs, or `dtsTaskPos`/`dtsTaskNeg` of a pair)."""
    data_type = [str(x) for x in _list(body, "dataType")]
    unknown = [x for x in data_type if x not in DATA_TYPES]
    if unknown:
        raise invalid(f"{where}dataType has unknown values {unknown}; allowed: schema, base, increment")
    src, dst = _object(body, "srcConnection"), _object(body, "dstConnection")
    _port(src, f"{where}srcConnection")
    _port(dst, f"{where}dstConnection")
    mapping = []
    for index, item in enumerate(_list(body, "schemaMapping")):
        if not isinstance(item, dict):
            raise ApiFailure(400, "InappropriateJSON", f"{where}schemaMapping[{index}] must be an object")
        if str(item.get("type") or "") not in OBJECT_TYPES:
            raise invalid(f"{where}schemaMapping[{index}].type must be one of db, table, view, function, procedure")
        mapping.append(dict(item))
    granularity = _text(body, "granularity")
    if granularity not in ("", "instance", "dbtb"):
        raise invalid(f"{where}granularity must be instance or dbtb")
    known = {"type", "taskName", "dataType", "srcConnection", "dstConnection", "schemaMapping"}
    known |= {"granularity", "initPosition"} | _CONFIG_SKIP
    return {
        "dataType": data_type,
        "srcConnection": src,
        "dstConnection": dst,
        "mapping": mapping,
        "granularity": granularity,
        "init": _object(body, "initPosition"),
        "extra": {k: v for k, v in body.items() if k not in known and v not in (None, "")},
    }


def _configure(doc: dict[str, Any], task_name: str, flow: Mapping[str, Any], now: float) -> None:
    """Store a (forward) configuration on the task; it reads `ready`, or `configFailed` for a `config-fail` host."""
    doc["taskName"] = task_name
    doc["dataType"] = flow["dataType"]
    for key in ("srcConnection", "dstConnection"):
        merged = {k: v for k, v in doc.get(key, {}).items() if k in ("instanceType", "dbType", "region")}
        merged.update({k: v for k, v in flow[key].items() if v is not None})
        doc[key] = merged
    doc["schemaMapping"] = flow["mapping"]
    doc["granularity"] = flow["granularity"]
    init = flow["init"]
    doc["initPosition"] = {"type": str(init.get("type") or ""), "position": str(init.get("position") or "")}
    doc["_extra"] = dict(flow["extra"])
    doc["_precheck"] = None
    if checks.trigger_in(doc, checks.CONFIG_FAIL_TRIGGER):
        doc["_errmsg"] = f"configuration failed: a host contains '{checks.CONFIG_FAIL_TRIGGER}' (emulated)"
        doc["_timeline"] = [[S.CONFIG_FAILED, now]]
    else:
        doc["_errmsg"] = ""
        doc["_timeline"] = [[S.READY, now]]


class Engine:
    """The emulated service. Thread-safe: all shared state lives in the store."""

    def __init__(
        self,
        store: Store,
        *,
        time_scale: float = 1.0,
        durations: Durations | None = None,
        dedupe_tokens: Callable[[], bool] = lambda: True,
        token_ttl_s: Callable[[], float] = lambda: 24 * 3600.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        self.store = store
        self.time_scale = time_scale
        self.durations = durations or Durations()
        self._dedupe_tokens = dedupe_tokens
        self._token_ttl_s = token_ttl_s
        self._lag_s: Callable[[str], float] = lambda name: 0.0
        self.clock = clock
        self.variants = False  # `--realism variants` (dtsflow.emulator.realism)

    def configure_realism(self, mode: str) -> None:
        """`plain` (one tidy shape) or `variants` (every shape the documentation leaves open; see realism.py)."""
        self.variants = realism.check_mode(mode) == "variants"

    def configure_tokens(self, *, dedupe: bool, ttl_s: float) -> None:
        """Switch `clientToken` de-duplication and set how long a token is remembered (a fault knob)."""
        self._dedupe_tokens = lambda: dedupe
        self._token_ttl_s = lambda: ttl_s

    def configure_lag(self, lag_s: Callable[[str], float]) -> None:
        """Extra replication delay (emulated seconds) by task name, added while its increment runs (a fault knob)."""
        self._lag_s = lag_s

    def _lag(self, doc: Mapping[str, Any]) -> Lag:
        return Lag(
            start=self.durations.lag_start,
            catch_up=self.durations.catch_up,
            extra=int(self._lag_s(str(doc.get("taskName") or ""))),
            since=pair.lag_since(doc),
        )

    def _seconds(self, emulated: float) -> float:
        return emulated * self.time_scale

    # ---- reading -------------------------------------------------------------------------------------------

    def view(self, doc: Mapping[str, Any], now: float) -> dict[str, Any]:
        """The task as the API shows it (DtsTaskMeta); internal `_` fields and passwords never leave."""
        status = m.status_at(doc["_timeline"], now)
        info, sub, running_time = dynamic_info(doc, status, now, self._lag(doc))
        out: dict[str, Any] = {
            "dtsId": doc["dtsId"],
            "taskName": doc.get("taskName", ""),
            "status": status,
            "dataType": doc.get("dataType", []),
            "region": doc.get("region", ""),
            "createTime": doc.get("createTime", ""),
            "srcConnection": doc.get("srcConnection", {}),
            "dstConnection": doc.get("dstConnection", {}),
            "schemaMapping": doc.get("schemaMapping", []),
            "runningTime": running_time,
            "subStatus": sub,
            "dynamicInfo": info,
            "errmsg": doc.get("_errmsg", "") if status in (S.RUN_FAILED, S.CONFIG_FAILED) else "",
            "granularity": doc.get("granularity", ""),
            "subDataScope": {"startTime": "", "endTime": ""},
            "payInfo": doc.get("payInfo", {}),
            "lockStatus": "unlock",
            "initPosition": doc.get("initPosition", {"type": "", "position": ""}),
            "tags": doc.get("tags", []),
        }
        for key, value in (doc.get("_extra") or {}).items():
            out.setdefault(key, value)
        pair.decorate(out, doc)
        return out

    def get(self, dts_id: str) -> dict[str, Any]:
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        view = self.view(doc, self.clock.now())
        return realism.show_task(view) if self.variants else view

    def get_precheck(self, dts_id: str) -> dict[str, Any]:
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        record = doc.get("_precheck")
        if not record or self.clock.now() < float(record["readyAt"]):
            return {"success": True, "result": []}
        return {"success": True, "result": record["items"]}

    def get_rollback_precheck(self, dts_id: str) -> dict[str, Any]:
        """`GET /v1/task/{id}/rollback/precheck`: the pair's check items, forward and reverse."""
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        pair.require_pair(doc, dts_id)
        record = doc.get("_precheck")
        if not record or self.clock.now() < float(record["readyAt"]):
            return {"success": True, "result": {"posCheckResults": [], "negCheckResults": []}}
        return {
            "success": True,
            "result": {"posCheckResults": record["items"], "negCheckResults": record.get("negItems") or []},
        }

    def rollback_check(self, dts_id: str) -> dict[str, Any]:
        """`POST /v1/task/{id}/newRollbackCheck`: the live direction's delay, as text (seconds)."""
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        record = pair.require_pair(doc, dts_id)
        view = self.view(doc, self.clock.now())
        increment = (view.get("dynamicInfo") or {}).get("increment") or {}
        live_id = record["posId"] if record.get("live") == pair.POS else record["negId"]
        return {"success": True, "result": {"data": [{"dtsId": live_id, "delay": str(increment.get("delay", 0))}]}}

    def switch(self, dts_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/task/{id}/rollback`: switch the pair's live direction (see `pair.switch`)."""

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            if doc.get("_shutdownAt"):
                raise bad_status(dts_id, "rollback", status, "shutdown in progress")
            return pair.switch(doc, status, now, body, dts_id)

        result: dict[str, Any] = self._mutate(dts_id, "rollback", change, check=False)
        return result

    def list_tasks(self, body: Mapping[str, Any]) -> dict[str, Any]:
        kind = _text(body, "type")
        wanted_status = body.get("status") or ""
        statuses = (
            set(wanted_status) if isinstance(wanted_status, list) else {s for s in str(wanted_status).split(",") if s}
        )
        marker = _text(body, "marker")
        max_keys = _int(body, "maxKeys", DEFAULT_MAX_KEYS)
        max_keys = DEFAULT_MAX_KEYS if max_keys <= 0 else min(max_keys, MAX_MAX_KEYS)
        keyword, keyword_type = _text(body, "keyword"), _text(body, "keywordType") or "taskName"
        now = self.clock.now()

        def page(conn: Any) -> tuple[list[dict[str, Any]], str]:
            found: list[dict[str, Any]] = []
            for doc in Store.scan(conn, types=[kind] if kind else None, after=marker):
                view = self._match(doc, now, statuses, keyword, keyword_type)
                if view is None:
                    continue
                if len(found) == max_keys:
                    return found, view["dtsId"]
                found.append(view)
            return found, ""

        tasks, next_marker = self.store.read(page)
        answer = {
            "marker": marker,
            "maxKeys": max_keys,
            "isTruncated": bool(next_marker),
            "nextMarker": next_marker,
            "task": tasks,
        }
        return realism.show_list_page(answer) if self.variants else answer

    def _match(
        self, doc: Mapping[str, Any], now: float, statuses: set[str], keyword: str, keyword_type: str
    ) -> dict[str, Any] | None:
        if statuses and m.status_at(doc["_timeline"], now) not in statuses:
            return None
        if keyword:
            if keyword_type == "status":
                field = m.status_at(doc["_timeline"], now)
            elif keyword_type in ("srcConnection.dbType", "dtsConnection.dbType", "dstConnection.dbType"):
                end = "srcConnection" if keyword_type.startswith("src") else "dstConnection"
                field = str((doc.get(end) or {}).get("dbType") or "")
            else:
                field = str(doc.get(keyword_type) or "")
            if not field.startswith(keyword):
                return None
        return self.view(doc, now)

    def list_with_page(self, body: Mapping[str, Any]) -> dict[str, Any]:
        types = [str(t) for t in _list(body, "types") if t]
        filters = [f for f in _list(body, "filters") if isinstance(f, dict)]
        order = (_text(body, "order") or "desc").lower()
        order_by = _text(body, "orderBy") or "createTime"
        if order not in ("asc", "desc") or order_by not in ("dtsId", "taskName", "createTime"):
            raise invalid("order must be asc or desc and orderBy one of dtsId, taskName, createTime")
        page_no = max(1, _int(body, "pageNo", 1))
        page_size = _int(body, "pageSize", 10)
        page_size = 10 if page_size <= 0 else min(page_size, 100)
        now = self.clock.now()

        def collect(conn: Any) -> list[dict[str, Any]]:
            out = []
            for doc in Store.scan(conn, types=types or None):
                view: dict[str, Any] | None = self.view(doc, now)
                for f in filters:
                    kt, kw = str(f.get("keywordType") or "taskName"), str(f.get("keyword") or "")
                    if view is not None and kw:
                        view = self._match(doc, now, set(), kw, kt)
                if view is not None:
                    out.append(view)
            return out

        rows = self.store.read(collect)
        key = "dtsId" if order_by == "createTime" else order_by  # ids sort in creation order
        rows.sort(key=lambda v: str(v.get(key) or ""), reverse=order == "desc")
        start = (page_no - 1) * page_size
        return {
            "orderBy": order_by,
            "order": order,
            "pageNo": page_no,
            "pageSize": page_size,
            "totalCount": len(rows),
            "result": rows[start : start + page_size],
        }

    # ---- create --------------------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any], client_token: str) -> dict[str, Any]:
        body = strip_secrets(dict(body))
        product = _text(body, "productType", required=True)
        kind = _text(body, "type", required=True)
        standard = _text(body, "standard", required=True)
        source = _text(body, "sourceInstanceType", required=True)
        target = _text(body, "targetInstanceType", required=True)
        for key, value in (("sourceInstanceType", source), ("targetInstanceType", target)):
            if value not in TOP_LEVEL_INSTANCE_TYPES:
                raise invalid(
                    f"{key} {value!r} is not supported; use bcerds (a Baidu cloud database) or public "
                    "(any other data store); the detailed type belongs in orderInfo"
                )
        if product.lower() != "postpay":
            raise invalid(f"productType {product!r} is not supported; use postpay")
        if standard.lower() not in STANDARDS:
            raise invalid(f"standard {standard!r} is not one of small, medium, large, xlarge")
        cross = _int(body, "crossRegionTag", 0)
        if cross not in (0, 1):
            raise invalid("crossRegionTag must be 0 or 1")
        direction = _text(body, "directionType") or "single"
        tags = _tags(body.get("bindTags"), "bindTags")
        order = _object(body, "orderInfo")
        src_order: dict[str, Any] = order["src"] if isinstance(order.get("src"), dict) else {}
        dst_order: dict[str, Any] = order["dst"] if isinstance(order.get("dst"), dict) else {}
        if len(client_token) > 64 or not client_token.isascii():
            raise invalid("clientToken must be at most 64 ASCII characters")
        wants_pair = pair.wants_pair(body)
        digest = _digest(body)
        now = self.clock.now()
        dedupe = bool(client_token) and self._dedupe_tokens()

        with self.store.write() as conn:
            if dedupe:
                seen = Store.token(conn, "create", client_token)
                if seen is not None and now - seen[2] <= self._token_ttl_s():
                    if seen[0] != digest:
                        raise ApiFailure(
                            409,
                            "IdempotentParameterMismatch",
                            "The clientToken was already used with a different request body",
                        )
                    return dict(json.loads(seen[1]))
            dts_id = Store.new_id(conn, prefix=PAIR_ID_PREFIX if wants_pair else "dtsm")
            region = str(src_order.get("region") or dst_order.get("region") or "bj")
            doc: dict[str, Any] = {
                "dtsId": dts_id,
                "taskName": "",
                "type": kind,
                "directionType": direction,
                "region": region,
                "createTime": _iso(now),
                "dataType": [],
                "srcConnection": {
                    "instanceType": source,
                    "dbType": str(src_order.get("dbType") or ""),
                    "region": str(src_order.get("region") or ""),
                },
                "dstConnection": {
                    "instanceType": target,
                    "dbType": str(dst_order.get("dbType") or ""),
                    "region": str(dst_order.get("region") or ""),
                },
                "schemaMapping": [],
                "granularity": "",
                "initPosition": {"type": "", "position": ""},
                "payInfo": {
                    "productType": product,
                    "sourceInstanceType": source,
                    "targetInstanceType": target,
                    "crossRegionTag": cross,
                    "createTime": int(now),
                    "standard": standard,
                    "endTime": "",
                },
                "tags": tags,
                "_timeline": [[S.UN_CONFIG, now]],
                "_createdAt": now,
                "_token": client_token,
            }
            if wants_pair:
                doc["_pair"] = pair.new_record(Store.new_id(conn), Store.new_id(conn))
            Store.put(conn, doc)
            result = {"dtsTasks": [{"dtsId": dts_id}]}
            if dedupe:
                Store.put_token(conn, "create", client_token, digest, dumps(result), now)
        return result

    # ---- actions on one task -------------------------------------------------------------------------------

    def _mutate(
        self,
        dts_id: str,
        action: str,
        change: Callable[[dict[str, Any], str, float, sqlite3.Connection], Any],
        *,
        check: bool = True,
    ) -> Any:
        """Run `change(doc, status, now, conn)` on the task inside one write transaction; save the doc it modifies."""
        with self.store.write() as conn:
            doc = Store.get(conn, dts_id)
            if doc is None:
                raise not_found(dts_id)
            now = self.clock.now()
            status = m.status_at(doc["_timeline"], now)
            if check:
                allowed = m.ALLOWED_FROM[action]
                if doc.get("_shutdownAt") and status != S.FINISHED and action != "shutdown":
                    raise bad_status(dts_id, action, status, "shutdown in progress")
                if status not in allowed:
                    raise bad_status(dts_id, action, status)
            result = change(doc, status, now, conn)
            if result is _DELETED:
                Store.remove(conn, dts_id)
                return None
            doc["_timeline"] = m.settle(doc["_timeline"], now)
            Store.put(conn, doc)
            return result

    @staticmethod
    def _close_run(doc: dict[str, Any], now: float) -> None:
        """End the current run segment at `now` (or when it ended by itself), keeping the time it ran."""
        run = doc.get("_run")
        if not run or run.get("since") is None:
            return
        run["acc"] = elapsed(run, now)
        until = run.get("until")
        run["stoppedAt"] = now if until is None else min(now, float(until))
        run["since"] = None
        run["until"] = None

    def config(self, dts_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = strip_secrets(dict(body))
        task_name = _text(body, "taskName", required=True)
        flow = _parse_flow(body)

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            if pair.is_pair(doc):
                raise invalid(f"{dts_id} is a one-click reverse task; configure it with newRollback/config")
            _configure(doc, task_name, flow, now)
            return {"dtsId": dts_id}

        result: dict[str, Any] = self._mutate(dts_id, "config", change)
        return result

    def rollback_config(self, dts_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/task/{id}/newRollback/config`: both directions of a pair (`dtsTaskPos`, `dtsTaskNeg`)."""
        body = strip_secrets(dict(body))
        task_name = _text(body, "taskName", required=True)
        if str(body.get("openRollbackConfig") or "").lower() != "true":
            raise invalid('openRollbackConfig must be "true"')
        forward = _parse_flow(_object(body, "dtsTaskPos"), "dtsTaskPos.")
        back = _parse_flow(_object(body, "dtsTaskNeg"), "dtsTaskNeg.")
        if not back["dataType"]:
            raise invalid("dtsTaskNeg.dataType is required")

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            record = pair.require_pair(doc, dts_id)
            _configure(doc, task_name, forward, now)
            record["neg"] = {
                "dataType": back["dataType"],
                "srcConnection": back["srcConnection"],
                "dstConnection": back["dstConnection"],
                "schemaMapping": back["mapping"],
                "granularity": back["granularity"],
                "extra": back["extra"],
            }
            doc["_pair"] = record
            return {"dtsId": dts_id}

        result: dict[str, Any] = self._mutate(dts_id, "config", change)
        return result

    def precheck(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            items = checks.build_items(doc)
            back = pair.neg_items(doc) if pair.is_pair(doc) else []
            done = now + self._seconds(self.durations.precheck)
            outcome = S.CHECK_FAILED if any(i["status"] == "failed" for i in items + back) else S.CHECK_PASS
            doc["_precheck"] = {"items": items, "negItems": back, "readyAt": done}
            doc["_timeline"] = [[S.CHECKING, now], [outcome, done]]
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "precheck", change)
        return result

    def skip_precheck(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            record = doc.get("_precheck") or {}
            items = (record.get("items") or []) + (record.get("negItems") or [])
            if not any(i.get("status") == "failed" for i in items):
                raise bad_status(dts_id, "skipPrecheck", status, "no failed check item to skip")
            doc["_timeline"] = [[S.CHECK_PASS, now]]
            return {"success": True, "result": ""}

        result: dict[str, Any] = self._mutate(dts_id, "skipPrecheck", change)
        return result

    def start(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            self._close_run(doc, now)
            run = doc.get("_run")
            data_type = doc.get("dataType") or []
            if not run:
                run = new_run(
                    scale=self.time_scale,
                    schema_s=self._seconds(self.durations.schema_load) if "schema" in data_type else 0.0,
                    base_s=self._seconds(self.durations.base_load) if "base" in data_type else 0.0,
                )
                doc["_run"] = run
            run["since"] = now
            run["stoppedAt"] = None
            pair.on_start(doc)
            # The variants show `initRunning` until the full load is done (or the whole run, without increment).
            first = S.INIT_RUNNING if self.variants else S.RUNNING
            timeline: list[list[Any]] = [[first, now]]
            if checks.trigger_in(doc, checks.RUN_FAIL_TRIGGER):
                until = now + self._seconds(self.durations.run_failure)
                timeline.append([S.RUN_FAILED, until])
                run["until"] = until
                doc["_errmsg"] = (
                    f"replication failed: lost connection to the database (a host contains "
                    f"'{checks.RUN_FAIL_TRIGGER}'; emulated)"
                )
            elif "increment" not in data_type:
                until = now + max(0.0, load_seconds(run) - float(run.get("acc") or 0.0))
                timeline.append([S.FINISHED, until])
                run["until"] = until
                doc["_errmsg"] = ""
            else:
                run["until"] = None
                doc["_errmsg"] = ""
                if self.variants:
                    timeline.append([S.RUNNING, now + max(0.0, load_seconds(run) - float(run.get("acc") or 0.0))])
            doc["_timeline"] = timeline
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "start", change)
        return result

    def pause(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            self._close_run(doc, now)
            doc["_timeline"] = [[S.STOPPING, now], [S.STOPPED, now + self._seconds(self.durations.pause)]]
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "pause", change)
        return result

    def shutdown(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            if doc.get("_shutdownAt"):
                return dict(_OK)  # already shutting down: the same answer, the same finish time
            if self.variants and not doc.get("_run") and status in NEVER_STARTED:
                raise bad_status(dts_id, "shutdown", status, "the task never started; delete it instead")
            self._close_run(doc, now)
            done = now + self._seconds(self.durations.shutdown)
            doc["_shutdownAt"] = done
            doc["_timeline"] = [[status, now], [S.FINISHED, done]]
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "shutdown", change)
        return result

    def delete(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> object:
            never_started = self.variants and not doc.get("_run") and status in NEVER_STARTED
            if status not in m.ALLOWED_FROM["delete"] and not never_started:
                raise bad_status(dts_id, "delete", status)
            return _DELETED

        # The variants delete a never-started task directly (as Terraform does); the allowed-from check is here.
        self._mutate(dts_id, "delete", change, check=not self.variants)
        return dict(_OK)

    def rename(self, dts_id: str, body: Mapping[str, Any]) -> None:
        name = _text(body, "taskName", required=True)

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> None:
            doc["taskName"] = name

        self._mutate(dts_id, "rename", change, check=False)

    def assign_tags(self, body: Mapping[str, Any]) -> None:
        """`PUT /v1/task/tag/assign`: each resource's tags become exactly the given list."""
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            raise invalid("resources must be a non-empty list")
        for resource in resources:
            if not isinstance(resource, dict):
                raise ApiFailure(400, "InappropriateJSON", "resources[] must be objects")
            dts_id = _text(resource, "resourceId", required=True)
            tags = _tags(resource.get("tags"), "tags")

            def change(
                doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection, tags: Any = tags
            ) -> None:
                doc["tags"] = tags

            self._mutate(dts_id, "assignTags", change, check=False)

    def resize(self, dts_id: str, body: Mapping[str, Any], client_token: str) -> dict[str, Any]:
        standard = _text(body, "standard", required=True)
        if standard.lower() not in STANDARDS:
            raise invalid(f"standard {standard!r} is not one of small, medium, large, xlarge")
        dedupe = bool(client_token) and self._dedupe_tokens()

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            kind = f"resize:{dts_id}"
            if dedupe:
                seen = Store.token(conn, kind, client_token)
                if seen is not None and now - seen[2] <= self._token_ttl_s():
                    return dict(json.loads(seen[1]))
            doc["payInfo"] = {**doc.get("payInfo", {}), "standard": standard}
            result = {"orderId": str(secrets.randbelow(9 * 10**13) + 10**13)}
            if dedupe:
                Store.put_token(conn, kind, client_token, _digest(body), dumps(result), now)
            return result

        result: dict[str, Any] = self._mutate(dts_id, "resize", change)
        return result

    # ---- admin ---------------------------------------------------------------------------------------------

    def dump(self) -> list[dict[str, Any]]:
        """Every task as the API shows it plus its internal record (timeline, run, precheck); no password."""
        now = self.clock.now()

        def everything(conn: Any) -> list[dict[str, Any]]:
            out = []
            for doc in Store.scan(conn, types=None):
                view = self.view(doc, now)
                view["_internal"] = {k: v for k, v in doc.items() if k.startswith("_")}
                out.append(view)
            return out

        result: list[dict[str, Any]] = self.store.read(everything)
        return result

    def seed(self, specs: Iterable[Mapping[str, Any]]) -> list[str]:
        """Insert ready-made tasks (test fixtures) in one transaction; each keeps its status until an action.

        A spec holds any DtsTaskMeta fields (`taskName`, `type`, `dataType`, connections, `schemaMapping`,
        `standard`, ...) plus `status` (default `unConfig`) and optional `precheckItems`.
        """
        now = self.clock.now()
        ids: list[str] = []
        with self.store.write() as conn:
            for raw in specs:
                spec = strip_secrets(dict(raw))
                errmsg = str(spec.pop("errmsg", "") or "")
                status = str(spec.pop("status", S.UN_CONFIG) or S.UN_CONFIG)
                if status not in m.KNOWN_STATUSES:
                    raise invalid(f"unknown status {status!r}")
                dts_id = Store.new_id(conn)
                standard = str(spec.pop("standard", "large"))
                items = spec.pop("precheckItems", None)
                doc: dict[str, Any] = {
                    "dtsId": dts_id,
                    "taskName": "",
                    "type": "migration",
                    "directionType": "single",
                    "region": "bj",
                    "createTime": _iso(now),
                    "dataType": [],
                    "srcConnection": {},
                    "dstConnection": {},
                    "schemaMapping": [],
                    "granularity": "",
                    "initPosition": {"type": "", "position": ""},
                    "payInfo": {
                        "productType": "postpay",
                        "sourceInstanceType": str((spec.get("srcConnection") or {}).get("instanceType") or "public"),
                        "targetInstanceType": str((spec.get("dstConnection") or {}).get("instanceType") or "public"),
                        "crossRegionTag": 0,
                        "createTime": int(now),
                        "standard": standard,
                        "endTime": "",
                    },
                }
                doc.update({k: v for k, v in spec.items() if not k.startswith("_") and k != "dtsId"})
                if status in RUNNING_STATUSES | {S.STOPPED, S.RUN_FAILED, S.FINISHED}:
                    run = new_run(
                        scale=self.time_scale,
                        schema_s=self._seconds(self.durations.schema_load) if "schema" in doc["dataType"] else 0.0,
                        base_s=self._seconds(self.durations.base_load) if "base" in doc["dataType"] else 0.0,
                    )
                    if status in RUNNING_STATUSES:
                        run["since"] = now
                    else:
                        run["acc"] = load_seconds(run)
                        run["stoppedAt"] = now
                    doc["_run"] = run
                if items is None and status in (S.CHECK_FAILED, S.CHECK_PASS):
                    items = checks.build_items(doc)
                    if status == S.CHECK_FAILED and not any(i["status"] == "failed" for i in items):
                        items[0] = {**items[0], "status": "failed", "message": "cannot connect (seeded failure)"}
                if items is not None:
                    doc["_precheck"] = {"items": list(items), "readyAt": now}
                if status in (S.RUN_FAILED, S.CONFIG_FAILED):
                    doc["_errmsg"] = errmsg or f"{status} (seeded)"
                doc["_timeline"] = [[status, now]]
                doc["_createdAt"] = now
                Store.put(conn, doc)
                ids.append(dts_id)
        return ids
