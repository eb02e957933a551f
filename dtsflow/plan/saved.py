"""Saved plans: `plan -o plan.json` writes the JSON plan; `apply plan.json` loads it and refuses it when stale.

A saved plan holds the manifests' digest, each change's fingerprint of the live task it was planned against,
and secret references (`${secret:NAME}`), never values. The file is written with mode 0600 all the same: it
names hosts, users and ids.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dtsflow.client.live import Live
from dtsflow.errors import DtsflowError, StalePlanError
from dtsflow.plan.diff import failed_check_names, fingerprint
from dtsflow.plan.model import FORMAT_VERSION, Plan
from dtsflow.plan.planner import Manifests
from dtsflow.plan.render.json import plan_schema, render_json

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


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def looks_like_a_plan(path: str | os.PathLike[str]) -> bool:
    """A file holding a JSON object with a plan's `format_version` and `changes` (no schema check: a quick look)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and "format_version" in document and "changes" in document


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a saved plan; a clear error for anything that is not one of ours.

    The file is checked against the plan's JSON Schema (`schemas/plan.schema.json`, generated from the same model)
    before anything in it is trusted: a hand-edited or truncated plan gets an error naming where it is wrong
    (line and column for broken JSON, the JSON path for a value that does not fit).
    """
    import jsonschema  # type: ignore[import-untyped]  # only when a plan file is read: `--help` stays fast

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DtsflowError(f"cannot read plan file {path}: {exc.__class__.__name__}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DtsflowError(
            f"{path}:{exc.lineno}:{exc.colno}: not a dtsflow plan file: broken JSON ({exc.msg}); "
            f"was it cut short or edited by hand?{RERUN}"
        ) from None
    version = document.get("format_version") if isinstance(document, dict) else None
    if isinstance(version, str | int) and str(version) != FORMAT_VERSION:
        raise DtsflowError(f"{path} has plan format_version {version}; this dtsflow reads {FORMAT_VERSION}{RERUN}")
    validator = jsonschema.Draft202012Validator(plan_schema())
    problem = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if problem is not None:
        expected = f": expected {problem.validator_value}" if problem.validator in ("type", "enum", "const") else ""
        raise DtsflowError(
            f"{path}: not a dtsflow plan file at {_json_path(problem.absolute_path)} "
            f"({problem.validator} check failed{expected}); was it edited by hand?{RERUN}"
        ) from None
    try:
        plan = Plan.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "$"
        raise DtsflowError(f"{path} is not a dtsflow plan file ({where}: {first['msg']})") from None
    if plan.format_version != FORMAT_VERSION:
        raise DtsflowError(
            f"{path} has plan format_version {plan.format_version}; this dtsflow reads {FORMAT_VERSION}{RERUN}"
        )
    return plan


def check_origin(plan: Plan, endpoint: str, key_digest: str) -> None:
    """Refuse a saved plan made against another endpoint or with another account's access key."""
    if plan.origin is None:
        raise StalePlanError(f"the plan file does not say where it was made (an older or edited file){RERUN}")
    if plan.origin.endpoint != endpoint:
        raise StalePlanError(
            f"the plan was made against {plan.origin.endpoint}, not {endpoint}: apply it where it was made{RERUN}"
        )
    if plan.origin.access_key_digest != key_digest:
        raise StalePlanError(f"the plan was made with another access key (another account or user){RERUN}")


def _steps_of(plan: Plan) -> list[tuple[str, str | None, list[dict[str, Any]]]]:
    return [(c.task, c.dts_id, [s.model_dump(mode="json") for s in c.steps]) for c in plan.changes]


def check_same_steps(saved: Plan, now: Plan) -> Plan:
    """`now` (planned from the manifests and the live tasks) when its steps are exactly the saved plan's;
    otherwise `StalePlanError` naming the first task whose steps differ.

    A task the planner refuses now because of a guard of the moment (a replication delay above its cutover
    gate) keeps its saved change: its steps check that guard again when they run, and say why they stop."""
    saved_by_task = {c.task: c for c in saved.changes}
    now = now.model_copy(
        update={
            "changes": [
                saved_by_task[c.task] if c.error and c.task in saved_by_task and not saved_by_task[c.task].error else c
                for c in now.changes
            ]
        }
    )
    if _steps_of(saved) == _steps_of(now):
        return now
    before = {c.task: c for c in saved.changes}
    after = {c.task: c for c in now.changes}
    for name in [*before, *(n for n in after if n not in before)]:
        old, new = before.get(name), after.get(name)
        kinds = [s.kind.value for s in old.steps] if old else None
        now_kinds = [s.kind.value for s in new.steps] if new else None
        if (
            old is None
            or new is None
            or _steps_of(saved.model_copy(update={"changes": [old]}))
            != _steps_of(now.model_copy(update={"changes": [new]}))
        ):
            raise StalePlanError(
                f"the saved plan's steps for {name} ({kinds or 'none'}) are not what the manifests and the live "
                f"tasks need now ({now_kinds or 'none'}): the file was edited or the situation changed{RERUN}"
            )
    raise StalePlanError(f"the saved plan's order of tasks is not what planning gives now{RERUN}")


def check_stale(plan: Plan, manifests: Manifests, live: Live) -> None:
    """Raise `StalePlanError` when the manifests or any planned task's live state changed since `plan`."""
    if manifests.digest != plan.manifest_digest:
        raise StalePlanError(f"plan is stale: the manifests changed since the plan was made{RERUN}")
    for change in plan.changes:
        if change.fingerprint is None:
            continue
        now = live.tasks.get(change.task)
        if now is None and change.renamed_from is not None:  # not renamed yet: still under its previous name
            now = live.tasks.get(change.renamed_from)
        if change.live_status is None and now is not None:
            raise StalePlanError(
                f"plan is stale: task {change.task} was planned to be created but now exists "
                f"({now.dts_id}, {now.status}){RERUN}"
            )
        items = live.precheck.get(now.dts_id, ()) if now is not None else ()
        if fingerprint(now, change.spec, precheck=items) == change.fingerprint:
            continue
        if now is None:
            raise StalePlanError(f"plan is stale: task {change.task} no longer exists{RERUN}")
        if now.status != change.live_status:
            raise StalePlanError(
                f"plan is stale: task {change.task} changed from {change.live_status} to {now.status} "
                f"since the plan was made{RERUN}"
            )
        was, failed = failed_check_names(change.precheck), failed_check_names(items)
        if was != failed:
            raise StalePlanError(
                f"plan is stale: the failed precheck items of task {change.task} changed since the plan was made "
                f"(were {', '.join(was) or 'none'}; now {', '.join(failed) or 'none'}){RERUN}"
            )
        raise StalePlanError(
            f"plan is stale: the configuration of task {change.task} changed since the plan was made{RERUN}"
        )
    if plan.prune and not plan.targets:  # a targeted plan prunes nothing
        # A task that appeared under a prune prefix since the plan was made would escape the reviewed deletion list.
        planned = {c.task for c in plan.changes} | {c.renamed_from for c in plan.changes if c.renamed_from}
        new = sorted(
            n
            for n in live.tasks
            if n not in planned and n not in manifests.tasks and any(n.startswith(p) for p in manifests.prune_prefixes)
        )
        if new:
            raise StalePlanError(f"plan is stale: new task(s) under the prune prefix: {', '.join(new)}{RERUN}")
