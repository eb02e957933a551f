"""The write-ahead journal on its own: format, permissions, torn lines, generations, compaction."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from dtsflow.apply import journal as journal_module
from dtsflow.apply.journal import Journal
from dtsflow.apply.tokens import token_for_body as client_token
from dtsflow.errors import ConfigError


def test_records_survive_a_reopen_and_the_latest_record_wins(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal"
    first = Journal(path)
    first.intent("a", "tok-a", 0)
    first.intent("b", "tok-b", 0)
    first.created("a", "tok-a", 0, "dts-1")
    again = Journal(path)
    a, b = again.get("a"), again.get("b")
    assert a is not None and a.dts_id == "dts-1" and not a.pending
    assert b is not None and b.pending and b.token == "tok-b"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    Journal(path).intent("a", "tok-a", 0)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"v":1,"op":"created","task":"a","tok')  # killed in the middle of a write
    entry = Journal(path).get("a")
    assert entry is not None and entry.pending


def test_release_keeps_the_generation_for_the_next_create(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    j = Journal(path)
    j.intent("a", "tok", 3)
    j.created("a", "tok", 3, "dts-9")
    j.released("a", "dts-9")
    entry = Journal(path).get("a")
    assert entry is not None and entry.released and entry.generation == 3 and not entry.pending


def test_tokens_are_deterministic_short_ascii_and_change_with_the_generation() -> None:
    body = {"standard": "large", "type": "migration"}
    token = client_token("orders", body, 0)
    assert token == client_token("orders", dict(body), 0)
    assert token != client_token("orders", body, 1) and token != client_token("users", body, 0)
    assert len(token) <= 64 and token.isascii()


def test_compaction_keeps_the_latest_record_per_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "journal"
    j = Journal(path)
    for i in range(30):
        j.intent("a", f"tok{i}", i)
    j.created("a", "tok29", 29, "dts-a")
    j.intent("b", "tok-b", 0)
    monkeypatch.setattr(journal_module, "COMPACT_AFTER_LINES", 10)
    compacted = Journal(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2
    a, b = compacted.get("a"), compacted.get("b")
    assert a is not None and a.dts_id == "dts-a" and a.generation == 29
    assert b is not None and b.pending
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_compaction_keeps_a_release_of_a_task_this_journal_never_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal"
    j = Journal(path)
    j.released("old", "dts-old")  # `state: absent` on a task made before the journal existed: no token known
    for i in range(12):
        j.intent("a", f"tok{i}", i)
    monkeypatch.setattr(journal_module, "COMPACT_AFTER_LINES", 10)
    Journal(path)  # compacts
    reopened = Journal(path)  # the compacted file must read back
    old = reopened.get("old")
    assert old is not None and old.released and old.dts_id == "dts-old" and not old.pending


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"v":1,"op":"intent","task":"a","token":"t","generation":"x"}', "generation is not a whole number"),
        ('{"v":1,"op":"created","task":"a","token":"t","generation":0,"dts_id":null}', "no dts_id"),
        ('{"v":1,"op":"intent","task":"","token":"t","generation":0}', "no task name"),
        ('{"v":1,"op":"forget","task":"a"}', "unknown op 'forget'"),
    ],
)
def test_a_malformed_record_stops_with_its_line_instead_of_being_guessed(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "journal"
    path.write_text('{"v":1,"op":"intent","task":"ok","token":"t","generation":0,"time":1}\n' + line + "\n")
    path.chmod(0o600)  # a state file dtsflow trusts is private
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: malformed journal record ({problem})")):
        Journal(path)
