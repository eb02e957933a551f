"""`dtsflow plan` run as a user runs it, against the emulator over HTTP."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import jsonschema

from dtsflow.client.wire import config_body, managed_tags
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.refresh import OTHER_TASK_TYPES
from tests.helpers import REPO, run_cli
from tests.plan.factories import spec

CANARY = "canary-Pa55w0rd-7f3a9c"

MANIFEST = """\
version: 1
defaults:
  standard: large
  dataType: [schema, base, increment]
  src: {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.12, port: 3306, user: dts_reader,
        password: "{{ secret('ORDERS_DB_PASSWORD') }}"}
  dst: {instanceType: public, dbType: kafka, region: bj, host: kafka.internal, port: 9092}
  objects: [{type: table, src: orders.items}]
prune: {prefix: orders-}
tasks:
"""


def write_manifest(directory: Path, *tasks: str) -> Path:
    path = directory / "tasks.yaml"
    path.write_text(MANIFEST + "".join(f"  - {t}\n" for t in tasks))
    return path


def seed(admin: Any, *entries: tuple[TaskSpec, str] | dict[str, Any]) -> list[str]:
    """Put tasks into the emulator in one admin call: (spec, status) pairs as configured tasks, or raw dicts.
    Each carries dtsflow's tag (as if dtsflow had created it) unless the dict says otherwise (`tags: []`)."""
    docs = []
    for entry in entries:
        if isinstance(entry, dict):
            docs.append({"tags": managed_tags(), **entry})
            continue
        task, status = entry
        docs.append(
            {**config_body(task), "standard": task.standard.capitalize(), "status": status, "tags": managed_tags()}
        )
    answer = admin.post("/_emulator/tasks", json={"tasks": docs})
    answer.raise_for_status()
    return list(answer.json()["dtsIds"])


def stats(admin: Any) -> dict[str, Any]:
    return dict(admin.get("/_emulator/stats").json())


def plan(*args: str, env: dict[str, str], cwd: Path) -> Any:
    return run_cli("plan", *args, cwd=cwd, env={"ORDERS_DB_PASSWORD": CANARY, **env})


def test_new_tasks_detailed_exitcode_2(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    path = write_manifest(tmp_path, "{name: orders-a}", "{name: orders-b, state: ready, dependsOn: [orders-a]}")
    result = plan(str(path), "--detailed-exitcode", env=api_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "+ orders-a  create (absent -> running)" in result.stdout
    assert result.stdout.index("+ orders-a") < result.stdout.index("+ orders-b")
    assert "Plan: 2 to create, 0 to reconfigure, 0 to transition, 0 to delete." in result.stdout
    plain = plan(str(path), env=api_env, cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout == result.stdout


def test_nothing_to_do_exit_0_and_only_list_requests(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    seed(admin, (spec("orders-a"), "running"), (spec("orders-b", state="paused"), "stopped"))
    path = write_manifest(tmp_path, "{name: orders-a}", "{name: orders-b, state: paused}")
    admin.post("/_emulator/stats/reset", json={})
    result = plan(str(path), "--detailed-exitcode", env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes." in result.stdout
    counts = stats(admin)["requests"]
    # one list of migration tasks, one of each other type (bidirect, group, rollback: their names are checked)
    assert set(counts) <= {"list", "listWithPage"} and sum(counts.values()) == 1 + len(OTHER_TASK_TYPES)


def test_transitions_and_prune(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    seed(
        admin,
        (spec("orders-a"), "stopped"),
        (spec("orders-b"), "running"),
        (spec("orders-old"), "running"),
        (spec("users-x"), "running"),
    )
    path = write_manifest(tmp_path, "{name: orders-a}", "{name: orders-b, state: paused}")
    result = plan(str(path), "--detailed-exitcode", env=api_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "> orders-a" in result.stdout and "1. start" in result.stdout
    assert "> orders-b" in result.stdout and "1. pause" in result.stdout
    assert "Would be pruned with --prune: orders-old" in result.stdout
    pruned = plan(str(path), "--prune", env=api_env, cwd=tmp_path)
    assert "- orders-old" in pruned.stdout and "users-x" not in pruned.stdout
    assert "2 to transition, 1 to delete." in pruned.stdout


def test_other_task_types_are_listed_a_name_collision_is_an_error_and_prune_leaves_them(
    tmp_path: Path, admin: Any, api_env: dict[str, str]
) -> None:
    seed(
        admin,
        {**config_body(spec("orders-sync")), "type": "bidirect", "status": "running"},
        {**config_body(spec("orders-group")), "type": "group", "status": "running"},
        {**config_body(spec("orders-back")), "type": "rollback", "status": "running"},
    )
    path = write_manifest(tmp_path, "{name: orders-sync}")
    clash = plan(str(path), "--prune", env=api_env, cwd=tmp_path)
    assert clash.returncode == 1, clash.stdout + clash.stderr
    assert "a live bidirect task" in clash.stdout + clash.stderr and "dtsflow manages migration tasks only" in (
        clash.stdout + clash.stderr
    )
    assert "orders-group" not in clash.stdout and "orders-back" not in clash.stdout  # prune leaves other types
    assert stats(admin)["requests"].get("list", 0) >= 4  # migration, then bidirect, group and rollback


def test_invalid_manifest_costs_no_request(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    path = write_manifest(tmp_path, "{name: orders-a, state: runing}")
    result = plan(str(path), env=api_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "tasks.yaml" in result.stderr and "Traceback" not in result.stderr
    assert stats(admin)["total"] == 0


def test_impossible_transition_is_rendered_then_exit_1(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    seed(admin, (spec("orders-a"), "finished"))
    path = write_manifest(tmp_path, "{name: orders-a}")
    result = plan(str(path), "--detailed-exitcode", "-o", str(tmp_path / "p.json"), env=api_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot run again" in result.stdout and "cannot be applied" in result.stderr
    assert not (tmp_path / "p.json").exists()


def test_duplicate_names_name_both_ids(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    ids = seed(admin, (spec("orders-a"), "running"), (spec("orders-a"), "ready"))
    path = write_manifest(tmp_path, "{name: orders-a}")
    result = plan(str(path), env=api_env, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ids[0] in result.stderr and ids[1] in result.stderr


def test_failed_precheck_items_in_markdown(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    items = [
        {
            "name": "srcMysqlBinlogFormat",
            "status": "failed",
            "message": "binlog_format is STATEMENT",
            "subscription": "d1",
        },
        {"name": "srcMysqlConnect", "status": "pass", "message": "", "subscription": "d2"},
    ]
    body = {**config_body(spec("orders-a")), "status": "checkFailed", "precheckItems": items}
    seed(admin, body)
    path = write_manifest(tmp_path, "{name: orders-a, precheck: {skip: [srcMysqlBinlogFormat]}}")
    result = plan(str(path), "--format", "markdown", env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "| <code>orders-a</code> | <code>srcMysqlBinlogFormat</code> | binlog&#95;format is STATEMENT | d1 |"
        in result.stdout
    )
    assert "skip-precheck → start" in result.stdout
    assert stats(admin)["requests"].get("getPrecheck") == 1


def test_saved_plan_json_and_canary(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    seed(admin, (spec("orders-b"), "running"))
    path = write_manifest(tmp_path, "{name: orders-a}", "{name: orders-b, dst: {host: kafka2.internal}}")
    out = tmp_path / "plan.json"
    result = plan(str(path), "--format", "json", "-o", str(out), env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["format_version"] == "1"
    assert [c["action"] for c in document["changes"]] == ["create", "reconfigure"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    saved = out.read_text()
    assert json.loads(saved)["manifest_digest"] == document["manifest_digest"]
    assert "${secret:ORDERS_DB_PASSWORD}" in saved
    for fmt in ("text", "markdown"):
        other = plan(str(path), "--format", fmt, env=api_env, cwd=tmp_path)
        assert CANARY not in other.stdout + other.stderr
    assert CANARY not in result.stdout + result.stderr + saved


def test_embedded_emulator_in_cwd(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, "{name: orders-a}")
    result = run_cli(
        "plan", "--emulator", str(path), "--detailed-exitcode", cwd=tmp_path, env={"ORDERS_DB_PASSWORD": CANARY}
    )
    assert result.returncode == 2, result.stderr
    assert (tmp_path / ".dtsflow").is_dir()
    assert "+ orders-a" in result.stdout


def test_planning_2500_tasks_costs_three_list_requests(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    seed(admin, *[(spec(f"orders-{i:04d}"), "running") for i in range(2500)])
    path = tmp_path / "many.yaml"
    path.write_text(MANIFEST + "".join(f"  - {{name: orders-{i:04d}}}\n" for i in range(2500)))
    admin.post("/_emulator/stats/reset", json={})
    result = plan(str(path), "--detailed-exitcode", env=api_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    counts = stats(admin)["requests"]
    others = len(OTHER_TASK_TYPES)  # one list call per other task type (no such task here: one page each)
    assert counts.get("list", 0) + counts.get("listWithPage", 0) <= 3 + others
    assert counts.get("get", 0) == 0 and stats(admin)["total"] <= 3 + others


def test_replace_needs_allow_replace_and_reconfigure_names_must_exist(
    tmp_path: Path, admin: Any, api_env: dict[str, str]
) -> None:
    seed(
        admin,
        (spec("orders-a", dst={"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "h"}), "running"),
    )
    path = write_manifest(tmp_path, "{name: orders-a}")
    refused = plan(str(path), env=api_env, cwd=tmp_path)
    assert refused.returncode == 1 and "--allow-replace" in refused.stdout
    allowed = plan(str(path), "--allow-replace", "--detailed-exitcode", env=api_env, cwd=tmp_path)
    assert allowed.returncode == 2 and "-/+ orders-a" in allowed.stdout
    unknown = plan(str(path), "--reconfigure", "nosuch", env=api_env, cwd=tmp_path)
    assert unknown.returncode == 1 and "nosuch" in unknown.stderr and "Traceback" not in unknown.stderr


def test_colours_on_a_terminal_only_without_no_color(tmp_path: Path, admin: Any, api_env: dict[str, str]) -> None:
    import os
    import pty
    import subprocess
    import sys

    path = write_manifest(tmp_path, "{name: orders-a}")

    def on_terminal(extra: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR" and not k.startswith(("BCE_", "DTSFLOW_"))}
        env |= {"PYTHONPATH": str(REPO), "ORDERS_DB_PASSWORD": CANARY, **api_env, **extra}
        proc = subprocess.run(
            [sys.executable, "-m", "dtsflow", "plan", str(path)], stdout=follower, stderr=subprocess.PIPE, env=env,
            cwd=tmp_path, timeout=60,
        )  # fmt: skip
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert proc.returncode == 0, proc.stderr
        return b"".join(chunks).decode()

    assert "\x1b[32m+ orders-a" in on_terminal({})
    assert "\x1b[" not in on_terminal({"NO_COLOR": "1"})
    assert "\x1b[" not in plan(str(path), env=api_env, cwd=tmp_path).stdout  # not a terminal
