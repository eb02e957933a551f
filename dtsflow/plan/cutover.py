"""Cutover in the plan (pure): the lag gate, a pair's precheck and switch, and the guard on ending replication.

The transition table says how a task's status reaches its desired state; this module adds what `until:` and
`reverse:` ask for on top of those steps:
- a one-click reverse pair is prechecked as a pair (`pair-precheck`: both directions' check items);
- after a start (desired `running`), a task with `until.lag` waits for its delay to fall to the gate (`wait-lag`);
- a pair whose desired direction differs from the live one is switched (`switch`), after a gate wait when the
  plan has just started it (the forward delay must have fallen first), followed by the gate wait again when the
  task declares one (the way back catches up);
- a change that ends the replication of a running task with incremental sync (desired `shutdown` or `absent`)
  or switches a pair is a cutover: it is planned only while the delay is at most the gate (`until.lag`, or
  `DEFAULT_CUTOVER_GATE_SECONDS`), unless forced, and its shutdown or switch step checks that again when it runs.
A delay the service does not show (None) does not block: the plan says so. Replacements and pruning are not
guarded (`--allow-replace` and `--prune` are explicit already).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dtsflow.client.live import Live, LiveTask
from dtsflow.client.reverse import DEFAULT_CUTOVER_GATE_SECONDS, Direction
from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.manifest.model import DesiredState, TaskSpec
from dtsflow.plan.model import Cutover
from dtsflow.plan.transitions import StepKind

K = StepKind


def gate_of(spec: TaskSpec) -> tuple[float, str]:
    """(seconds, where it comes from): the task's `until.lag`, else the default cutover gate."""
    if spec.until is not None:
        return spec.until.lag_seconds, "until.lag"
    return DEFAULT_CUTOVER_GATE_SECONDS, "default"


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}s"


@dataclass
class Shaped:
    """The step kinds with the cutover steps in place, and what the plan must say about them."""

    kinds: list[StepKind]
    cutover: Cutover | None = None
    error: str | None = None
    guarded: set[StepKind] = field(default_factory=set)
    """Step kinds that re-check the delay when they run (shutdown, switch), unless forced."""
    switch_to: Direction | None = None
    reason: str | None = None
    """Why a change that the table found nothing to do for has steps now (a switch, a gate not reached)."""


def _running(task: LiveTask | None) -> bool:
    return task is not None and task.status in RUNNING_STATUSES


def _switch(spec: TaskSpec, task: LiveTask | None, kinds: list[StepKind]) -> tuple[Direction, Direction] | None:
    """(from, to) when the pair must be switched; None when it already replicates the desired way."""
    if spec.desired_direction is None or spec.state is not DesiredState.RUNNING:
        return None
    wanted = Direction(spec.desired_direction.value)  # the manifest's enum -> the one live directions are read in
    if task is None or not task.is_pair or K.CREATE in kinds:  # a new (or replacing) pair starts forward
        current = Direction.FORWARD
    elif _running(task):
        current = task.direction or Direction.FORWARD
    elif K.START in kinds:
        # A paused pair's directions both read `stopped`: which way it resumes is seen only once it runs, so the
        # switch step (which reads the direction first and does nothing when it is right) comes after the start.
        return (Direction.FORWARD if wanted is Direction.REVERSED else Direction.REVERSED), wanted
    else:
        return None
    return (current, wanted) if current != wanted else None


def shape(
    spec: TaskSpec, task: LiveTask | None, live: Live, kinds: list[StepKind], *, force: bool, name: str
) -> Shaped:
    """Add the cutover steps of `spec` to `kinds` (the table's route) and judge the cutover, if any."""
    out = Shaped(list(kinds))
    if spec.reverse is not None:
        out.kinds = [K.PAIR_PRECHECK if k is K.PRECHECK else k for k in out.kinds]
    gate, gate_from = gate_of(spec)
    started_here = K.START in out.kinds
    if started_here and spec.until is not None and spec.state is DesiredState.RUNNING:
        out.kinds.insert(out.kinds.index(K.START) + 1, K.WAIT_LAG)
    elif spec.until is not None and spec.state is DesiredState.RUNNING and _running(task) and task is not None:
        # Level-triggered: a running task is where `until` wants it only once its delay is at most the gate (so a
        # re-run after a crash during the wait waits again); a delay not shown yet (still loading) is not there.
        delay = live.delay(task)
        if delay is None or delay > gate:
            out.kinds.append(K.WAIT_LAG)
            out.reason = f"the replication delay is {_seconds(delay)}, not yet at most until.lag {_seconds(gate)}"
    switch = _switch(spec, task, out.kinds)
    if switch is not None:
        if started_here and K.WAIT_LAG not in out.kinds:
            out.kinds.append(K.WAIT_LAG)  # the forward delay falls to the gate before the switch
        out.kinds.append(K.SWITCH)
        if spec.until is not None:
            out.kinds.append(K.WAIT_LAG)  # the way back catches up
        out.switch_to = switch[1]
        out.reason = f"switch the pair's direction {switch[0]} -> {switch[1]}"
    ends = K.SHUTDOWN in out.kinds and spec.state in (DesiredState.SHUTDOWN, DesiredState.ABSENT)
    if not (ends and spec.incremental and _running(task)) and switch is None:
        return out
    delay = live.delay(task) if task is not None and _running(task) and not started_here else None
    out.cutover = Cutover(
        kind="switch" if switch is not None else "shutdown",
        delay=delay,
        gate=gate,
        gate_from="until.lag" if gate_from == "until.lag" else "default",
        forced=force,
        direction_from=str(switch[0]) if switch else None,
        direction_to=str(switch[1]) if switch else None,
    )
    if not force:
        out.guarded = {K.SWITCH} if switch is not None else {K.SHUTDOWN}
        if out.cutover.above:
            what = "switch" if switch is not None else "shut down"
            out.error = (
                f"refusing to {what} {name}: its replication delay is {_seconds(delay)}, above its gate "
                f"{_seconds(gate)} ({'until.lag' if gate_from == 'until.lag' else 'the default gate'}); wait "
                f"(dtsflow status --wait-lag {gate:g}s), or plan with --force"
            )
    return out


def describe(cutover: Cutover) -> str:
    """One line for people: what the cutover is, the delay it was planned at and its gate."""
    if cutover.kind == "switch":
        what = f"switch {cutover.direction_from} -> {cutover.direction_to}"
    else:
        what = "ends replication"
    gate = f"gate {_seconds(cutover.gate)} ({cutover.gate_from})"
    if cutover.forced:
        judged = "forced with --force"
    elif cutover.delay is None:
        judged = "checked when the step runs"
    else:
        judged = "above the gate" if cutover.above else "at most the gate"
    delay = "not shown" if cutover.delay is None else _seconds(cutover.delay)
    return f"cutover: {what}; delay {delay}, {gate}: {judged}"
