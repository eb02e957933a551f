"""Saved plans: `plan -o plan.json` writes the JSON plan; `apply plan.json` loads it and refuses it when stale.

A saved plan holds the manifests' digest, each change's fingerprint of the live task it was planned against,
and secret references (`${secret:NAME}`), never values. The file is written with mode 0600 all the same: it
names hosts, users and ids.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from dtsflow.diff import fingerprint
from dtsflow.errors import DtsflowError, StalePlanError
from dtsflow.plan import FORMAT_VERSION, Plan
from dtsflow.planner import Manifests
from dtsflow.refresh import Live
from dtsflow.render.json import render_json

RERUN = "; run dtsflow plan again"


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the plan as JSON, readable by its owner only (replaces any file at `path`)."""
    text = render_json(plan).encode()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:  # a missing directory, no permission: the user's mistake, said plainly
        raise DtsflowError(f"cannot write plan file {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is filtered by the umask and ignored for an existing file
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a saved plan; a clear error for anything that is not one of ours."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DtsflowError(f"cannot read plan file {path}: {exc.__class__.__name__}") from None
    try:
        plan = Plan.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "$"
        raise DtsflowError(f"{path} is not a dtsflow plan file ({where}: {first['msg']})") from None
    if plan.format_version != FORMAT_VERSION:
        raise DtsflowError(
            f"{path} has plan format_version {plan.format_version}; this dtsflow reads {FORMAT_VERSION}{RERUN}"
        )
    return plan


def check_stale(plan: Plan, manifests: Manifests, live: Live) -> None:
    """Raise `StalePlanError` when the manifests or any planned task's live state changed since `plan`."""
    if manifests.digest != plan.manifest_digest:
        raise StalePlanError(f"plan is stale: the manifests changed since the plan was made{RERUN}")
    for change in plan.changes:
        if change.fingerprint is None:
            continue
        now = live.tasks.get(change.task)
        if change.live_status is None and now is not None:
            raise StalePlanError(
                f"plan is stale: task {change.task} was planned to be created but now exists "
                f"({now.dts_id}, {now.status}){RERUN}"
            )
        if fingerprint(now) == change.fingerprint:
            continue
        if now is None:
            raise StalePlanError(f"plan is stale: task {change.task} no longer exists{RERUN}")
        if now.status != change.live_status:
            raise StalePlanError(
                f"plan is stale: task {change.task} changed from {change.live_status} to {now.status} "
                f"since the plan was made{RERUN}"
            )
        raise StalePlanError(
            f"plan is stale: the configuration of task {change.task} changed since the plan was made{RERUN}"
        )
    if plan.prune:
        # A task that appeared under a prune prefix since the plan was made would escape the reviewed deletion list.
        planned = {c.task for c in plan.changes}
        new = sorted(
            n
            for n in live.tasks
            if n not in planned and n not in manifests.tasks and any(n.startswith(p) for p in manifests.prune_prefixes)
        )
        if new:
            raise StalePlanError(f"plan is stale: new task(s) under the prune prefix: {', '.join(new)}{RERUN}")
