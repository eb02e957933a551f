"""`make_plan`: manifests + live state -> `Plan`. A pure function: no I/O, no client, no clock.

One `Change` per task, in `dependsOn` order (topological, ties by name), then pruned tasks by name. The steps
come from the transition table (`dtsflow.plan.transitions`); the config comparison from `dtsflow.plan.diff`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dtsflow.client.live import Live, LiveTask, PrecheckItem, TaskStatus
from dtsflow.client.statuses import RUNNING_STATUSES, retrying_warning
from dtsflow.client.wire import MANAGED_TAG_KEY, MANAGED_TAG_VALUE
from dtsflow.errors import PlanError
from dtsflow.manifest.model import DesiredState, TaskSpec
from dtsflow.plan import cutover
from dtsflow.plan.diff import ConfigDiff, compare_task, fingerprint
from dtsflow.plan.model import Action, Change, FieldDiff, Orphan, Plan, Step, StepKind, kind_fields
from dtsflow.plan.transitions import (
    DELETE_DIRECTLY_NOTE,
    NEVER_STARTED_STATUSES,
    RESIZE_FROM,
    STARTED_STATUSES,
    STEP_SPECS,
    TRANSIENT_STATUSES,
    Route,
    route,
)

K = StepKind
CONFIG_STATUSES = STEP_SPECS[K.CONFIG].expect
FINAL_STATUSES = frozenset({TaskStatus.FINISHED, TaskStatus.ABANDONED})


class Manifests(Protocol):
    """What the planner needs of `dtsflow.manifest.load.LoadedManifests`."""

    @property
    def tasks(self) -> Mapping[str, TaskSpec]: ...

    @property
    def prune_prefixes(self) -> Sequence[str]: ...

    @property
    def digest(self) -> str: ...

    @property
    def paths(self) -> Sequence[str]: ...


def _full_only(spec: TaskSpec) -> bool:
    return spec.data_type is not None and "increment" not in spec.data_type


def make_step(
    kind: StepKind,
    spec: TaskSpec | None,
    *,
    desired: DesiredState | None,
    started: bool = False,
    guarded: bool = False,
    switch_to: str | None = None,
) -> Step:
    """One step: the kind's `StepSpec`, plus what the task's manifest adds (`guarded`: a cutover's shutdown or
    switch, which re-checks the delay when it runs; `switch_to`: a switch's direction)."""
    fields = kind_fields(kind)
    if kind is K.START and spec is not None and _full_only(spec) and desired is DesiredState.RUNNING:
        fields["wait_for"] = sorted({*fields["wait_for"], TaskStatus.FINISHED})  # a full migration may finish first
    if kind is K.CONFIG and started:
        fields["disruptive"] = True
    precheck = kind in (K.PRECHECK, K.SKIP_PRECHECK, K.PAIR_PRECHECK) and spec is not None
    timeout = spec.precheck.timeout_seconds if precheck and spec is not None else None
    max_delay = None
    if spec is not None and (kind is K.WAIT_LAG or guarded):
        max_delay = cutover.gate_of(spec)[0]
        if kind is K.WAIT_LAG and spec.until is not None:
            timeout = spec.until.timeout_seconds
    return Step(
        kind=kind,
        **fields,
        standard=spec.standard if kind is K.RESIZE and spec is not None else None,
        skip_allowed=list(spec.precheck.skip) if precheck and spec is not None else [],
        timeout_seconds=timeout,
        max_delay=max_delay,
        direction=switch_to if kind is K.SWITCH else None,
    )


def _failed_items(items: Sequence[PrecheckItem]) -> list[str]:
    return [item.name for item in items if item.failed]


def _use_skip(kinds: list[StepKind], spec: TaskSpec, status: str | None, items: Sequence[PrecheckItem]) -> None:
    """checkFailed with every failed item allowed by `precheck.skip`: skip instead of checking again."""
    failed = _failed_items(items)
    if status == TaskStatus.CHECK_FAILED and kinds[:1] in ([K.PRECHECK], [K.PAIR_PRECHECK]) and failed:
        if set(failed) <= set(spec.precheck.skip):
            kinds[0] = K.SKIP_PRECHECK


def _place_resize(kinds: list[StepKind], status: str | None) -> str | None:
    """Insert RESIZE where the API allows it (running/stopped/runFailed); an error message if nowhere."""
    if status in RESIZE_FROM and K.PAUSE not in kinds[:1]:
        kinds.insert(0, K.RESIZE)
        return None
    if K.PAUSE in kinds:  # after a pause the task is `stopped`
        kinds.insert(kinds.index(K.PAUSE) + 1, K.RESIZE)
        return None
    if K.START in kinds:
        kinds.insert(kinds.index(K.START) + 1, K.RESIZE)
        return None
    return f"standard can only be changed while the task is running, stopped or runFailed (it is {status})"


@dataclass
class _Draft:
    """A change being built."""

    action: Action
    reason: str
    kinds: list[StepKind] = field(default_factory=list)
    diff: list[FieldDiff] = field(default_factory=list)
    error: str | None = None
    started: bool = False
    warnings: list[str] = field(default_factory=list)


def _route_error(name: str, status: str | None, desired: DesiredState, cell: Route) -> str:
    return f"cannot plan {name} from {status or 'absent'} to {desired}: {cell.error}"


def _down_reason(reason: str, status: str) -> str:
    """The reason of a change that takes a task down, with the direct-delete path of a never-started task."""
    return f"{reason}; {DELETE_DIRECTLY_NOTE}" if status in NEVER_STARTED_STATUSES else reason


def _plan_delete(spec: TaskSpec, status: str) -> _Draft:
    cell = route(status, DesiredState.ABSENT)
    draft = _Draft(Action.DELETE, _down_reason(f"state is absent; the task is {status}", status), list(cell.steps))
    if not cell.possible:
        draft.error = _route_error(spec.name, status, DesiredState.ABSENT, cell)
    return draft


def _plan_replace(spec: TaskSpec, status: str, diffs: list[FieldDiff], *, allow_replace: bool) -> _Draft:
    """Shutdown (if needed), delete, then the steps of a new task."""
    fields = ", ".join(d.path for d in diffs)
    down = route(status, DesiredState.ABSENT)
    up = route(None, spec.state, full_only=_full_only(spec))
    reason = _down_reason(f"{fields} cannot change in place", status)
    draft = _Draft(Action.REPLACE, reason, [*down.steps, *up.steps], diffs)
    if not down.possible:
        draft.error = _route_error(spec.name, status, DesiredState.ABSENT, down)
    elif not up.possible:
        draft.error = _route_error(spec.name, None, spec.state, up)
    elif not allow_replace:
        draft.error = f"{spec.name} must be replaced ({fields} cannot change in place); run again with --allow-replace"
    return draft


def _plan_reconfigure(spec: TaskSpec, status: str, cfg: ConfigDiff) -> _Draft:
    """Config (after a pause for a replicating task), then the steps from `ready` to the desired state."""
    desired = spec.state
    started = status in STARTED_STATUSES
    reason = "config differs" if cfg.reconfigure else "--reconfigure re-sends the config"
    draft = _Draft(Action.RECONFIGURE, reason, diff=list(cfg.reconfigure), started=started)
    if status in TRANSIENT_STATUSES:  # config is refused mid-transition; its outcome decides what comes next
        draft.error = (
            f"cannot reconfigure {spec.name} while it is {status}; run dtsflow plan again when that has finished"
        )
        return draft
    if status not in CONFIG_STATUSES and status not in RUNNING_STATUSES:
        draft.error = f"cannot reconfigure {spec.name}: config is not allowed while the task is {status}"
        return draft
    prefix = [K.PAUSE] if status in RUNNING_STATUSES else []
    # The API leaves a configured task `ready`; go on from there (a started task still cannot go back to ready).
    after = route(TaskStatus.READY, desired, full_only=_full_only(spec))
    if started and desired in (DesiredState.READY, DesiredState.PRECHECKED):
        after = route(status, desired)
    if not after.possible:
        draft.error = _route_error(spec.name, status, desired, after)
        return draft
    draft.kinds = [*prefix, K.CONFIG, *after.steps]
    if desired is DesiredState.PAUSED and K.START in after.steps:
        draft.warnings.append(
            "config leaves the task ready: to get back to paused it is prechecked, started and paused again, so "
            "replication runs briefly"
        )
    if started:
        draft.reason += "; the task has started, so replication stops while it is reconfigured"
    if cfg.resize is not None:
        draft.diff.append(cfg.resize)
        draft.error = _place_resize(draft.kinds, status)
    return draft


def _plan_status(spec: TaskSpec, status: str, cfg: ConfigDiff, ignored: list[FieldDiff]) -> _Draft:
    """Same config (or differences that are not acted on): the route of the table, plus a resize if needed."""
    desired = spec.state
    cell = route(status, desired, full_only=_full_only(spec))
    kinds = list(cell.steps)
    if ignored:
        reason = f"the config differs, but a task that is {status} (desired {desired}) is not reconfigured"
        draft = _Draft(Action.TRANSITION if kinds else Action.NOOP, reason, kinds, ignored)
    elif cfg.resize is not None and cell.possible:
        draft = _Draft(Action.RESIZE, "standard differs", kinds, [cfg.resize])
        draft.error = _place_resize(draft.kinds, status)
        return draft
    elif kinds or not cell.possible:
        draft = _Draft(Action.TRANSITION, f"{status} -> {desired}", kinds)
    else:
        draft = _Draft(Action.NOOP, f"{status}, as desired ({desired})")
    if not cell.possible:
        draft.error = _route_error(spec.name, status, desired, cell)
    return draft


def _plan_existing(
    spec: TaskSpec, task: LiveTask, cfg: ConfigDiff, *, allow_replace: bool, force_config: bool
) -> _Draft:
    status = task.status
    if spec.state is DesiredState.ABSENT:
        return _plan_delete(spec, status)
    ignored: list[FieldDiff] = []
    if spec.state is DesiredState.SHUTDOWN or status in FINAL_STATUSES:
        # Config cannot reach a finished task, and there is no point in changing one that is being shut down:
        # show the differences, act only on the status (a replacement of a finished task stays possible).
        keep_replace = cfg.replace if spec.state is not DesiredState.SHUTDOWN else []
        ignored = [*cfg.reconfigure, *([cfg.resize] if cfg.resize else [])]
        ignored += [d for d in cfg.replace if d not in keep_replace]
        cfg = ConfigDiff(replace=keep_replace)
    if cfg.replace:
        return _plan_replace(spec, status, cfg.replace, allow_replace=allow_replace)
    if cfg.reconfigure or force_config:
        return _plan_reconfigure(spec, status, cfg)
    return _plan_status(spec, status, cfg, ignored)


def match_live(spec: TaskSpec, live: Live) -> tuple[LiveTask | None, str | None, str | None]:
    """The live task a manifest task means: the one with its name, else the one with one of its `previousNames`.
    Returns (task, the previous name it has if any, an error when more than one live task matches)."""
    by_name = live.tasks.get(spec.name)
    by_previous = [(old, live.tasks[old]) for old in spec.previous_names if old in live.tasks]
    matches = ([(spec.name, by_name)] if by_name is not None else []) + by_previous
    if len(matches) > 1:
        found = " and ".join(f"{name} ({task.dts_id})" for name, task in matches)
        return (
            None,
            None,
            f"{spec.name}: live tasks {found} all match this task (its name and previousNames); dtsflow cannot "
            "tell which one the manifest means: delete or rename the other in the DTS console, or drop the stale "
            "previous name",
        )
    if by_previous:
        return by_previous[0][1], by_previous[0][0], None
    return by_name, None, None


def _rename_first(draft: _Draft, renamed_from: str) -> None:
    """A live task found under a previous name is renamed before anything else (not when it is to be deleted)."""
    if draft.action in (Action.DELETE, Action.REPLACE):  # the live task goes away; its name does not matter
        return
    draft.kinds.insert(0, K.RENAME)
    if draft.action is Action.NOOP:
        draft.action, draft.reason = Action.RENAME, f"renamed from {renamed_from}"
    else:
        draft.reason = f"renamed from {renamed_from}; {draft.reason}"


def owned(task: LiveTask) -> bool | None:
    """Whether dtsflow created (or adopted) a live task: it carries dtsflow's tag. None: the answer had no tags."""
    return task.has_tag(MANAGED_TAG_KEY, MANAGED_TAG_VALUE)


def _not_ours(name: str, task: LiveTask) -> str:
    return (
        f"the live task {name} ({task.dts_id}) was not created by dtsflow (it has no {MANAGED_TAG_KEY}="
        f"{MANAGED_TAG_VALUE} tag); to take it over, set `adopt: true` on the task or pass --adopt {name}"
    )


def _adoption(draft: _Draft, spec: TaskSpec, task: LiveTask, adopt: bool) -> bool:
    """A live task without dtsflow's tag: an error unless adopted; adopted, it is tagged first (unless it is
    being deleted anyway)."""
    if owned(task) is not False:
        return False
    if not adopt:
        draft.error = draft.error or _not_ours(spec.name, task)
        return False
    if spec.state is not DesiredState.ABSENT:
        draft.kinds.insert(0, K.TAG)
    draft.reason = f"adopted (not created by dtsflow); {draft.reason}"
    return True


def _plan_task(
    spec: TaskSpec, live: Live, *, allow_replace: bool, force_config: bool, adopt: bool, force: bool = False
) -> Change:
    if spec.name in live.other_types and spec.name not in live.tasks:
        kind, dts_id = live.other_types[spec.name]
        return Change(
            task=spec.name,
            action=Action.NOOP,
            reason=f"a live {kind} task has this name",
            dts_id=dts_id,
            desired=spec.state,
            spec=spec,
            error=(
                f"{spec.name}: a live {kind} task ({dts_id}) already has this name; dtsflow manages migration tasks "
                "only and matches them by name: rename the manifest task or the other task"
            ),
        )
    task, renamed_from, ambiguous = match_live(spec, live)
    if ambiguous:
        return Change(
            task=spec.name,
            action=Action.NOOP,
            reason="more than one live task matches this task's name and previous names",
            desired=spec.state,
            spec=spec,
            error=ambiguous,
        )
    desired = spec.state
    compared = None
    adopted = False
    if task is None:
        cell = route(None, desired, full_only=_full_only(spec))
        if desired is DesiredState.ABSENT:
            draft = _Draft(Action.NOOP, "absent, as desired")
        elif not cell.possible:
            draft = _Draft(Action.CREATE, "the task does not exist", error=_route_error(spec.name, None, desired, cell))
        else:
            draft = _Draft(Action.CREATE, "the task does not exist", list(cell.steps))
        items: Sequence[PrecheckItem] = ()
    else:
        # A task to delete given by its name only has no config to compare (and its fingerprint covers none).
        cfg, compared = compare_task(spec, task) if spec.complete else (ConfigDiff(), {})
        draft = _plan_existing(spec, task, cfg, allow_replace=allow_replace, force_config=force_config)
        items = live.precheck.get(task.dts_id, ())
        if not draft.error:
            _use_skip(draft.kinds, spec, task.status, items)
        adopted = _adoption(draft, spec, task, adopt or spec.adopt)
        if renamed_from is not None:
            _rename_first(draft, renamed_from)
    cut = cutover.shape(spec, task, live, draft.kinds, force=force, name=spec.name)
    if not draft.error:
        if cut.kinds != draft.kinds and draft.action is Action.NOOP:
            draft.action, draft.reason = Action.TRANSITION, cut.reason or draft.reason
        draft.kinds, draft.error = cut.kinds, cut.error
    steps = [
        make_step(k, spec, desired=desired, started=draft.started, guarded=k in cut.guarded, switch_to=cut.switch_to)
        for k in draft.kinds
    ]
    return Change(
        task=spec.name,
        action=draft.action,
        reason=draft.reason,
        dts_id=task.dts_id if task else None,
        live_status=task.status if task else None,
        desired=desired,
        steps=[] if draft.error else steps,
        diff=draft.diff,
        depends_on=list(spec.depends_on),
        disruptive=any(s.disruptive for s in steps),
        destructive=any(s.destructive for s in steps) or draft.action is Action.REPLACE,
        precheck=list(items),
        spec=spec,
        fingerprint=fingerprint(task, spec, compared=compared, precheck=items),
        error=draft.error,
        warnings=draft.warnings,
        adopt=adopted,
        cutover=cut.cutover,
        renamed_from=renamed_from,
    )


def _prune_change(task: LiveTask, prefix: str) -> Change:
    cell = route(task.status, DesiredState.ABSENT)
    error = None if cell.possible else _route_error(task.task_name, task.status, DesiredState.ABSENT, cell)
    steps = [make_step(k, None, desired=None) for k in cell.steps]
    return Change(
        task=task.task_name,
        action=Action.DELETE,
        reason=_down_reason(f"pruned: its name starts with {prefix!r} and no manifest names it", task.status),
        dts_id=task.dts_id,
        live_status=task.status,
        desired=None,
        steps=[] if error else steps,
        destructive=True,
        fingerprint=fingerprint(task),
        error=error,
    )


def _depths(tasks: Mapping[str, TaskSpec]) -> dict[str, int]:
    """How deep each task sits in `dependsOn` (0: depends on nothing of the run); a cycle counts as 0."""
    depths: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name not in depths:
            deps = [d for d in tasks[name].depends_on if d in tasks and d not in seen]
            depths[name] = 1 + max((depth(d, seen | {name}) for d in deps), default=-1)
        return depths[name]

    for name in tasks:
        depth(name, frozenset())
    return depths


def dependency_order(tasks: Mapping[str, TaskSpec]) -> list[str]:
    """Topological order of `dependsOn` (dependencies first), ties broken by name; stable and deterministic."""
    waiting_on = {name: {d for d in spec.depends_on if d in tasks and d != name} for name, spec in tasks.items()}
    dependents: dict[str, list[str]] = {name: [] for name in tasks}
    for name, deps in waiting_on.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = [name for name, deps in waiting_on.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(tasks):
        if not ready:  # a cycle (the loader rejects them): take the smallest name left rather than loop forever
            ready = [min(n for n in tasks if n not in placed)]
        name = heapq.heappop(ready)
        if name in placed:
            continue
        order.append(name)
        placed.add(name)
        for follower in dependents[name]:
            waiting_on[follower].discard(name)
            if not waiting_on[follower] and follower not in placed:
                heapq.heappush(ready, follower)
    return order


def targeted(tasks: Mapping[str, TaskSpec], targets: Sequence[str], *, dependents: bool = False) -> list[str]:
    """The `--target` names plus every task they depend on (`dependsOn`, transitively), sorted; every task when
    no target is given. A name no manifest defines is a `PlanError` (the command checks before any request).

    `dependents` (a destroy): the targets plus every task that depends on them instead, as a teardown must take
    those down first."""
    if not targets:
        return sorted(tasks)
    unknown = sorted(set(targets) - set(tasks))
    if unknown:
        known = sorted(tasks)
        listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise PlanError(
            f"--target names tasks that no manifest defines: {', '.join(unknown)} (the manifests define: "
            f"{listed or 'no task'})"
        )
    closure: set[str] = set()
    todo = list(targets)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        if dependents:
            todo.extend(n for n, spec in tasks.items() if name in spec.depends_on)
        else:
            todo.extend(d for d in tasks[name].depends_on if d in tasks)
    return sorted(closure)


def partial_warning(targets: Sequence[str], included: Sequence[str], *, destroy: bool = False) -> str:
    """What a targeted plan says about itself, as Terraform warns that resource targeting is in effect."""
    extra = sorted(set(included) - set(targets))
    relation = "the tasks that depend on them" if destroy else "the tasks they depend on"
    deps = f" and {relation} ({', '.join(extra)})" if extra else ""
    return (
        f"--target is in effect: this plan is partial; it covers only {', '.join(sorted(set(targets)))}{deps}. "
        "Other tasks are not planned and nothing is pruned: run a plan without --target to see every change"
    )


def make_plan(
    manifests: Manifests,
    live: Live,
    *,
    prune: bool = False,
    allow_replace: bool = False,
    reconfigure: Sequence[str] = (),
    adopt: Sequence[str] = (),
    force: bool = False,
    targets: Sequence[str] = (),
    destroy: bool = False,
) -> Plan:
    """The plan that takes every manifest task (and, with `prune`, every pruned task) to its desired state.

    `force`: cutovers (`dtsflow.plan.cutover`) are planned whatever the replication delay.
    `targets`: only these tasks and what they depend on; a targeted plan never prunes.
    `destroy`: every task of the manifests to `absent` (with `targets`: the targets and the tasks that depend on
    them); a live task dtsflow did not create and that is not adopted is left alone; nothing is pruned."""
    for flag, names in (("--reconfigure", reconfigure), ("--adopt", adopt)):
        unknown = sorted(set(names) - set(manifests.tasks))
        if unknown:
            raise PlanError(f"{flag} names tasks that no manifest defines: {', '.join(unknown)}")
    included = targeted(manifests.tasks, targets, dependents=destroy)
    tasks = {name: manifests.tasks[name] for name in included}
    warnings = _duplicate_names(manifests, live)
    if destroy:
        tasks, left_alone = _destroyed(tasks, live, adopt)
        warnings = [*left_alone, *warnings]
    if targets:
        warnings.insert(0, partial_warning(targets, included, destroy=destroy))
    warnings += [
        retrying_warning(name, live.tasks[name].dts_id)
        for name in sorted(tasks)
        if name in live.tasks and live.tasks[name].status == TaskStatus.RETRYING
    ]
    changes = [
        _plan_task(
            tasks[name],
            live,
            allow_replace=allow_replace,
            force_config=name in reconfigure,
            adopt=name in adopt,
            force=force,
        )
        for name in dependency_order(tasks)
    ]
    # Teardowns (shutdown, absent) in reverse dependency order: a task goes after the tasks that depend on it.
    down = (DesiredState.SHUTDOWN, DesiredState.ABSENT)
    depth = _depths(tasks)
    teardowns = sorted((c for c in changes if c.desired in down), key=lambda c: (-depth[c.task], c.task))
    changes = [c for c in changes if c.desired not in down] + teardowns
    prunable: list[tuple[LiveTask, str]] = []
    previous = _previous_names(manifests)
    for name in sorted(live.tasks):
        if name in manifests.tasks or name in previous:  # a previous name is renamed, never pruned
            continue
        prefix = next((p for p in manifests.prune_prefixes if name.startswith(p)), None)
        if prefix is None:
            continue
        if owned(live.tasks[name]) is False:
            warnings.append(
                f"{name} ({live.tasks[name].dts_id}) starts with {prefix!r} but was not created by dtsflow: it is "
                "never pruned (name it in a manifest with `adopt: true` to manage it)"
            )
            continue
        prunable.append((live.tasks[name], prefix))
    if targets or destroy:  # a partial plan must not delete what it does not look at; destroy names its tasks
        prunable = []
    managed_live = [live.tasks[n] for n in tasks if n in live.tasks] + [t for t, _ in prunable]
    if any(owned(t) is None for t in managed_live):
        warnings.append(
            "the DTS API's answers carry no tags, so dtsflow cannot tell which live tasks it created: a live task "
            "with a manifest's name is managed without asking for adoption"
        )
    would_prune: list[str] = []
    if prune:
        changes.extend(_prune_change(task, prefix) for task, prefix in prunable)
    else:
        would_prune = [task.task_name for task, _ in prunable]
    orphans = [Orphan(dts_id=t.dts_id, status=t.status, create_time=t.create_time) for t in live.orphans]
    return Plan(
        manifest_digest=manifests.digest,
        manifest_paths=list(manifests.paths),
        changes=changes,
        orphans=sorted(orphans, key=lambda o: o.dts_id),
        prune=prune,
        allow_replace=allow_replace,
        force=force,
        targets=sorted(set(targets)),
        destroy=destroy,
        reconfigure=sorted(set(reconfigure)),
        adopt=sorted(set(adopt)),
        would_prune=would_prune,
        warnings=warnings,
    )


def _destroyed(
    tasks: Mapping[str, TaskSpec], live: Live, adopt: Sequence[str]
) -> tuple[dict[str, TaskSpec], list[str]]:
    """A destroy: every task's desired state becomes `absent`. A live task without dtsflow's tag that the
    manifests do not adopt is not dtsflow's to delete: it is left out, with a warning that names it."""
    kept: dict[str, TaskSpec] = {}
    warnings: list[str] = []
    for name, spec in tasks.items():
        task = live.tasks.get(name)
        if task is not None and owned(task) is False and not (spec.adopt or name in adopt):
            warnings.append(
                f"destroy leaves {name} ({task.dts_id}) alone: dtsflow did not create it (adopt it to manage it)"
            )
            continue
        kept[name] = spec.model_copy(update={"state": DesiredState.ABSENT})
    return kept, warnings


def _previous_names(manifests: Manifests) -> frozenset[str]:
    return frozenset(old for spec in manifests.tasks.values() for old in spec.previous_names)


def _duplicate_names(manifests: Manifests, live: Live) -> list[str]:
    """A name held by two live tasks is an error when the run manages it (a manifest names it, or it is under a
    prune prefix): dtsflow matches tasks by name. Any other duplicate is another team's business: a warning."""
    warnings: list[str] = []
    for name in sorted(live.duplicates):
        ids = " and ".join(live.duplicates[name])
        managed = (
            name in manifests.tasks
            or name in _previous_names(manifests)
            or any(name.startswith(p) for p in manifests.prune_prefixes)
        )
        if managed:
            raise PlanError(
                f"two live tasks are named {name!r}: {ids}; dtsflow matches tasks by name, so rename or delete "
                "one of them in the DTS console"
            )
        warnings.append(
            f"two live tasks are named {name!r} ({ids}); no manifest manages that name, so it is left alone"
        )
    return warnings
