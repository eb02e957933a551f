"""Normalised comparison of a manifest task with its live task. Pure; the password is never compared or shown.

What is compared is what would be sent: `wire.create_body(spec)` and `wire.config_body(spec)` (without a
resolver, so no `dbPass`), flattened to JSON paths. Normalisation: enum-like values compare case-insensitively,
numbers compare with their string forms (`"3306"` == `3306`), `""`/missing/null are the same, `dataType` is a
set, `schemaMapping` an unordered list whose `dst` defaults to `src`.

A field the live task does not return (missing or empty) is not compared: the API fills in defaults and may
omit fields, and we cannot tell drift from omission. A field the manifest does not set is not in the body,
so it is not compared either. `api.config` overrides are part of the config body and follow the same rule.

Fields the API cannot change in place (`REPLACE_PATHS`) need a replacement; `standard` a resize; anything else
a reconfigure.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from dtsflow.live import SECRET_FIELDS, LiveTask
from dtsflow.manifest import TaskSpec
from dtsflow.plan import FieldDiff
from dtsflow.wire import config_body, create_body

# Paths of the create/config bodies that the API cannot change on an existing task.
REPLACE_PATHS = (
    "type",
    "productType",
    "sourceInstanceType",
    "targetInstanceType",
    "directionType",
    "crossRegionTag",
    "srcConnection.instanceType",
    "srcConnection.dbType",
    "srcConnection.region",
    "dstConnection.instanceType",
    "dstConnection.dbType",
    "dstConnection.region",
)
# Not compared: the task is matched by this name.
IGNORED_PATHS = frozenset({"taskName"})
# Leaf names whose values are enum-like: compared case-insensitively.
CASELESS_LEAVES = frozenset(
    {"type", "productType", "sourceInstanceType", "targetInstanceType", "directionType", "instanceType"}
    | {"dbType", "region", "granularity", "standard"}
)
# Live fields that change on their own (progress, timers): never part of a fingerprint.
VOLATILE_FIELDS = frozenset(
    {
        "dynamicInfo",
        "runningTime",
        "subStatus",
        "sdkRealtimeProgress",
        "errmsg",
        "lockStatus",
        "dtsTaskPos",
        "dtsTaskNeg",
        "progress",
        "updateTime",
    }
)
VOLATILE_PAY_FIELDS = frozenset({"createTime", "endTime"})


@dataclass(frozen=True)
class ConfigDiff:
    """How a live task differs from its manifest task, split by what it takes to fix it."""

    replace: list[FieldDiff] = field(default_factory=list)
    reconfigure: list[FieldDiff] = field(default_factory=list)
    resize: FieldDiff | None = None

    @property
    def empty(self) -> bool:
        return not self.replace and not self.reconfigure and self.resize is None


def live_document(task: LiveTask) -> dict[str, Any]:
    """The live task as the API returned it (API names, only fields it sent, never a password)."""
    doc: dict[str, Any] = task.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return doc


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """JSON paths of every leaf; lists are leaves (compared as a whole)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _lookup(doc: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _scalar(value: Any, caseless: bool) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return text.lower() if caseless else text
    return value


def _schema_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return _scalar(entry, False)
    src = _scalar(entry.get("src"), False)
    out = {k: _normalise(k, v) for k, v in entry.items() if k not in {"src", "dst"}}
    out["src"] = src
    out["dst"] = _scalar(entry.get("dst"), False) or src
    return {k: v for k, v in out.items() if v is not None}


def _normalise(path: str, value: Any) -> Any:
    """A comparable form of one leaf; None means "not set"."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf == "dataType" and isinstance(value, list):
        items = sorted({str(v).strip().lower() for v in value if str(v).strip()})
        return items or None
    if leaf == "schemaMapping" and isinstance(value, list):
        entries = [_schema_entry(e) for e in value]
        return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True)) or None
    if isinstance(value, list):
        items = [_normalise(path, v) for v in value]
        return items or None
    if isinstance(value, dict):
        normal = {k: _normalise(f"{path}.{k}", v) for k, v in value.items()}
        return {k: v for k, v in normal.items() if v is not None} or None
    return _scalar(value, leaf in CASELESS_LEAVES)


def display(value: Any) -> str | None:
    """How a value shows in a plan: JSON, so that strings are quoted and lists readable."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _live_for(path: str, doc: dict[str, Any]) -> Any:
    """The live value for a request-body path; a few create fields live under `payInfo` in the answer."""
    value = _lookup(doc, path)
    if value is None and path in {
        "productType",
        "sourceInstanceType",
        "targetInstanceType",
        "crossRegionTag",
        "standard",
    }:
        value = _lookup(doc, f"payInfo.{path}")
    if value is None and path == "directionType" and (doc.get("dtsIdPos") or doc.get("dtsIdNeg")):
        value = "bidirect"
    return value


def _compare(paths: dict[str, Any], doc: dict[str, Any]) -> list[FieldDiff]:
    diffs: list[FieldDiff] = []
    for path, wanted in sorted(paths.items()):
        if path in IGNORED_PATHS or path.rsplit(".", 1)[-1] in SECRET_FIELDS:
            continue
        live_value = _live_for(path, doc)
        if wanted == live_value:  # the common case, without normalising
            continue
        want = _normalise(path, wanted)
        have = _normalise(path, live_value)
        if want is None or have is None or want == have:
            continue
        if path == "schemaMapping":  # show only the objects that differ, not both whole lists
            only_live = [e for e in have if e not in want] or None
            only_manifest = [e for e in want if e not in have] or None
            have, want = only_live, only_manifest
        diffs.append(FieldDiff(path=path, before=display(have), after=display(want)))
    return diffs


def desired_paths(spec: TaskSpec) -> dict[str, Any]:
    """Every comparable leaf of what create and config would send (no password)."""
    paths = _flatten({k: v for k, v in create_body(spec).items() if k not in {"orderInfo", "standard"}})
    paths.update(_flatten(config_body(spec)))
    return paths


def diff_task(spec: TaskSpec, task: LiveTask, doc: dict[str, Any] | None = None) -> ConfigDiff:
    """Compare a manifest task with its live task; see the module docstring for the rules.

    `doc`: `live_document(task)`, when the caller has it already.
    """
    doc = live_document(task) if doc is None else doc
    paths = desired_paths(spec)
    replace_paths = {p: v for p, v in paths.items() if p in REPLACE_PATHS}
    config_paths = {p: v for p, v in paths.items() if p not in REPLACE_PATHS}
    resize = None
    have = _normalise("standard", _live_for("standard", doc))
    want = _normalise("standard", spec.standard)
    if have is not None and want is not None and have != want:
        resize = FieldDiff(path="standard", before=display(have), after=display(want))
    return ConfigDiff(
        replace=_compare(replace_paths, doc),
        reconfigure=_compare(config_paths, doc),
        resize=resize,
    )


def fingerprint(task: LiveTask | None, doc: dict[str, Any] | None = None) -> str:
    """A hash of a live task's id, status and config (progress left out): what a saved plan was made against.

    `doc`: `live_document(task)`, when the caller has it already.
    """
    if task is None:
        payload: Any = {"absent": True}
    else:
        doc = live_document(task) if doc is None else doc
        config = {k: v for k, v in doc.items() if k not in VOLATILE_FIELDS}
        if isinstance(config.get("payInfo"), dict):
            config["payInfo"] = {k: v for k, v in config["payInfo"].items() if k not in VOLATILE_PAY_FIELDS}
        payload = {"dtsId": task.dts_id, "status": task.status, "config": config}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
