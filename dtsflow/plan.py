"""The plan is data: what `plan` shows, what `-o plan.json` saves and what `apply` executes.

The planner (`dtsflow.planner`) makes it, renderers (`dtsflow.render`) print it, the executor
(`dtsflow.executor`) consumes `Change.steps`. `reason`, `action` and `diff` are for people only: the
executor reads steps, never reasons. A plan never holds a secret value (specs carry secret references).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dtsflow.live import PrecheckItem
from dtsflow.manifest import DesiredState, TaskSpec

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


class StepKind(StrEnum):
    """One API call (plus, for asynchronous calls, the wait for its outcome)."""

    CREATE = "create"
    CONFIG = "config"
    PRECHECK = "precheck"  # waits; may call skipPrecheck when every failed item is allowed
    SKIP_PRECHECK = "skip-precheck"
    START = "start"
    PAUSE = "pause"
    SHUTDOWN = "shutdown"
    DELETE = "delete"
    RESIZE = "resize"
    RENAME = "rename"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(Frozen):
    """One ordered operation on one task. The executor is generic over these fields."""

    kind: StepKind
    expect: list[str] = Field(default_factory=list)
    """Statuses the task may be in before the call (checked live, level-triggered); empty = any."""
    wait_for: list[str] = Field(default_factory=list)
    """Statuses that mean the step is done; empty = the call itself is the step (synchronous)."""
    fail_on: list[str] = Field(default_factory=list)
    """Statuses that mean the step failed (`checkFailed` is handled by the precheck policy)."""
    disruptive: bool = False
    """Stops replication for a while (pause for a reconfigure)."""
    destructive: bool = False
    """Cannot be undone: shutdown, delete."""
    standard: str | None = None
    """RESIZE: the new standard."""
    skip_allowed: list[str] = Field(default_factory=list)
    """PRECHECK / SKIP_PRECHECK: failed check names the manifest allows skipping."""
    timeout_seconds: float | None = None
    """How long to wait for `wait_for`; None = the executor's default for this kind."""


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


class Orphan(Frozen):
    """A live task with no name in `unConfig`: possibly left by an interrupted create."""

    dts_id: str
    status: str
    create_time: str = ""


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
    reconfigure: list[str] = Field(default_factory=list)
    would_prune: list[str] = Field(default_factory=list)
    """Live tasks under a `prune.prefix` that no manifest names, listed when `prune` is off."""

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    @property
    def errors(self) -> list[Change]:
        return [c for c in self.changes if c.error]
