"""The plan is data: what `plan` shows, what `-o plan.json` saves and what `apply` executes.

The planner (`dtsflow.plan.planner`) makes it, renderers (`dtsflow.plan.render`) print it, the executor
(`dtsflow.apply.executor`) consumes `Change.steps`. `reason`, `action` and `diff` are for people only: the
executor reads steps, never reasons. A plan never holds a secret value (specs carry secret references).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dtsflow.client.live import PrecheckItem
from dtsflow.manifest.model import DesiredState, TaskSpec
from dtsflow.plan.transitions import DEFAULT_WAIT_SECONDS, STEP_SPECS, StepKind, StepSpec

__all__ = [
    "Action",
    "Change",
    "FieldDiff",
    "Orphan",
    "Plan",
    "PlanOrigin",
    "Step",
    "StepKind",
    "kind_fields",
    "spec_fields",
]

FORMAT_VERSION = "1"


class Action(StrEnum):
    """What kind of change a task needs, as a reviewer reads it (`+ ~ - >` in the text format)."""

    NOOP = "no-op"
    CREATE = "create"  # +  the task does not exist
    RECONFIGURE = "reconfigure"  # ~  config differs; disruptive if the task has started
    RESIZE = "resize"  # ~  only `standard` differs
    TRANSITION = "transition"  # >  same config, another status
    REPLACE = "replace"  # -/+ a field the API cannot change in place; needs --allow-replace
    DELETE = "delete"  # -  absent, or pruned
    RENAME = "rename"  # >  only the name differs (`previousNames`)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(Frozen):
    """One ordered operation on one task, with everything the executor needs to run it: the kind's `StepSpec`
    (`dtsflow.plan.transitions.STEP_SPECS`) as the planner copied it, plus what the task's manifest adds. A field
    a plan file leaves out takes the kind's spec (so a plan saved before a field was written out means the same)."""

    kind: StepKind
    expect: list[str] = Field(default_factory=list)
    """Statuses the task may be in before the call (checked live, level-triggered); empty = any."""
    wait_for: list[str] = Field(default_factory=list)
    """Statuses that mean the step is done; empty = the call itself is the step (synchronous)."""
    fail_on: list[str] = Field(default_factory=list)
    """Statuses that mean the step failed (`checkFailed` is handled by the precheck policy)."""
    underway: list[str] = Field(default_factory=list)
    """Statuses that mean the step's own transition is in progress: the executor waits instead of calling."""
    beyond: list[str] = Field(default_factory=list)
    """Statuses past the step's goal: done without a call (`deleted`: gone from the list)."""
    tolerate: list[str] = Field(default_factory=list)
    """Passing statuses a wait sits through besides `expect` and `underway`."""
    sends_secrets: bool = False
    """The request carries passwords: every secret must resolve before apply sends anything."""
    delete_if_refused_from: list[str] = Field(default_factory=list)
    """SHUTDOWN: statuses of a never-started task where a refused shutdown is followed by a direct delete, when the
    change deletes the task anyway."""
    disruptive: bool = False
    """Stops replication for a while (pause for a reconfigure)."""
    destructive: bool = False
    """Cannot be undone: shutdown, delete."""
    standard: str | None = None
    """RESIZE: the new standard."""
    skip_allowed: list[str] = Field(default_factory=list)
    """PRECHECK / SKIP_PRECHECK: failed check names the manifest allows skipping."""
    timeout_seconds: float | None = None
    """How long to wait for `wait_for` when the manifest sets it (precheck.timeout); None = the default below."""
    default_timeout_seconds: float = DEFAULT_WAIT_SECONDS
    """How long to wait for `wait_for` when the manifest says nothing (the kind's default)."""
    max_delay: float | None = None
    """Seconds of replication delay. WAIT_LAG: the gate to wait for; SHUTDOWN / SWITCH of a cutover: refused
    above it when they run (None = not guarded: no increment, or --force)."""
    direction: str | None = None
    """SWITCH: the direction the pair must replicate in afterwards (`forward` / `reversed`)."""

    @model_validator(mode="before")
    @classmethod
    def _spec_of_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" not in data:
            return data
        try:
            defaults = _KIND_FIELDS[StepKind(data["kind"])]
        except ValueError:
            return data  # pydantic names the unknown kind
        missing = {name: value for name, value in defaults.items() if name not in data}
        return {**missing, **data} if missing else data

    @property
    def goal(self) -> frozenset[str]:
        """Statuses in which the step is done: what it waits for, and what lies beyond."""
        return frozenset(self.wait_for) | frozenset(self.beyond)

    @property
    def sits_through(self) -> frozenset[str]:
        """Statuses a wait tolerates: where the step starts from, its own transition, passing states. Any other
        status seen in two lists in a row fails the wait."""
        return frozenset(self.expect) | frozenset(self.underway) | frozenset(self.tolerate)


def kind_fields(kind: StepKind) -> dict[str, Any]:
    """`spec_fields` of a kind's spec, computed once per kind (the planner makes thousands of steps); a copy."""
    return dict(_KIND_FIELDS[kind])


def spec_fields(spec: StepSpec) -> dict[str, Any]:
    """A kind's spec as `Step` fields (sorted lists: plan files are stable)."""
    return {
        "expect": sorted(spec.expect),
        "wait_for": sorted(spec.wait_for),
        "fail_on": sorted(spec.fail_on),
        "underway": sorted(spec.underway),
        "beyond": sorted(spec.beyond),
        "tolerate": sorted(spec.tolerate),
        "sends_secrets": spec.sends_secrets,
        "delete_if_refused_from": sorted(spec.delete_if_refused_from),
        "disruptive": spec.disruptive,
        "destructive": spec.destructive,
        "default_timeout_seconds": spec.default_timeout_seconds,
    }


class Cutover(Frozen):
    """A change that ends a task's replication (to shutdown or absent) or switches a pair's direction: reviewed
    with the replication delay it was planned at and the gate it must be under."""

    kind: Literal["shutdown", "switch"]
    delay: float | None = None
    """Seconds, as read when planned; None: the service showed none (not running, or no reading yet)."""
    gate: float
    """Seconds: the task's `until.lag`, or the default cutover gate."""
    gate_from: Literal["until.lag", "default"] = "default"
    forced: bool = False
    """--force: planned (and applied) whatever the delay."""
    direction_from: str | None = None
    direction_to: str | None = None

    @property
    def above(self) -> bool:
        return self.delay is not None and self.delay > self.gate


_KIND_FIELDS: dict[StepKind, dict[str, Any]] = {kind: spec_fields(spec) for kind, spec in STEP_SPECS.items()}


class FieldDiff(Frozen):
    """One differing config field; values are display strings, a password shows as `(sensitive)`."""

    path: str
    before: str | None
    after: str | None


class Change(Frozen):
    """Everything planned for one task."""

    task: str
    action: Action
    reason: str
    """Display only; must not influence apply."""
    dts_id: str | None = None
    live_status: str | None = None
    desired: DesiredState | None = None
    """None for a pruned task that no manifest names."""
    steps: list[Step] = Field(default_factory=list)
    diff: list[FieldDiff] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    disruptive: bool = False
    destructive: bool = False
    precheck: list[PrecheckItem] = Field(default_factory=list)
    """For a task that is `checkFailed`: its check items, so that reviewers see why."""
    spec: TaskSpec | None = None
    """The manifest task (secret references only); what create and config send."""
    fingerprint: str | None = None
    """Hash of the live status and config this change was planned against (stale-plan check)."""
    error: str | None = None
    """Set when the desired state cannot be reached from the live status; such a plan cannot be applied."""
    warnings: list[str] = Field(default_factory=list)
    """What applying this change does beyond its steps' names (replication started briefly, ...)."""
    adopt: bool = False
    """The live task was not created by dtsflow (no dtsflow tag) and this plan takes it over (`adopt: true` or
    `--adopt NAME`); a `tag` step marks it as dtsflow's."""
    cutover: Cutover | None = None
    """Set when the change ends the replication of a task with incremental sync, or switches a pair."""
    renamed_from: str | None = None
    """`previousNames`: the live task has this (previous) name, and a `rename` step gives it the manifest's."""


class Orphan(Frozen):
    """A live task with no name in `unConfig`: possibly left by an interrupted create."""

    dts_id: str
    status: str
    create_time: str = ""


class PlanOrigin(Frozen):
    """Where and with what a saved plan was made: `apply PLAN.json` refuses another endpoint or account, and
    renders the manifests with the same variables (no flags needed)."""

    endpoint: str
    """The endpoint URL, or `embedded emulator`."""
    access_key_digest: str
    """`sha256:` of the access key id, never the id itself."""
    variables: dict[str, str] = Field(default_factory=dict)
    """`--var` values (template variables; secrets never travel as variables)."""
    var_files: list[str] = Field(default_factory=list)
    """`--var-file` paths, as given."""


class Plan(Frozen):
    format_version: str = FORMAT_VERSION
    manifest_digest: str
    """sha256 over the rendered manifests (secret references, never values)."""
    manifest_paths: list[str] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    """In execution order: dependencies first, then by task name."""
    orphans: list[Orphan] = Field(default_factory=list)
    prune: bool = False
    allow_replace: bool = False
    force: bool = False
    """--force: cutovers are planned whatever the replication delay."""
    reconfigure: list[str] = Field(default_factory=list)
    destroy: bool = False
    """`plan --destroy` / `dtsflow destroy`: every task of the manifests to `absent`."""
    targets: list[str] = Field(default_factory=list)
    """`--target` names the plan was made with: only they and what they depend on are planned, nothing pruned."""
    adopt: list[str] = Field(default_factory=list)
    """`--adopt` names the plan was made with."""
    would_prune: list[str] = Field(default_factory=list)
    """Live tasks under a `prune.prefix` that no manifest names, listed when `prune` is off."""
    warnings: list[str] = Field(default_factory=list)
    """For people: what the plan noticed and does not act on (a duplicate name no manifest manages, ...)."""
    origin: PlanOrigin | None = None
    """Set in a saved plan (`plan -o`)."""

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP or c.steps for c in self.changes)

    @property
    def errors(self) -> list[Change]:
        return [c for c in self.changes if c.error]
