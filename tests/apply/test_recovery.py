"""The crash-recovery rules on their own (pure decisions over a journal and one list snapshot)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dtsflow.apply.journal import Journal
from dtsflow.apply.recovery import Create, Resume, decide_creates, needs_live, settle_seconds
from dtsflow.apply.snapshot import Snapshot
from dtsflow.apply.tokens import token_for_body as client_token
from dtsflow.client.live import Live, LiveTask
from dtsflow.client.wire import create_body
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.model import Action, Change, Step, StepKind
from tests.apply.conftest import task


def change(name: str) -> Change:
    spec = TaskSpec.model_validate(task(name) | {"src": task(name)["src"] | {"password": "${secret:DB_PASS}"}})
    return Change(task=name, action=Action.CREATE, reason="test", spec=spec, steps=[Step(kind=StepKind.CREATE)])


def token(name: str, generation: int = 0) -> str:
    spec = change(name).spec
    assert spec is not None
    return client_token(name, create_body(spec), generation)


def live(dts_id: str, name: str = "", status: str = "unConfig", created: float | None = None, **extra: Any) -> LiveTask:
    when = datetime.fromtimestamp(created if created is not None else time.time(), UTC)
    return LiveTask.model_validate(
        {
            "dtsId": dts_id,
            "taskName": name,
            "status": status,
            "createTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            **extra,
        }
    )


def snapshot(*tasks: LiveTask) -> Snapshot:
    return Snapshot(0.0, {t.dts_id: t for t in tasks})


def test_fresh_released_resumed_and_dead(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.intent("released", token("released"), 2)
    journal.created("released", token("released"), 2, "d-r")
    journal.released("released", "d-r")
    journal.created("resumed", token("resumed"), 0, "d-alive")
    journal.created("dead", token("dead"), 0, "d-dead")
    changes = [change(n) for n in ("new", "released", "resumed", "dead")]
    snap = snapshot(live("d-alive"), live("d-dead", name="dead", status="finished"))
    decisions, owners = decide_creates(changes, journal, snap)
    assert decisions["new"] == Create(token("new"), 0)
    assert decisions["released"] == Create(token("released", 3), 3)
    assert isinstance(decisions["resumed"], Resume) and decisions["resumed"].dts_id == "d-alive"
    assert decisions["dead"] == Create(token("dead", 1), 1)
    assert owners["d-alive"] == "resumed" and owners["d-dead"] == "dead"


def test_a_pending_intent_adopts_a_matching_recent_orphan_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    journal.intent("b", token("b"), 0)
    now = time.time()
    snap = snapshot(
        live("d-old", created=now - 3600),  # long before the intents: someone else's
        live("d-other", created=now, payInfo={"standard": "small"}),  # another create body
        live("d-match", created=now, payInfo={"standard": "large", "sourceInstanceType": "public"}),
    )
    assert needs_live({"a": journal.get("a")})
    decisions, owners = decide_creates([change("a"), change("b")], journal, snap)
    assert decisions["a"] == Resume("d-match", "adopted d-match, left unnamed by an interrupted create")
    assert decisions["b"] == Create(token("b"), 0)  # no orphan left for it: retry with the same token
    assert owners["d-match"] == "a"
    entry = Journal(tmp_path / "journal").get("a")
    assert entry is not None and entry.dts_id == "d-match"  # the adoption is journaled


def test_settle_only_for_a_recent_pending_intent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.intent("a", "tok", 0)
    entries = {"a": journal.get("a")}
    assert 0 < settle_seconds(entries, time.time()) <= 0.5
    assert settle_seconds(entries, time.time() + 10) == 0
    assert settle_seconds({"b": None}, time.time()) == 0 and not needs_live({"b": None})


def test_an_orphan_is_adopted_whatever_the_case_the_service_answers_enum_values_in(tmp_path: Path) -> None:
    # The API answers `"standard": "Large"` to a create that sent "large" (the API documentation; diff compares caselessly).
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    shown = {"standard": "Large", "sourceInstanceType": "PUBLIC", "productType": "Postpay"}
    snap = snapshot(live("d-match", created=time.time(), payInfo=shown))
    decisions, _ = decide_creates([change("a")], journal, snap)
    assert decisions["a"] == Resume("d-match", "adopted d-match, left unnamed by an interrupted create")


def _shapes(epoch: float) -> dict[str, str | int]:
    """The documented shapes of one createTime (UTC)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return {
        "int seconds": int(epoch),
        "T and Z": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "doc's stray spaces": moment.strftime("%Y-%m-%dT%H: %M: %SZ"),
        "space, no zone": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "T, no zone": moment.strftime("%Y-%m-%dT%H:%M:%S"),
        "offset": datetime.fromtimestamp(epoch, UTC).astimezone().isoformat(timespec="seconds"),
    }


@pytest.mark.parametrize("shape", sorted(_shapes(0)))
def test_an_orphan_is_adopted_whatever_the_shape_of_its_create_time(tmp_path: Path, shape: str) -> None:
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    orphan = LiveTask.model_validate({"dtsId": "d-1", "status": "unConfig", "createTime": _shapes(time.time())[shape]})
    assert orphan.created is not None
    decisions, _ = decide_creates([change("a")], journal, snapshot(orphan))
    assert decisions["a"] == Resume("d-1", "adopted d-1, left unnamed by an interrupted create")


def test_a_naive_create_time_in_the_services_local_zone_does_not_hide_the_orphan(tmp_path: Path) -> None:
    """A naive time written in a zone west of UTC reads hours 'before' the intent; it is still ours."""
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    west = datetime.fromtimestamp(time.time() - 8 * 3600, UTC).strftime("%Y-%m-%d %H:%M:%S")  # UTC-8 wall time
    decisions, _ = decide_creates([change("a")], journal, snapshot(live("d-1", createTime=west)))
    assert isinstance(decisions["a"], Resume)
    other = Journal(tmp_path / "other")
    other.intent("a", token("a"), 0)
    zoned_old = datetime.fromtimestamp(time.time() - 8 * 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    decisions, _ = decide_creates([change("a")], other, snapshot(live("d-2", createTime=zoned_old)))
    assert decisions["a"] == Create(token("a"), 0)  # a zoned time 8 h old is someone else's


def test_a_task_named_by_its_own_id_is_an_orphan_candidate(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    decisions, _ = decide_creates([change("a")], journal, snapshot(live("d-1", name="d-1")))
    assert decisions["a"] == Resume("d-1", "adopted d-1, left unnamed by an interrupted create")
    assert Live.from_tasks([live("d-1", name="d-1")]).orphans[0].dts_id == "d-1"
