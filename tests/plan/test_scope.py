"""A run answers for the tasks it manages only: another team's duplicate names and failed prechecks neither
block it nor cost it requests (through the CLI, against the emulator over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dtsflow.client.wire import config_body
from tests.plan.factories import spec
from tests.plan.test_cli import plan, seed, stats, write_manifest


def test_a_duplicate_name_no_manifest_manages_is_a_warning(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    ids = seed(admin, (spec("billing-sync"), "running"), (spec("billing-sync"), "ready"))
    path = write_manifest(tmp_path, "{name: orders-a}")
    result = plan(str(path), env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stdout.splitlines() if line.startswith("warning:"))
    assert "billing-sync" in warning and ids[0] in warning and ids[1] in warning
    assert "+ orders-a" in result.stdout


def test_a_duplicate_name_under_the_prune_prefix_is_an_error(
    tmp_path: Path, admin: Any, api_env: dict[str, str]
) -> None:
    ids = seed(admin, (spec("orders-old"), "running"), (spec("orders-old"), "ready"))
    path = write_manifest(tmp_path, "{name: orders-a}")  # prune.prefix orders- covers orders-old
    result = plan(str(path), env=api_env, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ids[0] in result.stderr and ids[1] in result.stderr


def test_prechecks_are_read_only_for_managed_tasks(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    items = [{"name": "srcMysqlConnect", "status": "failed", "message": "unreachable", "subscription": "d"}]
    theirs = [{**config_body(spec(f"billing-{i}")), "status": "checkFailed", "precheckItems": items} for i in range(3)]
    ours = {**config_body(spec("orders-a")), "status": "checkFailed", "precheckItems": items}
    seed(admin, *theirs, ours)
    admin.post("/_emulator/stats/reset", json={}).raise_for_status()
    path = write_manifest(tmp_path, "{name: orders-a}")
    result = plan(str(path), env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "precheck failed: srcMysqlConnect" in result.stdout
    assert stats(admin)["requests"].get("getPrecheck") == 1  # orders-a's only, not the three of billing-*
