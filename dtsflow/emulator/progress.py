"""Progress numbers of a task (`runningTime`, `subStatus`, `dynamicInfo`), computed from stored timestamps.

A task's `_run` record holds real (wall-clock) seconds: `schema` and `base` are the lengths of the structure and
full-data phases, `acc` the running time accumulated before the current run segment, `since` the start of the
current segment (None when not running) and `until` when that segment ends by itself (base load done for a
full-only task, or a run failure). Everything shown is derived from these and the current time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any


def new_run(*, scale: float, schema_s: float, base_s: float) -> dict[str, Any]:
    return {"scale": scale, "schema": schema_s, "base": base_s, "acc": 0.0, "since": None, "until": None}


def elapsed(run: Mapping[str, Any], now: float) -> float:
    """Real seconds this task has spent running, up to `now`."""
    acc = float(run.get("acc") or 0.0)
    since = run.get("since")
    if since is None:
        return acc
    until = run.get("until")
    end = now if until is None else min(now, float(until))
    return acc + max(0.0, end - float(since))


def load_seconds(run: Mapping[str, Any]) -> float:
    return float(run.get("schema") or 0.0) + float(run.get("base") or 0.0)


@lru_cache(maxsize=65536)
def _rows(dts_id: str, obj: str) -> int:
    """A stable, plausible row count for one migrated object."""
    digest = hashlib.sha256(f"{dts_id}/{obj}".encode()).digest()
    return 1000 + int.from_bytes(digest[:4], "big") % 99000


def _iso(ts: float) -> str:
    return _iso_second(int(ts))


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _phase(fraction: float, started: bool) -> str:
    if fraction >= 1.0:
        return "finished"
    return "running" if started and fraction > 0.0 else "waiting"


@dataclass(frozen=True, slots=True)
class Lag:
    """How the replication delay of a running increment is shown (emulated seconds).

    It begins at `start` when the incremental phase begins (`since`, real clock seconds; None = when the load
    ended) and falls linearly over `catch_up` to a steady 0-3 s; `extra` (the `lag_s` fault) is added on top."""

    start: float = 60.0
    catch_up: float = 20.0
    extra: int = 0
    since: float | None = None


def catch_up_delay(dts_id: str, age: float, emulated_now: float, lag: Lag) -> int:
    """The delay `age` emulated seconds after the incremental phase began, before any injected extra."""
    steady = (_rows(dts_id, "lag") + int(emulated_now / 10)) % 4  # small and slowly varying
    if lag.catch_up <= 0 or age >= lag.catch_up:
        return steady
    return max(steady, math.ceil(lag.start * (1.0 - age / lag.catch_up)))


def dynamic_info(
    doc: Mapping[str, Any], status: str, now: float, lag: Lag = Lag()
) -> tuple[dict[str, Any], list[dict[str, str]], int]:
    """(`dynamicInfo`, `subStatus`, `runningTime`) of a task at `now`."""
    run: Mapping[str, Any] = doc.get("_run") or {}
    data_type: Sequence[str] = doc.get("dataType") or []
    mapping: Sequence[Mapping[str, Any]] = doc.get("schemaMapping") or []
    objects = [str(m.get("src") or "") for m in mapping] or ["*"]
    dts_id = str(doc.get("dtsId") or "")
    scale = float(run.get("scale") or 1.0) or 1.0
    schema_s = float(run.get("schema") or 0.0)
    base_s = float(run.get("base") or 0.0)
    ran = elapsed(run, now) if run else 0.0
    running = run.get("since") is not None and (run.get("until") is None or now < float(run["until"]))

    if not run:  # never started: nothing loaded yet
        schema_fraction = base_fraction = 0.0
    else:
        schema_fraction = 1.0 if schema_s <= 0 else min(1.0, ran / schema_s)
        base_fraction = 1.0 if base_s <= 0 else max(0.0, min(1.0, (ran - schema_s) / base_s))
    info: dict[str, Any] = {}
    sub: dict[str, str] = {"s": "", "b": "", "i": ""}
    if "schema" in data_type:
        count = len(objects)
        left = max(0.0, schema_s - ran)
        info["schema"] = [
            {
                "current": str(int(count * schema_fraction)),
                "count": str(count),
                "speed": str(round(count / (schema_s / scale), 2)) if running and left > 0 else "0",
                "expectFinishTime": _iso(now + left) if running and left > 0 else "",
            }
        ]
        sub["s"] = _phase(schema_fraction, bool(run) and ran > 0)
    if "base" in data_type:
        rows = []
        left = max(0.0, schema_s + base_s - ran)
        for obj in objects:
            count = _rows(dts_id, obj)
            rows.append(
                {
                    "current": str(int(count * base_fraction)),
                    "count": str(count),
                    "speed": str(int(count / (base_s / scale))) if running and 0 < left < base_s + 1e-9 else "0",
                    "expectFinishTime": _iso(now + left) if running and left > 0 else "",
                }
            )
        info["base"] = rows
        sub["b"] = _phase(base_fraction, bool(run) and ran > schema_s)
    if "increment" in data_type:
        load_done = ran >= schema_s + base_s and bool(run)
        if running and load_done:
            since = lag.since if lag.since is not None else now - (ran - schema_s - base_s)
            age = max(0.0, now - since) / scale  # emulated seconds since the incremental phase began
            delay = catch_up_delay(dts_id, age, now / scale, lag) + lag.extra
            sync = "running"
        elif load_done:
            paused_at = float(run.get("stoppedAt") or now)
            delay = int(max(0.0, now - paused_at) / scale)
            sync = "stopped"
        elif running:
            delay, sync = int(lag.start) + lag.extra, "waiting"  # the backlog the incremental phase will catch up
        else:
            delay, sync = 0, "waiting"
        ticks = int(max(0.0, ran - schema_s - base_s) / scale)
        info["increment"] = {
            "delay": delay,
            "position": f"mysql-bin.{1 + ticks // 3600:06d}:{4 + (ticks % 3600) * 1024}",
            "syncStatus": sync,
        }
        sub["i"] = sync if load_done else "waiting"
    return info, [sub], int(ran / scale)
