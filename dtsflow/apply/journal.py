"""The write-ahead journal of creates (docs/apply.md): `.dtsflow/journal`, JSON lines, fsync'd.

A DTS create is not named (the name arrives with config), and the public docs do not promise that the
service de-duplicates `clientToken`s. So before each create, apply records the task name, the token and
the task's *generation*; after it, the returned `dtsId`. A re-run after a crash reads the journal back:

- an entry with an id whose task still exists unnamed in `unConfig` is resumed, not created again;
- an entry with a token but no id (the process died between the request and the answer) is retried with
  the same token, after looking for the orphan it may have left (see `dtsflow.apply.recovery`);
- an entry whose task was deleted or finished starts a new generation, hence a new token, so that a
  token never brings a released task back.

Records (one JSON object per line, `"v": 1`):
    {"v":1,"op":"intent","task":NAME,"token":TOKEN,"generation":N,"time":EPOCH_SECONDS}
    {"v":1,"op":"created","task":NAME,"token":TOKEN,"generation":N,"dts_id":ID,"time":...}
    {"v":1,"op":"released","task":NAME,"generation":N,"dts_id":ID,"time":...}   (deleted by apply)
    {"v":1,"op":"resized","task":NAME,"generation":N,"dts_id":ID,"resizes":K,"time":...}   (K resizes so far)

The directory is created 0700 and the file 0600, and both are refused when not private to the user, tracked by git
or a link (`dtsflow.apply.statedir`); no record holds a secret. A torn last line (a crash in
the middle of a write) is ignored. The journal is compacted to the latest record per task when it grows.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dtsflow.apply.statedir import check_state_file, ensure_state_dir, open_state_file
from dtsflow.errors import ConfigError

JOURNAL_VERSION = 1
DEFAULT_PATH = Path(".dtsflow") / "journal"
COMPACT_AFTER_LINES = 2000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """What the journal last says about one task's create."""

    task: str
    token: str
    generation: int
    time: float
    dts_id: str | None = None
    released: bool = False
    resizes: int = 0  # resizes apply has made of this task (a generation of the resize token)

    @property
    def pending(self) -> bool:
        """A create was sent (or about to be) and its answer was never recorded."""
        return self.dts_id is None and not self.released


class Journal:
    """Thread-safe append-only journal; `entries` holds the latest record per task."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.entries: dict[str, JournalEntry] = {}
        self._lines = 0
        self._load()
        if self._lines > COMPACT_AFTER_LINES:
            self._compact()

    # -- reading -------------------------------------------------------------------------------------
    def _load(self) -> None:
        if self.path.parent.exists():
            ensure_state_dir(self.path.parent)  # a journal is trusted only in a private directory dtsflow made
        if not check_state_file(self.path):
            return
        with os.fdopen(open_state_file(self.path, os.O_RDONLY), encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                self._lines += 1
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if not isinstance(record, dict) or record.get("v") != JOURNAL_VERSION:
                    continue
                problem = _malformed(record)
                if problem:
                    # Skipping it could forget a create and so duplicate a task: stop and let a person look.
                    raise ConfigError(
                        f"{self.path}:{number}: malformed journal record ({problem}); "
                        "repair or delete that line (the journal only prevents duplicate creates after a crash)"
                    )
                self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        task = str(record["task"])
        op = record.get("op")
        previous = self.entries.get(task)
        generation = int(record.get("generation", 0))
        when = float(record.get("time", 0.0))
        if op == "intent":
            self.entries[task] = JournalEntry(task, str(record["token"]), generation, when)
        elif op == "created":
            dts_id = str(record["dts_id"])
            self.entries[task] = JournalEntry(task, str(record["token"]), generation, when, dts_id=dts_id)
        elif op == "resized" and previous is not None:
            self.entries[task] = replace(previous, resizes=int(record["resizes"]))
        elif op == "released":
            token = previous.token if previous else ""
            self.entries[task] = JournalEntry(
                task, token, generation, when, dts_id=record.get("dts_id") or None, released=True
            )

    def get(self, task: str) -> JournalEntry | None:
        with self._lock:
            return self.entries.get(task)

    # -- writing -------------------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        ensure_state_dir(self.path.parent)

    def _write(self, record: dict[str, Any]) -> None:
        record = {"v": JOURNAL_VERSION, **record, "time": record.get("time", time.time())}
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self._ensure_dir()
            fd = open_state_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)  # write-ahead: on disk before the request goes out
            finally:
                os.close(fd)
            self._lines += 1
            self._apply(record)

    def intent(self, task: str, token: str, generation: int) -> None:
        self._write({"op": "intent", "task": task, "token": token, "generation": generation})

    def created(self, task: str, token: str, generation: int, dts_id: str) -> None:
        self._write({"op": "created", "task": task, "token": token, "generation": generation, "dts_id": dts_id})

    def resized(self, task: str, dts_id: str) -> None:
        """A resize of this task went through: the next one gets a new token even to the same size."""
        entry = self.get(task)
        count = (entry.resizes if entry else 0) + 1
        generation = entry.generation if entry else 0
        self._write({"op": "resized", "task": task, "generation": generation, "dts_id": dts_id, "resizes": count})

    def released(self, task: str, dts_id: str | None) -> None:
        entry = self.get(task)
        generation = entry.generation if entry else 0
        self._write({"op": "released", "task": task, "generation": generation, "dts_id": dts_id or ""})

    def _compact(self) -> None:
        """Rewrite the file with the latest record per task (tmp file, fsync, atomic rename)."""
        with self._lock:
            tmp = self.path.with_suffix(".tmp")
            fd = open_state_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                for entry in self.entries.values():
                    for record in _records_of(entry):
                        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            self._lines = len(self.entries)


def _malformed(record: dict[str, Any]) -> str:
    """Why a version-1 record cannot be read back, or "" when it can."""

    def text(key: str) -> bool:
        return isinstance(record.get(key), str) and bool(record[key])

    op = record.get("op")
    if op not in ("intent", "created", "released", "resized"):
        return f"unknown op {op!r}"
    if not text("task"):
        return "no task name"
    generation = record.get("generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        return "generation is not a whole number"
    if isinstance(record.get("time", 0.0), bool) or not isinstance(record.get("time", 0.0), int | float):
        return "time is not a number"
    if op in ("intent", "created") and not text("token"):
        return "no token"
    if op == "created" and not text("dts_id"):
        return "no dts_id"
    resizes = record.get("resizes", 0)
    if op == "resized" and (isinstance(resizes, bool) or not isinstance(resizes, int) or resizes < 0):
        return "resizes is not a whole number"
    return ""


def _records_of(entry: JournalEntry) -> list[dict[str, Any]]:
    base = {"v": JOURNAL_VERSION, "task": entry.task, "generation": entry.generation, "time": entry.time}
    if entry.released:
        # A task this journal never created (deleted by `state: absent`) has no token: no intent to keep.
        intent = [{**base, "op": "intent", "token": entry.token}] if entry.token else []
        return [*intent, {**base, "op": "released", "dts_id": entry.dts_id or ""}]
    if entry.dts_id is not None:
        created = {**base, "op": "created", "token": entry.token, "dts_id": entry.dts_id}
        resized = [{**base, "op": "resized", "dts_id": entry.dts_id, "resizes": entry.resizes}] if entry.resizes else []
        return [created, *resized]
    return [{**base, "op": "intent", "token": entry.token}]
