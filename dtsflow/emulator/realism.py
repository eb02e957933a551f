"""`--realism variants`: the emulator answers with the variants the API documentation leaves open.

In `plain` mode (the default) the emulator answers in one tidy shape. In `variants` mode it shows every shape a
client must survive (what a real answer may look like according to the documentation), so that dtsflow's tests
prove dtsflow survives them:

- `null` for every field a task has not set (an unconfigured task carries little more than its id);
- `truncated` instead of `isTruncated` on list pages (the older documentation's name);
- `createTime` as text with a space and no zone (`2026-01-02 03:04:05`, UTC);
- `initRunning` after a start, until the full load is done (then `running`, or `finished` without increment);
- an extra key in each `schemaMapping` entry (`updateFilterRule`), as the service adds when read back;
- an unknown field that changes on every read (`readSerial`);
- the region of a `public` end echoed as `public`;
- `shutdown` refused for a task that never started, which may then be deleted directly (as Terraform does).

Pure functions over the views the engine builds; the engine decides when each applies.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

MODES = ("plain", "variants")
EXTRA_SCHEMA_KEY = ("updateFilterRule", "both")
CHANGING_FIELD = "readSerial"
_serial = itertools.count(1)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"realism must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def _empty(value: Any) -> bool:
    return value in ("", [], {}) or (isinstance(value, dict) and all(_empty(v) or v is None for v in value.values()))


def _connection(conn: Any) -> Any:
    if not isinstance(conn, dict) or not conn:
        return None
    out = {k: (None if _empty(v) else v) for k, v in conn.items()}
    if str(conn.get("instanceType") or "") == "public":
        out["region"] = "public"
    return out


def show_task(view: dict[str, Any]) -> dict[str, Any]:
    """A task view (DtsTaskMeta) as the variants show it."""
    out: dict[str, Any] = {}
    for key, value in view.items():
        if key in ("srcConnection", "dstConnection"):
            out[key] = _connection(value)
        elif key == "schemaMapping" and isinstance(value, list) and value:
            out[key] = [{**entry, EXTRA_SCHEMA_KEY[0]: EXTRA_SCHEMA_KEY[1]} for entry in value]
        elif key == "createTime" and isinstance(value, str) and value:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            out[key] = moment.strftime("%Y-%m-%d %H:%M:%S")
        elif key in ("dtsId", "status"):
            out[key] = value
        else:
            out[key] = None if _empty(value) else value
    out[CHANGING_FIELD] = next(_serial)
    return out


def show_list_page(page: dict[str, Any]) -> dict[str, Any]:
    """A list page with the older flag name and each task as the variants show it."""
    out = {k: v for k, v in page.items() if k not in ("isTruncated", "task")}
    out["truncated"] = bool(page.get("isTruncated"))
    out["task"] = [show_task(t) for t in page.get("task") or []]
    return out
