"""Deterministic `clientToken`s for create (DESIGN.md §4).

The token depends only on the task's name, its canonical create body and a generation number, so a retried
create, a re-run after a crash and a concurrent apply all send the same token (and, where DTS honours it, get
the same task back). `generation` is bumped by the journal when a task was deleted on purpose and must be
created again, so an old token cannot resurrect the deleted task.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dtsflow.manifest import TaskSpec

TOKEN_PREFIX = "dtsflow-"
MAX_TOKEN_LENGTH = 64  # the API's limit: at most 64 ASCII characters
_DIGEST_CHARS = 48  # 192 bits of sha256: collisions are not a concern; 8 + 48 = 56 characters


def token_for_body(name: str, create_body: dict[str, Any], generation: int = 0, *, kind: str = "create") -> str:
    """`dtsflow-` + 48 hex characters of sha256 over (kind, name, canonical body JSON, generation)."""
    if generation < 0:
        raise ValueError("generation must not be negative")
    canonical = json.dumps(
        {"kind": kind, "name": name, "body": create_body, "generation": generation},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    token = TOKEN_PREFIX + hashlib.sha256(canonical.encode("ascii")).hexdigest()[:_DIGEST_CHARS]
    assert len(token) <= MAX_TOKEN_LENGTH and token.isascii()
    return token


def client_token_for(spec: TaskSpec, generation: int = 0) -> str:
    """The create token of a manifest task (its create body holds no secret, so neither does the token)."""
    from dtsflow.wire import create_body

    return token_for_body(spec.name, create_body(spec), generation)


def resize_token_for(dts_id: str, standard: str) -> str:
    """A resize token: the same resize of the same task is one order, a different size is another."""
    return token_for_body(dts_id, {"standard": standard}, kind="resize")
