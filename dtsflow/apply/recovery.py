"""After a crash: how to create each task the plan creates, from the journal and one list of live tasks.

Pure decisions (plus journaling an adopted orphan), so that the rules can be read in one place; the
executor calls `decide_creates` once, before its first step. The rules (docs/apply.md, "Crash safety"):

- no journal entry: generation 0;
- `released` (apply deleted it): the next generation;
- a recorded id whose task is alive, unnamed or under this task's name: resume it, no create;
- a recorded id whose task is gone, finished, abandoned or renamed: the next generation (a token never
  brings a released task back);
- an intent without an id: adopt its orphan (an unnamed `unConfig` task -- no name, or its own id as name --
  that no journal entry owns, created no earlier than `ORPHAN_SLACK_SECONDS` before the intent (a `createTime`
  without a zone: `NAIVE_TIME_SLACK_SECONDS` more), whose visible attributes match the create body; oldest
  intent to oldest orphan), else retry with the same token (same generation), or with the next
  generation when the create body changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dtsflow.apply.journal import Journal, JournalEntry
from dtsflow.apply.snapshot import ABSENT, Snapshot
from dtsflow.apply.tokens import token_for_body
from dtsflow.client.live import LiveTask, TaskStatus
from dtsflow.client.reverse import ROLLBACK_CREATE_FIELD, ROLLBACK_CREATE_VALUE
from dtsflow.client.wire import create_body
from dtsflow.plan.model import Change

ORPHAN_SLACK_SECONDS = 60.0
"""An unnamed `unConfig` task created up to this long before a pending create's journal time may be its
orphan (clock skew between us and the service, and createTime's whole seconds)."""

NAIVE_TIME_SLACK_SECONDS = 14 * 3600.0
"""A `createTime` without a zone is read as UTC, but the service may mean its own local time: such a time only
rules an orphan out when it is earlier than the intent by more than the widest zone offset (UTC+14) plus the
slack. The attributes of the orphan must still match the create body."""

PENDING_SETTLE_SECONDS = 0.5
"""A create intent younger than this (the killed run's request may still be on its way) is given the rest of
this time to land before the executor looks for its orphan."""

DEAD_STATUSES = frozenset({ABSENT, TaskStatus.FINISHED, TaskStatus.DELETED, TaskStatus.ABANDONED})


@dataclass(frozen=True, slots=True)
class Resume:
    """Carry on with this existing task instead of creating one."""

    dts_id: str
    note: str


@dataclass(frozen=True, slots=True)
class Create:
    """Create with this token, journaled under this generation."""

    token: str
    generation: int


Decision = Resume | Create


def needs_live(entries: Mapping[str, JournalEntry | None]) -> bool:
    """Whether any decision depends on the live tasks (a recorded id, or an intent without one)."""
    return any(e is not None and not e.released for e in entries.values())


def settle_seconds(entries: Mapping[str, JournalEntry | None], now: float) -> float:
    """How long to wait before listing, so that a create still in flight from a killed run can land."""
    newest = max((e.time for e in entries.values() if e is not None and e.pending), default=None)
    if newest is None:
        return 0.0
    return max(0.0, min(newest + PENDING_SETTLE_SECONDS - now, PENDING_SETTLE_SECONDS))


def decide_creates(
    creating: list[Change], journal: Journal | None, snapshot: Snapshot | None
) -> tuple[dict[str, Decision], dict[str, str]]:
    """A decision per creating change, and the owners (dtsId -> task name) known from the journal."""
    owners: dict[str, str] = {}
    for known in journal.entries.values() if journal else []:
        if known.dts_id:
            owners[known.dts_id] = known.task
    orphans = _orphans(snapshot, set(owners)) if snapshot else []
    decisions: dict[str, Decision] = {}
    pending: list[tuple[Change, JournalEntry]] = []

    def fresh(change: Change, generation: int) -> Create:
        assert change.spec is not None
        return Create(token_for_body(change.task, create_body(change.spec), generation), generation)

    for change in creating:
        entry = journal.get(change.task) if journal else None
        if entry is None:
            decisions[change.task] = fresh(change, 0)
        elif entry.released:
            decisions[change.task] = fresh(change, entry.generation + 1)
        elif entry.dts_id is not None:
            live = snapshot.tasks.get(entry.dts_id) if snapshot else None
            if _ours(live, change):
                # Unnamed and unconfigured: our create, interrupted before config. Named ours: another run of this
                # manifest (sharing the journal) created it after our refresh; carry on with it. Either way only
                # if what the service shows agrees with the create the plan showed: a journal record alone never
                # makes apply take over somebody else's task.
                decisions[change.task] = Resume(entry.dts_id, f"resumed {entry.dts_id} from the journal")
            else:
                decisions[change.task] = fresh(change, entry.generation + 1)
        else:
            pending.append((change, entry))
    for change, entry in sorted(pending, key=lambda p: p[1].time):
        assert change.spec is not None
        body = create_body(change.spec)
        orphan = _claim_orphan(orphans, entry, body)
        if orphan is not None:
            if journal is not None:
                journal.created(change.task, entry.token, entry.generation, orphan.dts_id)
            note = f"adopted {orphan.dts_id}, left unnamed by an interrupted create"
            decisions[change.task] = Resume(orphan.dts_id, note)
            owners[orphan.dts_id] = change.task
        elif token_for_body(change.task, body, entry.generation) == entry.token:
            decisions[change.task] = Create(entry.token, entry.generation)  # retry with the same token
        else:  # the create body changed since: a new token, and so a new generation
            decisions[change.task] = fresh(change, entry.generation + 1)
    return decisions, owners


def _ours(live: LiveTask | None, change: Change) -> bool:
    """A live task a journal record names may be resumed as this change's create."""
    if live is None or live.status in DEAD_STATUSES or change.spec is None:
        return False
    if live.unnamed:  # no name, or its own id as name
        identity = live.status == TaskStatus.UN_CONFIG
    else:
        identity = live.task_name == change.task
    return identity and _compatible(live, create_body(change.spec))


def _created(task: LiveTask) -> float:
    """Sort key: when the task was created (0 when its createTime says nothing we can read)."""
    created = task.created
    return created.epoch if created is not None else 0.0


def _orphans(snapshot: Snapshot, claimed: set[str]) -> list[LiveTask]:
    """Unnamed `unConfig` tasks (no name, or their id as name) that no journal entry owns, oldest first."""
    found = [
        t for t in snapshot.tasks.values() if t.unnamed and t.status == TaskStatus.UN_CONFIG and t.dts_id not in claimed
    ]
    return sorted(found, key=lambda t: (_created(t), t.dts_id))


def _claim_orphan(orphans: list[LiveTask], entry: JournalEntry, body: dict[str, Any]) -> LiveTask | None:
    """The oldest orphan created after the journal's intent (with slack) whose visible attributes match."""
    for orphan in orphans:
        created = orphan.created
        if created is None:
            continue
        slack = ORPHAN_SLACK_SECONDS if created.zoned else ORPHAN_SLACK_SECONDS + NAIVE_TIME_SLACK_SECONDS
        if created.epoch < entry.time - slack:
            continue
        if not _compatible(orphan, body):
            continue
        orphans.remove(orphan)
        return orphan
    return None


def _compatible(live: LiveTask, body: dict[str, Any]) -> bool:
    """Whatever the service shows of an unconfigured task must agree with our create body.

    Enum-like values, caselessly (as `dtsflow.plan.diff` compares them): the API answers `Large` to `large`.
    """
    pairs = [
        (live.pay_info.source_instance_type, body.get("sourceInstanceType")),
        (live.pay_info.target_instance_type, body.get("targetInstanceType")),
        (live.pay_info.standard, body.get("standard")),
        (live.pay_info.product_type, body.get("productType")),
    ]
    if live.is_pair != (body.get(ROLLBACK_CREATE_FIELD) == ROLLBACK_CREATE_VALUE):
        return False  # a one-click reverse pair for a plain task, or the other way round
    return all(not seen or seen.strip().lower() == str(wanted).strip().lower() for seen, wanted in pairs)
