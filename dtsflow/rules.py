"""Semantic rules of a task that the models' types cannot say (DESIGN.md §2; the API's documented rules).

Each rule gives `(loc, message, line_loc)`: loc is the key path inside the task that the message is about, and
line_loc the key whose line is shown (the same, unless another key is the cause, e.g. `granularity`).
Rules across tasks (unique names, `dependsOn`, cycles) are in `check_run`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from dtsflow.manifest import CLOUD_INSTANCE_TYPES, TaskSpec

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, Loc]


def check_task(spec: TaskSpec) -> list[Problem]:
    return [(loc, message, line_loc or loc) for loc, message, line_loc in _problems(spec)]


def _problems(spec: TaskSpec) -> list[tuple[Loc, str, Loc | None]]:
    problems: list[tuple[Loc, str, Loc | None]] = []
    gateways = [side for side, end in (("src", spec.src), ("dst", spec.dst)) if end.instance_type == "bcegateway"]
    if len(gateways) > 1:
        problems.append((("dst", "instanceType"), "bcegateway can be used on at most one side of a task", None))
    for side, end in (("src", spec.src), ("dst", spec.dst)):
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
    for i, item in enumerate(spec.data_type):
        if item in seen:
            problems.append((("dataType", i), f"{item!r} is listed twice", None))
        seen.add(item)
    if spec.granularity == "dbtb" and not spec.objects:
        problems.append(
            (
                ("objects",),
                "objects is required when granularity is dbtb (or use granularity: instance)",
                ("granularity",),
            )
        )
    if spec.precheck.timeout_seconds <= 0:  # the model's pattern has checked the spelling already
        problems.append((("precheck", "timeout"), "must be longer than zero", None))
    for i, dep in enumerate(spec.depends_on):
        if dep == spec.name:
            problems.append((("dependsOn", i), "a task cannot depend on itself", None))
    return problems


def unknown_dependency_message(dep: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(dep, list(names), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"depends on {dep!r}, which no manifest of this run defines{hint}"


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
