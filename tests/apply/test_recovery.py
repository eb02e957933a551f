"""The crash-recovery rules on their own (pure decisions over a journal and one list snapshot)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dtsflow.journal import Journal, client_token
from dtsflow.live import LiveTask
from dtsflow.manifest import TaskSpec
from dtsflow.plan import Action, Change, Step, StepKind
from dtsflow.recovery import Create, Resume, decide_creates, needs_live, settle_seconds
from dtsflow.waiter import Snapshot
from dtsflow.wire import create_body
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
    # The API answers `"standard": "Large"` to a create that sent "large" (dts-api.md; diff compares caselessly).
    journal = Journal(tmp_path / "journal")
    journal.intent("a", token("a"), 0)
    shown = {"standard": "Large", "sourceInstanceType": "PUBLIC", "productType": "Postpay"}
    snap = snapshot(live("d-match", created=time.time(), payInfo=shown))
    decisions, _ = decide_creates([change("a")], journal, snap)
    assert decisions["a"] == Resume("d-match", "adopted d-match, left unnamed by an interrupted create")
