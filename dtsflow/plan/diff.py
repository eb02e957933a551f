"""Normalised comparison of a manifest task with its live task. Pure; the password is never compared or shown.

What is compared is what would be sent: `wire.create_body(spec)` and `wire.config_body(spec)` (without a
resolver, so no `dbPass`), flattened to JSON paths. Normalisation: enum-like values compare case-insensitively,
numbers compare with their string forms (`"3306"` == `3306`), `""`/missing/null are the same, `dataType` is a
set, `schemaMapping` an unordered list whose `dst` defaults to `src`.

Inside each `schemaMapping` entry only the keys we send are compared (the service adds its own, such as
`updateFilterRule`). The region of a `public` end is not compared (the service may echo it as `public`).

A field the live task does not return (missing or empty) is not compared: the API fills in defaults and may
omit fields, and we cannot tell drift from omission. The filters (`FILTER_PATHS`) are the exception: a filter
the manifest does not set means "no filter", so they are compared when either side has one. A field the manifest does not set is not in the body,
so it is not compared either. `api.config` overrides are part of the config body and follow the same rule.

Fields the API cannot change in place (`REPLACE_PATHS`) need a replacement; `standard` a resize; anything else
a reconfigure.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dtsflow.client.live import SECRET_FIELDS, LiveTask, PrecheckItem
from dtsflow.client.reverse import is_pair_id
from dtsflow.client.wire import config_body, create_body, rollback_config_body
from dtsflow.manifest.model import TOP_LEVEL_OTHER, TaskSpec, top_level_instance_type
from dtsflow.plan.model import FieldDiff

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


@dataclass(frozen=True)
class ConfigDiff:
    """How a live task differs from its manifest task, split by what it takes to fix it."""

    replace: list[FieldDiff] = field(default_factory=list)
    reconfigure: list[FieldDiff] = field(default_factory=list)
    resize: FieldDiff | None = None

    @property
    def empty(self) -> bool:
        return not self.replace and not self.reconfigure and self.resize is None


def live_document(task: LiveTask, parts: frozenset[str] | set[str] | None = None) -> dict[str, Any]:
    """The live task as the API returned it (API names, only fields it sent, never a password).

    `parts`: only these top-level fields (API names), when the caller needs no others: dumping a whole task
    (progress, tags, sub-statuses) for each of thousands of tasks cost more than comparing them."""
    include = None if parts is None else {_field_names().get(part, part) for part in parts}
    doc: dict[str, Any] = task.model_dump(by_alias=True, exclude_unset=True, mode="json", include=include)
    return doc


@functools.cache
def _field_names() -> dict[str, str]:
    """LiveTask's field names by API name (an unknown field is kept under its API name)."""
    return {(f.alias or name): name for name, f in LiveTask.model_fields.items()}


_IDENTITY_PARTS = frozenset({"dtsId", "dtsIdPos", "dtsIdNeg", "dtsTaskNeg"})  # what the comparison reads besides paths


def _flatten(value: Any) -> dict[str, Any]:
    """JSON paths of every leaf; lists are leaves (compared as a whole)."""
    if not isinstance(value, dict):
        return {"": value}
    out: dict[str, Any] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("", value)]
    while stack:  # no recursion and no intermediate dicts: this runs for every task of a plan
        prefix, mapping = stack.pop()
        for key, item in mapping.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, dict):
                stack.append((path, item))
            else:
                out[path] = item
    return out


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


_SCALARS = (str, int, float, bool, type(None))


def _codes(value: Any, order: tuple[str, ...], *, upper: bool) -> Any:
    """A comma list (`I,U` / `drop,truncate`) as a set in a fixed order; None when empty."""
    if not isinstance(value, str):
        return value if value is not None else None
    words = {w.strip().upper() if upper else w.strip().lower() for w in value.split(",") if w.strip()}
    known = [w for w in order if w in words]
    return ",".join(known + sorted(words - set(order))) or None


def _sql_type(value: Any) -> Any:
    """`sqlType`: all three codes is no filter at all."""
    codes = _codes(value, ("I", "U", "D"), upper=True)
    return None if codes == "I,U,D" else codes


def _column_filter(value: Any) -> Any:
    """`db.t[a,b];db.u[c];`: tables and each table's columns compared as sets; None when empty."""
    if not isinstance(value, str):
        return value if value is not None else None
    tables: dict[str, set[str]] = {}
    for entry in value.split(";"):
        table, _, rest = entry.strip().partition("[")
        if table.strip():
            columns = {c.strip() for c in rest.rstrip().rstrip("]").split(",") if c.strip()}
            tables.setdefault(table.strip(), set()).update(columns)
    return "".join(f"{t}[{','.join(sorted(c))}];" for t, c in sorted(tables.items())) or None


FILTER_PATHS: dict[str, Any] = {
    "srcConnection.field_whitelist": _column_filter,
    "srcConnection.field_blacklist": _column_filter,
    "dstConnection.sqlType": _sql_type,
    "incrIgnoreType": lambda value: _codes(value, ("drop", "truncate"), upper=False),
}
"""The filters the manifest models, each with its comparable form. Unlike other fields, a filter the manifest does
not set means "no filter": a live filter is a difference, and so is a missing live one that the manifest sets."""
_FILTER_ROOTS = frozenset(path.split(".", 1)[0] for path in FILTER_PATHS)


@functools.lru_cache(maxsize=1 << 16, typed=True)  # typed: 1 and True are equal keys otherwise
def _normal_scalar(path: str, value: Any) -> Any:
    """`_normalise` of a scalar, remembered: a plan of thousands of tasks normalises the same few values again and
    again (types, regions, hosts, ports)."""
    return _scalar(value, path.rsplit(".", 1)[-1] in CASELESS_LEAVES)


def _normalise(path: str, value: Any) -> Any:
    """A comparable form of one leaf; None means "not set"."""
    if path in FILTER_PATHS:
        return FILTER_PATHS[path](value)
    if type(value) in _SCALARS:
        return _normal_scalar(path, value)
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


_MISSING = object()


def _live_for(path: str, doc: dict[str, Any], flat: dict[str, Any] | None = None, pair: bool | None = None) -> Any:
    """The live value for a request-body path; a few create fields live under `payInfo` in the answer.

    `flat`: `_flatten(doc)`, which answers most paths with one dict look-up (a path that ends inside a list or
    at a whole object is looked up the long way). `pair`: whether the task is a one-click reverse pair, when the
    caller knows it already.
    """
    value = _MISSING if flat is None else flat.get(path, _MISSING)
    if value is _MISSING:
        value = _lookup(doc, path)
    if value is not None:
        return value
    if path in _PAY_INFO_PATHS:
        return _live_for(f"payInfo.{path}", doc, flat, pair)
    if path == "directionType":
        if pair is None:
            pair = is_pair_id(str(doc.get("dtsId") or ""))  # a one-click reverse pair also has dtsIdPos/dtsIdNeg
        if not pair and (doc.get("dtsIdPos") or doc.get("dtsIdNeg")):
            return "bidirect"
    return value


_PAY_INFO_PATHS = frozenset({"productType", "sourceInstanceType", "targetInstanceType", "crossRegionTag", "standard"})


def _sent_keys_only(wanted: Any, live_value: Any) -> Any:
    """Live `schemaMapping` entries cut down to the keys we send (the service adds some, e.g. `updateFilterRule`)."""
    if not isinstance(wanted, list) or not isinstance(live_value, list):
        return live_value
    keys = {k for entry in wanted if isinstance(entry, dict) for k in entry}
    return [{k: v for k, v in e.items() if k in keys} if isinstance(e, dict) else e for e in live_value]


def _live_values(paths: dict[str, Any], doc: dict[str, Any], flat: dict[str, Any]) -> dict[str, Any]:
    """The live value at each desired path (a `schemaMapping` cut down to the keys we send): read once per plan
    of a task, for both the diff and the fingerprint."""
    pair = is_pair_id(str(doc.get("dtsId") or ""))
    values: dict[str, Any] = {}
    for path, wanted in paths.items():
        live_value = _live_for(path, doc, flat, pair)
        if path == "schemaMapping":
            live_value = _sent_keys_only(wanted, live_value)
        values[path] = live_value
    return values


def _compare(
    paths: dict[str, Any], doc: dict[str, Any], flat: dict[str, Any], live: dict[str, Any] | None = None
) -> list[FieldDiff]:
    """The differences at `paths`; `live`: their `_live_values`, when the caller has them."""
    live = _live_values(paths, doc, flat) if live is None else live
    diffs: list[FieldDiff] = []
    for path, wanted in sorted(paths.items()):
        if path in IGNORED_PATHS or path.rsplit(".", 1)[-1] in SECRET_FIELDS:
            continue
        live_value = live[path]
        if wanted == live_value:  # the common case, without normalising
            continue
        want = _normalise(path, wanted)
        have = _normalise(path, live_value)
        if want == have or (path not in FILTER_PATHS and (want is None or have is None)):
            continue
        if path == "schemaMapping":  # show only the objects that differ, not both whole lists
            only_live = [e for e in have if e not in want] or None
            only_manifest = [e for e in want if e not in have] or None
            have, want = only_live, only_manifest
        diffs.append(FieldDiff(path=path, before=display(have), after=display(want)))
    return diffs


PAIR_FIELDS = frozenset({"orderInfo", "standard", "rollback"})  # not compared as paths (see `diff_task`)
REVERSE_PREFIX = "reverse."
"""Paths of the way back (`dtsTaskNeg` of a pair) are shown under this prefix."""


def desired_paths(spec: TaskSpec) -> dict[str, Any]:
    """Every comparable leaf of what create and config would send (no password).

    Not the region of a `public` end: the service may echo it as `public` or any other text, and a self-built
    store has no Baidu region to move; its host and port say where it is.
    """
    paths = _flatten({k: v for k, v in create_body(spec).items() if k not in PAIR_FIELDS})
    paths.update(_flatten(config_body(spec)))
    for end, endpoint in zip(("srcConnection", "dstConnection"), spec.ends(), strict=True):
        if top_level_instance_type(endpoint.instance_type) == TOP_LEVEL_OTHER:
            paths.pop(f"{end}.region", None)
    return paths


def _compared_paths(spec: TaskSpec, doc: dict[str, Any]) -> dict[str, Any]:
    """`desired_paths`, and each live filter the manifest does not set (compared with "none")."""
    return _with_live_filters(desired_paths(spec), doc)


def _with_live_filters(paths: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """`paths` (desired), and each live filter they do not set (compared with "none")."""
    for path in FILTER_PATHS:
        if path not in paths and _normalise(path, _lookup(doc, path)) is not None:
            paths[path] = None
    return paths


def _reverse_diffs(spec: TaskSpec, doc: dict[str, Any]) -> list[FieldDiff]:
    """The way back of a pair: what `newRollback/config` sends as `dtsTaskNeg` against the live `dtsTaskNeg`."""
    live_back = doc.get("dtsTaskNeg")
    if spec.reverse is None or not isinstance(live_back, dict):
        return []
    wanted = _flatten(rollback_config_body(spec)["dtsTaskNeg"])
    wanted.pop("type", None)
    for end, endpoint in zip(("dstConnection", "srcConnection"), spec.ends(), strict=True):  # the ends swapped
        if top_level_instance_type(endpoint.instance_type) == TOP_LEVEL_OTHER:
            wanted.pop(f"{end}.region", None)
    return [
        d.model_copy(update={"path": REVERSE_PREFIX + d.path}) for d in _compare(wanted, live_back, _flatten(live_back))
    ]


def diff_task(spec: TaskSpec, task: LiveTask, doc: dict[str, Any] | None = None) -> ConfigDiff:
    """Compare a manifest task with its live task; see the module docstring for the rules.

    `doc`: `live_document(task)`, when the caller has it already.
    """
    return compare_task(spec, task, doc)[0]


def compare_task(
    spec: TaskSpec, task: LiveTask, doc: dict[str, Any] | None = None
) -> tuple[ConfigDiff, dict[str, Any]]:
    """`diff_task`, and the live values it compared (for `fingerprint`), from one reading of the live task."""
    desired = desired_paths(spec)
    # Only the parts of the live task that a path can reach (not its progress counters): this runs per task.
    reachable = {p.split(".", 1)[0] for p in desired} | _FILTER_ROOTS | {"payInfo", "standard"}
    doc = live_document(task, reachable | _IDENTITY_PARTS) if doc is None else doc
    paths = _with_live_filters(desired, doc)
    replace_paths = {p: v for p, v in paths.items() if p in REPLACE_PATHS}
    config_paths = {p: v for p, v in paths.items() if p not in REPLACE_PATHS}
    flat = _flatten({k: v for k, v in doc.items() if k in reachable})
    live = _live_values(paths, doc, flat)
    resize = None
    live_standard = _normalise("standard", _live_for("standard", doc, flat))
    want = _normalise("standard", spec.standard)
    if live_standard is not None and want is not None and live_standard != want:
        resize = FieldDiff(path="standard", before=display(live_standard), after=display(want))
    replace = _compare(replace_paths, doc, flat, live)
    wants_pair, is_pair = spec.reverse is not None, is_pair_id(task.dts_id)
    if (
        wants_pair != is_pair
    ):  # the pair is made at create (`rollback: "1"`): a task cannot become one, or stop being one
        shown = {True: "one-click reverse pair", False: "single task"}
        replace.append(FieldDiff(path="reverse", before=display(shown[is_pair]), after=display(shown[wants_pair])))
    diff = ConfigDiff(
        replace=replace,
        reconfigure=_compare(config_paths, doc, flat, live) + _reverse_diffs(spec, doc),
        resize=resize,
    )
    return diff, _compared_values(paths, doc, flat, live)


def _compared_values(
    paths: dict[str, Any], doc: dict[str, Any], flat: dict[str, Any] | None = None, live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The live values a plan of these desired paths depends on: every compared path, normalised, and the size.
    `live`: their `_live_values`, when the caller has them."""
    if live is None:
        live = _live_values(paths, doc, _flatten(doc) if flat is None else flat)
    values = {
        # Scalars straight to the remembered normalisation: this runs for every path of every task.
        path: _normal_scalar(path, value)
        if type(value) in _SCALARS and path not in FILTER_PATHS
        else _normalise(path, value)
        for path, value in live.items()
    }
    values["standard"] = _normalise("standard", _live_for("standard", doc, flat))
    return values


def failed_check_names(items: Sequence[PrecheckItem]) -> list[str]:
    """The names of the failed items of a precheck, sorted: what a plan decides on (skip them, or check again)."""
    return sorted({item.name for item in items if item.failed})


def fingerprint(
    task: LiveTask | None,
    spec: TaskSpec | None = None,
    doc: dict[str, Any] | None = None,
    compared: dict[str, Any] | None = None,
    precheck: Sequence[PrecheckItem] = (),
) -> str:
    """A hash of what a plan was made against: the live task's id, name, status and the values it compared.

    With `spec` (a manifest task), the live values at the paths `diff_task` compares; without (a pruned task),
    id, name and status only. Fields the plan does not read (progress, timers, anything the service adds)
    are left out, so a field that changes by itself does not make a saved plan stale.
    `precheck`: the task's check items, when the plan read them (a `checkFailed` task): the names of the failed
    ones are covered, since the plan skips exactly those or checks again.
    `doc`: `live_document(task)`, and `compared`: what `compare_task` returned, when the caller has them already.
    """
    if task is None:
        payload: Any = {"absent": True}
    else:
        payload = {"dtsId": task.dts_id, "status": task.status, "taskName": task.task_name}
        failed = failed_check_names(precheck)
        if failed:  # only then: a plan without failed items keeps the fingerprint it always had
            payload["failedChecks"] = failed
        if compared is not None:
            payload["compared"] = compared
        elif spec is not None and not spec.complete:
            payload["compared"] = {}  # a task to delete given by its name only: no config compared (as planned)
        elif spec is not None:
            doc = live_document(task) if doc is None else doc
            payload["compared"] = _compared_values(_compared_paths(spec, doc), doc)
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
