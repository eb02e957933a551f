"""Persistent state of the emulator: one SQLite file (standard library), the single source of truth.

Why SQLite: every request reads or writes the file, so two processes on one state file (two `--emulator` runs
of apply at once, or a re-run after SIGKILL) see one consistent state; mutations are read-modify-write
transactions taken with `BEGIN IMMEDIATE`, which SQLite serialises across threads and processes. WAL mode lets
readers run while a writer commits; `synchronous=NORMAL` survives a killed process (not a power cut), which is
what an emulator needs. A small pool of connections is shared by the server threads (a sqlite3 connection is
not used by two threads at once, and opening one per request would cost more than the request).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from dtsflow.errors import ConfigError

T = TypeVar("T")
STATE_FORMAT = 1  # bump when the tables or the task document change incompatibly


class StateError(ConfigError):
    """The state file cannot be used (not SQLite, corrupt, or written by an incompatible version).

    A `ConfigError`, so that `dtsflow emulator` and `--emulator` report it as one clear line."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    dts_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    kind TEXT NOT NULL,
    token TEXT NOT NULL,
    digest TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (kind, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=8192)
def _parsed(text: str) -> dict[str, Any]:
    """A task document parsed once per distinct stored text. Shared: callers of the read paths never modify it."""
    return dict(json.loads(text))


def _create_private(path: str) -> None:
    """Create the state file 0600 before SQLite opens it (its -wal and -shm files copy the file's mode).

    Other users must not read or plant emulator state; an existing file keeps its mode (`dtsflow --emulator`
    refuses one open to others, naming the fix).
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        os.close(os.open(path, flags, 0o600))
    except OSError as exc:
        raise StateError(f"{path}: cannot open the state file ({exc.strerror or exc})") from None


class Store:
    """Tasks, idempotency tokens and an id counter in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        _create_private(path)
        try:
            with self._connection() as conn:
                conn.executescript(_SCHEMA)
            with self.write() as tx:
                row = tx.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row is None:
                    tx.execute("INSERT INTO meta(key, value) VALUES('format', ?)", (str(STATE_FORMAT),))
                elif row[0] != str(STATE_FORMAT):
                    raise StateError(f"{path}: state format {row[0]} is not supported (this version: {STATE_FORMAT})")
        except sqlite3.Error as exc:
            self.close()
            raise StateError(f"{path}: not a usable emulator state file ({exc})") from None
        except StateError:
            self.close()
            raise

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:  # a failed COMMIT (or ROLLBACK) left it inside: never hand it out again
                with self._lock:
                    if conn in self._all:
                        self._all.remove(conn)
                conn.close()
            else:
                self._pool.put(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A read-modify-write transaction, serialised against every other writer (threads and processes)."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # the body failed, or COMMIT did (a deferred constraint, I/O): undo it
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # the connection is then dropped, not pooled
                raise

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._connection() as conn:
            return fn(conn)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    # ---- tasks ---------------------------------------------------------------------------------------------

    @staticmethod
    def new_id(conn: sqlite3.Connection, prefix: str = "dtsm") -> str:
        """`dtsm` (`dtsr` for a reverse pair) + a base-36 sequence number + random characters: unique, and sortable
        by creation order (after the prefix)."""
        row = conn.execute("SELECT value FROM meta WHERE key='seq'").fetchone()
        seq = int(row[0]) + 1 if row else 1
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('seq', ?)", (str(seq),))
        tail = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        return f"{prefix}{_base36(seq, 8)}{tail}"

    @staticmethod
    def get(conn: sqlite3.Connection, dts_id: str, *, shared: bool = False) -> dict[str, Any] | None:
        """The task document; `shared=True` (read-only callers) may return a cached object that must not change."""
        row = conn.execute("SELECT doc FROM tasks WHERE dts_id=?", (dts_id,)).fetchone()
        if row is None:
            return None
        return _parsed(row[0]) if shared else dict(json.loads(row[0]))

    @staticmethod
    def put(conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO tasks(dts_id, type, doc) VALUES(?, ?, ?)",
            (doc["dtsId"], str(doc.get("type") or ""), dumps(doc)),
        )

    @staticmethod
    def remove(conn: sqlite3.Connection, dts_id: str) -> None:
        conn.execute("DELETE FROM tasks WHERE dts_id=?", (dts_id,))

    @staticmethod
    def scan(conn: sqlite3.Connection, *, types: list[str] | None, after: str = "") -> Iterator[dict[str, Any]]:
        """Tasks in id (= creation) order from id `after` (inclusive), optionally of some types only.

        Read-only: the documents may be shared cached objects.
        """
        if types:
            marks = ",".join("?" * len(types))
            cursor = conn.execute(
                f"SELECT doc FROM tasks WHERE dts_id >= ? AND type IN ({marks}) ORDER BY dts_id", (after, *types)
            )
        else:
            cursor = conn.execute("SELECT doc FROM tasks WHERE dts_id >= ? ORDER BY dts_id", (after,))
        for (text,) in cursor:
            yield _parsed(text)

    # ---- idempotency tokens --------------------------------------------------------------------------------

    @staticmethod
    def token(conn: sqlite3.Connection, kind: str, token: str) -> tuple[str, str, float] | None:
        row = conn.execute(
            "SELECT digest, result, created_at FROM tokens WHERE kind=? AND token=?", (kind, token)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), float(row[2]))

    @staticmethod
    def put_token(conn: sqlite3.Connection, kind: str, token: str, digest: str, result: str, now: float) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO tokens(kind, token, digest, result, created_at) VALUES(?, ?, ?, ?, ?)",
            (kind, token, digest, result, now),
        )

    def reset(self) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM tasks")
            conn.execute("DELETE FROM tokens")
