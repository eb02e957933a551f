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
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from dtsflow.emulator import machine as m
from dtsflow.emulator import precheck as checks
from dtsflow.emulator.durations import Durations
from dtsflow.emulator.failures import ApiFailure, bad_status, invalid, not_found
from dtsflow.emulator.progress import dynamic_info, elapsed, load_seconds, new_run
from dtsflow.emulator.store import Store, dumps
from dtsflow.statuses import RUNNING_STATUSES
from dtsflow.statuses import TaskStatus as S

STANDARDS = frozenset({"small", "medium", "large", "xlarge", "samll"})  # "Samll" [sic] is in the Go SDK docs
DATA_TYPES = frozenset({"schema", "base", "increment"})
OBJECT_TYPES = frozenset({"", "db", "table", "view", "function", "procedure"})  # "" = a Go zero value
SECRET_KEYS = frozenset({"dbpass", "password", "passwd"})
# config keys kept as the task's own fields; anything else in a config body is kept too and shown on read
_CONFIG_SKIP = frozenset({"dtsId"})
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        self.store = store
        self.time_scale = time_scale
        self.durations = durations or Durations()
        self._dedupe_tokens = dedupe_tokens
        self._token_ttl_s = token_ttl_s
        self.clock = clock

    def configure_tokens(self, *, dedupe: bool, ttl_s: float) -> None:
        """Switch `clientToken` de-duplication and set how long a token is remembered (a fault knob)."""
        self._dedupe_tokens = lambda: dedupe
        self._token_ttl_s = lambda: ttl_s

    def _seconds(self, emulated: float) -> float:
        return emulated * self.time_scale

    # ---- reading -------------------------------------------------------------------------------------------

    def view(self, doc: Mapping[str, Any], now: float) -> dict[str, Any]:
        """The task as the API shows it (DtsTaskMeta); internal `_` fields and passwords never leave."""
        status = m.status_at(doc["_timeline"], now)
        info, sub, running_time = dynamic_info(doc, status, now)
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
        }
        for key, value in (doc.get("_extra") or {}).items():
            out.setdefault(key, value)
        return out

    def get(self, dts_id: str) -> dict[str, Any]:
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        return self.view(doc, self.clock())

    def get_precheck(self, dts_id: str) -> dict[str, Any]:
        doc = self.store.read(lambda c: Store.get(c, dts_id, shared=True))
        if doc is None:
            raise not_found(dts_id)
        record = doc.get("_precheck")
        if not record or self.clock() < float(record["readyAt"]):
            return {"success": True, "result": []}
        return {"success": True, "result": record["items"]}

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
        now = self.clock()

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
        return {
            "marker": marker,
            "maxKeys": max_keys,
            "isTruncated": bool(next_marker),
            "nextMarker": next_marker,
            "task": tasks,
        }

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
        now = self.clock()

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
        if product.lower() != "postpay":
            raise invalid(f"productType {product!r} is not supported; use postpay")
        if standard.lower() not in STANDARDS:
            raise invalid(f"standard {standard!r} is not one of small, medium, large, xlarge")
        cross = _int(body, "crossRegionTag", 0)
        if cross not in (0, 1):
            raise invalid("crossRegionTag must be 0 or 1")
        direction = _text(body, "directionType") or "single"
        order = _object(body, "orderInfo")
        src_order: dict[str, Any] = order["src"] if isinstance(order.get("src"), dict) else {}
        dst_order: dict[str, Any] = order["dst"] if isinstance(order.get("dst"), dict) else {}
        if len(client_token) > 64 or not client_token.isascii():
            raise invalid("clientToken must be at most 64 ASCII characters")
        digest = _digest(body)
        now = self.clock()
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
            dts_id = Store.new_id(conn)
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
                "_timeline": [[S.UN_CONFIG, now]],
                "_createdAt": now,
                "_token": client_token,
            }
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
            now = self.clock()
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
        data_type = [str(x) for x in _list(body, "dataType")]
        unknown = [x for x in data_type if x not in DATA_TYPES]
        if unknown:
            raise invalid(f"dataType has unknown values {unknown}; allowed: schema, base, increment")
        src, dst = _object(body, "srcConnection"), _object(body, "dstConnection")
        _port(src, "srcConnection")
        _port(dst, "dstConnection")
        mapping = []
        for index, item in enumerate(_list(body, "schemaMapping")):
            if not isinstance(item, dict):
                raise ApiFailure(400, "InappropriateJSON", f"schemaMapping[{index}] must be an object")
            if str(item.get("type") or "") not in OBJECT_TYPES:
                raise invalid(f"schemaMapping[{index}].type must be one of db, table, view, function, procedure")
            mapping.append(dict(item))
        granularity = _text(body, "granularity")
        if granularity not in ("", "instance", "dbtb"):
            raise invalid("granularity must be instance or dbtb")
        init = _object(body, "initPosition")

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            doc["taskName"] = task_name
            doc["dataType"] = data_type
            for key, given in (("srcConnection", src), ("dstConnection", dst)):
                merged = {k: v for k, v in doc.get(key, {}).items() if k in ("instanceType", "dbType", "region")}
                merged.update({k: v for k, v in given.items() if v is not None})
                doc[key] = merged
            doc["schemaMapping"] = mapping
            doc["granularity"] = granularity
            doc["initPosition"] = {"type": str(init.get("type") or ""), "position": str(init.get("position") or "")}
            known = {"type", "taskName", "dataType", "srcConnection", "dstConnection", "schemaMapping"}
            known |= {"granularity", "initPosition"} | _CONFIG_SKIP
            doc["_extra"] = {k: v for k, v in body.items() if k not in known and v not in (None, "")}
            doc["_precheck"] = None
            if checks.trigger_in(doc, checks.CONFIG_FAIL_TRIGGER):
                doc["_errmsg"] = f"configuration failed: a host contains '{checks.CONFIG_FAIL_TRIGGER}' (emulated)"
                doc["_timeline"] = [[S.CONFIG_FAILED, now]]
            else:
                doc["_errmsg"] = ""
                doc["_timeline"] = [[S.READY, now]]
            return {"dtsId": dts_id}

        result: dict[str, Any] = self._mutate(dts_id, "config", change)
        return result

    def precheck(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            items = checks.build_items(doc)
            done = now + self._seconds(self.durations.precheck)
            outcome = S.CHECK_FAILED if any(i["status"] == "failed" for i in items) else S.CHECK_PASS
            doc["_precheck"] = {"items": items, "readyAt": done}
            doc["_timeline"] = [[S.CHECKING, now], [outcome, done]]
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "precheck", change)
        return result

    def skip_precheck(self, dts_id: str) -> dict[str, Any]:
        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> dict[str, Any]:
            items = (doc.get("_precheck") or {}).get("items") or []
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
            timeline: list[list[Any]] = [[S.RUNNING, now]]
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
            self._close_run(doc, now)
            done = now + self._seconds(self.durations.shutdown)
            doc["_shutdownAt"] = done
            doc["_timeline"] = [[status, now], [S.FINISHED, done]]
            return dict(_OK)

        result: dict[str, Any] = self._mutate(dts_id, "shutdown", change)
        return result

    def delete(self, dts_id: str) -> dict[str, Any]:
        self._mutate(dts_id, "delete", lambda doc, status, now, conn: _DELETED)
        return dict(_OK)

    def rename(self, dts_id: str, body: Mapping[str, Any]) -> None:
        name = _text(body, "taskName", required=True)

        def change(doc: dict[str, Any], status: str, now: float, conn: sqlite3.Connection) -> None:
            doc["taskName"] = name

        self._mutate(dts_id, "rename", change, check=False)

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
        now = self.clock()

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
        now = self.clock()
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
