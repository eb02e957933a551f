"""Deterministic `clientToken`s for create (docs/apply.md).

The token depends only on the task's name, its canonical create body and a generation number, so a retried
create, a re-run after a crash and a concurrent apply all send the same token (and, where DTS honours it, get
the same task back). `generation` is bumped by the journal when a task was deleted on purpose and must be
created again, so an old token cannot resurrect the deleted task.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

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


def resize_token_for(dts_id: str, standard: str, from_standard: str = "", generation: int = 0) -> str:
    """A resize token: a retry of one resize is one order; another resize is another, even to the same size.

    What makes each resize distinct: the task, the size it comes from, the size it goes to, and a generation
    (how many resizes apply has made of the task, from the journal), so large->xlarge->large->xlarge is
    four orders, not a replay of the first.
    """
    body = {"standard": standard.lower(), "from": from_standard.lower()}
    return token_for_body(dts_id, body, generation, kind="resize")
