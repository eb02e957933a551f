"""Semantic rules of a task that the models' types cannot say (docs/manifest.md; the API's documented rules).

Each rule gives `(loc, message, line_loc)`: loc is the key path inside the task that the message is about, and
line_loc the key whose line is shown (the same, unless another key is the cause, e.g. `granularity`).
Rules across tasks (unique names, `dependsOn`, cycles) are in `check_run`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from dtsflow.manifest.model import CLOUD_INSTANCE_TYPES, TaskSpec

Loc = tuple[str | int, ...]

# The request fields dtsflow builds from the manifest (the wire names): `api.create` / `api.config` may add what the
# manifest does not model, never replace these, so that what is sent is what the plan shows. A nested mapping lists
# its modelled keys; None means the whole value is modelled.
_ENDPOINT_ORDER = {"instanceType": None, "dbType": None, "region": None}
_CONNECTION = {
    **_ENDPOINT_ORDER,
    "dbHost": None,
    "dbPort": None,
    "dbUser": None,
    "dbPass": None,
    "instanceId": None,
}
# The filters and options the manifest models (`columns`, `dml`, `ignoreDdl`, `queueType`, `netType`).
_FILTERED_SOURCE = {**_CONNECTION, "field_whitelist": None, "field_blacklist": None}
_FILTERED_TARGET = {**_CONNECTION, "sqlType": None}
MODELLED_FIELDS: dict[str, dict[str, object]] = {
    "create": {
        "productType": None,
        "type": None,
        "standard": None,
        "sourceInstanceType": None,
        "targetInstanceType": None,
        "crossRegionTag": None,
        "directionType": None,
        "orderInfo": {"src": _ENDPOINT_ORDER, "dst": _ENDPOINT_ORDER},
    },
    "config": {
        "type": None,
        "taskName": None,
        "dataType": None,
        "srcConnection": _FILTERED_SOURCE,
        "dstConnection": _FILTERED_TARGET,
        "schemaMapping": None,
        "granularity": None,
        "initPosition": None,
        "incrIgnoreType": None,
        "queueType": None,
        "netType": None,
    },
}
MANIFEST_NAMES = {
    "srcConnection.field_whitelist": "columns.include",
    "srcConnection.field_blacklist": "columns.exclude",
    "dstConnection.sqlType": "dml",
    "incrIgnoreType": "ignoreDdl",
    "queueType": "queueType",
    "netType": "netType",
}
"""The manifest key of each wire field the manifest models beyond the endpoints and objects."""
Problem = tuple[Loc, str, Loc]


def check_task(spec: TaskSpec) -> list[Problem]:
    return [(loc, message, line_loc or loc) for loc, message, line_loc in _problems(spec)]


def _problems(spec: TaskSpec) -> list[tuple[Loc, str, Loc | None]]:
    problems: list[tuple[Loc, str, Loc | None]] = []
    given = [(side, end) for side, end in (("src", spec.src), ("dst", spec.dst)) if end is not None]  # absent: maybe
    gateways = [side for side, end in given if end.instance_type == "bcegateway"]
    if len(gateways) > 1:
        problems.append((("dst", "instanceType"), "bcegateway can be used on at most one side of a task", None))
    for side, end in given:
        if end.instance_type in CLOUD_INSTANCE_TYPES:
            if end.instance_id is None:
                problems.append(((side,), f"instanceId is required for instanceType {end.instance_type}", None))
        else:
            if end.host is None:
                problems.append(((side,), f"host is required for instanceType {end.instance_type}", None))
            if end.port is None:
                problems.append(((side,), f"port is required for instanceType {end.instance_type}", None))
    derived = spec.derived_cross_region_tag
    if spec.cross_region_tag is not None and spec.cross_region_tag != derived:
        why = "both ends are bcerds in different regions" if derived else "not both ends bcerds in different regions"
        problems.append(
            (("crossRegionTag",), f"crossRegionTag must be {derived} here ({why}); it is derived, leave it out", None)
        )
    seen: set[str] = set()
    for i, item in enumerate(spec.data_type or []):
        if item in seen:
            problems.append((("dataType", i), f"{item!r} is listed twice", None))
        seen.add(item)
    if spec.granularity == "dbtb" and not spec.objects and spec.complete:  # a task to delete by name needs none
        problems.append(
            (
                ("objects",),
                "objects is required when granularity is dbtb (or use granularity: instance)",
                ("granularity",),
            )
        )
    if spec.precheck.timeout_seconds <= 0:  # the model's pattern has checked the spelling already
        problems.append((("precheck", "timeout"), "must be longer than zero", None))
    problems += _cutover_problems(spec)
    problems += _filter_problems(spec)
    problems += _override_problems(spec)
    for i, dep in enumerate(spec.depends_on):
        if dep == spec.name:
            problems.append((("dependsOn", i), "a task cannot depend on itself", None))
    return problems


def _cutover_problems(spec: TaskSpec) -> list[tuple[Loc, str, Loc | None]]:
    """`until:` and `reverse:` only make sense for a task that keeps replicating."""
    problems: list[tuple[Loc, str, Loc | None]] = []
    if spec.until is not None:
        if not spec.incremental:
            problems.append((("until",), "a lag gate needs increment in dataType (a full load has no delay)", None))
        if spec.until.timeout_seconds <= 0:
            problems.append((("until", "timeout"), "must be longer than zero", None))
    if spec.reverse is not None:
        if not spec.incremental:
            problems.append((("reverse",), "a way back needs increment in dataType", None))
        if "increment" not in spec.reverse.data_type:
            problems.append((("reverse", "dataType"), "the way back replicates changes: it needs increment", None))
        reversed_ = spec.reverse.direction == "reversed"
        if reversed_ and spec.state not in ("running", "shutdown", "absent"):
            problems.append(
                (
                    ("reverse", "direction"),
                    f"the pair is switched while it runs; direction reversed needs state running, not {spec.state}",
                    None,
                )
            )
    return problems


def _covered(table: str, spec: TaskSpec) -> bool:
    """Whether the task migrates this `db.table`: every table for `granularity: instance`, else a table object of
    that name or a db object of its database."""
    if spec.granularity == "instance":
        return True
    database = table.split(".", 1)[0]
    return any((o.type == "table" and o.src == table) or (o.type == "db" and o.src == database) for o in spec.objects)


def _filter_problems(spec: TaskSpec) -> list[tuple[Loc, str, Loc | None]]:
    """Column filters name tables the task migrates, each column once; DML and DDL filters need increment."""
    problems: list[tuple[Loc, str, Loc | None]] = []
    if spec.columns is not None:
        if not spec.columns.include and not spec.columns.exclude:
            problems.append((("columns",), "columns needs include or exclude (db.table: [columns])", None))
        tables = [o.src for o in spec.objects if o.type == "table"]
        for kind, lists in (("include", spec.columns.include), ("exclude", spec.columns.exclude)):
            for table, columns in (lists or {}).items():
                if not _covered(table, spec):
                    close = difflib.get_close_matches(table, tables, n=1, cutoff=0.6)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    problems.append(
                        (
                            ("columns", kind, table),
                            f"table {table} is not among the task's objects (a table object {table}, or a db object "
                            f"{table.split('.', 1)[0]}){hint}",
                            None,
                        )
                    )
                seen: set[str] = set()
                for i, column in enumerate(columns):
                    if column in seen:
                        problems.append((("columns", kind, table, i), f"column {column} is listed twice", None))
                    seen.add(column)
        both = set(spec.columns.include or {}) & set(spec.columns.exclude or {})
        for table in sorted(both):
            problems.append(
                (("columns", "exclude", table), f"table {table} is in both include and exclude: choose one", None)
            )
    for key, kinds in (("dml", spec.dml), ("ignoreDdl", spec.ignore_ddl)):
        if kinds is None:
            continue
        seen_kinds: set[str] = set()
        for i, kind in enumerate(kinds):
            if kind in seen_kinds:
                problems.append(((key, i), f"{kind!r} is listed twice", None))
            seen_kinds.add(kind)
        if not spec.incremental:
            problems.append(((key,), f"{key} filters replicated changes: it needs increment in dataType", None))
    return problems


def unknown_dependency_message(dep: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(dep, list(names), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"depends on {dep!r}, which no manifest of this run defines{hint}"


def _override_problems(spec: TaskSpec) -> list[tuple[Loc, str, Loc | None]]:
    problems: list[tuple[Loc, str, Loc | None]] = []
    for kind, body in (("create", spec.api.create), ("config", spec.api.config)):
        for loc in _modelled_keys(body, MODELLED_FIELDS[kind], ("api", kind)):
            where = ".".join(str(p) for p in loc[2:])
            key = MANIFEST_NAMES.get(where)
            instead = f" as {key}" if key else ""
            problems.append(
                (
                    loc,
                    f"api.{kind} cannot override {where}: dtsflow builds it from the manifest, so the plan shows it; "
                    f"set it in the manifest{instead} (api: is only for fields the manifest does not model)",
                    None,
                )
            )
    return problems


def _modelled_keys(body: object, modelled: object, at: Loc) -> list[Loc]:
    """Paths in an override that replace a modelled field (or a modelled field's part)."""
    if not isinstance(body, dict) or not isinstance(modelled, dict):
        return []
    found: list[Loc] = []
    for key, value in body.items():
        if key not in modelled:
            continue
        inner = modelled[key]
        if inner is None or not isinstance(value, dict):
            found.append((*at, key))
        else:
            found += _modelled_keys(value, inner, (*at, key))
    return found


# Every field the API documentation names in a create or config body (the wire names; a nested mapping lists its
# documented keys, None means any value). `api:` may carry any of them; a key outside this is warned about.
_DOCUMENTED_ORDER_END = dict.fromkeys(
    ("instanceType", "dbType", "region", "sliceNum", "vpcShortId", "subnetShortId", "zone")
)
_DOCUMENTED_CONNECTION = dict.fromkeys(
    (
        "region", "dbType", "dbUser", "dbPass", "dbPort", "dbHost", "instanceId", "dbServer", "instanceType",
        "instanceShortId", "field_whitelist", "field_blacklist", "startTime", "endTime", "sqlType",
        "vpcId", "vpcName", "vpcCidr", "vpcShortId", "shardUrl", "maxRetryTime",
    )
)  # fmt: skip
DOCUMENTED_FIELDS: dict[str, dict[str, object]] = {
    "create": {
        **dict.fromkeys(
            ("productType", "type", "standard", "sourceInstanceType", "targetInstanceType", "crossRegionTag")
        ),
        **dict.fromkeys(("directionType", "rollback", "bindTags")),
        "orderInfo": {"src": _DOCUMENTED_ORDER_END, "dst": _DOCUMENTED_ORDER_END},
    },
    "config": {
        **dict.fromkeys(("type", "dtsId", "taskName", "dataType", "schemaMapping", "granularity", "productType")),
        **dict.fromkeys(("queueType", "initPosition", "netType", "admin", "accountMapping", "incrIgnoreType")),
        "srcConnection": _DOCUMENTED_CONNECTION,
        "dstConnection": _DOCUMENTED_CONNECTION,
    },
}


def _squashed(name: str) -> str:
    return name.replace("_", "").lower()


def closest_field(key: str, known: Iterable[str]) -> str | None:
    """The documented field `key` most likely means: same letters ignoring case and `_`, else the nearest spelling."""
    by_squashed = {_squashed(k): k for k in known}
    if _squashed(key) in by_squashed:
        return by_squashed[_squashed(key)]
    near = difflib.get_close_matches(_squashed(key), list(by_squashed), n=1, cutoff=0.6)
    return by_squashed[near[0]] if near else None


def api_warnings(spec: TaskSpec) -> list[tuple[Loc, str]]:
    """Keys under `api:` that the API documentation does not name, each with the closest documented field.

    A warning, not an error: the service may accept fields its documentation does not list yet.
    """
    found: list[tuple[Loc, str]] = []

    def walk(body: object, documented: object, at: Loc) -> None:
        if not isinstance(body, dict) or not isinstance(documented, dict):
            return
        for key, value in body.items():
            if key in documented:
                walk(value, documented[key], (*at, key))
                continue
            guess = closest_field(str(key), [str(k) for k in documented])
            modelled = MANIFEST_NAMES.get(".".join(str(p) for p in (*at[2:], guess))) if guess else None
            hint = f"; did you mean {guess}{f' ({modelled} in the manifest)' if modelled else ''}?" if guess else ""
            found.append(((*at, key), f"not a field the DTS API documents{hint} (it is sent as written)"))

    for kind, body in (("create", spec.api.create), ("config", spec.api.config)):
        walk(body, DOCUMENTED_FIELDS[kind], ("api", kind))
    return found


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, as a path `[a, b, a]`, in the order tasks appear (iterative DFS)."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    cycles: list[list[str]] = []
    for root in graph:
        if colour[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        colour[root] = grey
        path = [root]
        while stack:
            node, index = stack[-1]
            deps = [d for d in graph.get(node, []) if d in graph and d != node]
            if index < len(deps):
                stack[-1] = (node, index + 1)
                nxt = deps[index]
                if colour[nxt] == grey:
                    cycles.append(path[path.index(nxt) :] + [nxt])
                elif colour[nxt] == white:
                    colour[nxt] = grey
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                colour[node] = black
                stack.pop()
                path.pop()
    return cycles
