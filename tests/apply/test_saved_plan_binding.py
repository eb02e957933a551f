"""A saved plan is exactly what was reviewed: its steps, its endpoint and account, its variables (the real CLI
against the emulator over HTTP)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from dtsflow.emulator import start_in_thread
from dtsflow.emulator.store import Store
from tests.apply.conftest import Env, task


def test_an_edited_step_is_refused_and_nothing_is_sent(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    manifest = env.write([task("orders", state="paused")])
    assert env.cli("plan", manifest, "-o", "plan.json").returncode == 0
    saved = json.loads((env.cwd / "plan.json").read_text())
    assert [s["kind"] for s in saved["changes"][0]["steps"]] == ["pause"]
    saved["changes"][0]["steps"][0]["kind"] = "shutdown"  # a reviewed pause edited into a shutdown
    (env.cwd / "plan.json").write_text(json.dumps(saved))
    env.reset_stats()
    result = env.apply("plan.json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "steps for orders" in result.stderr and "edited" in result.stderr
    assert env.mutating() == 0 and env.by_name()["orders"]["status"] == "running"


def test_a_plan_made_against_one_endpoint_is_refused_by_another(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    assert env.cli("plan", manifest, "-o", "plan.json").returncode == 0
    with start_in_thread(time_scale=0.01) as other:
        elsewhere = Env(other.url, other.access_key, other.secret_key, env.cwd)
        result = elsewhere.apply("plan.json")
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"made against {env.url}" in result.stderr
        assert elsewhere.mutating() == 0


def test_the_plan_records_its_variables_and_the_hint_is_the_exact_command(env: Env) -> None:
    body = task("orders-{{ shard }}", state="ready")
    (env.cwd / "tasks.yaml").write_text(yaml.safe_dump({"version": 1, "tasks": [body]}, sort_keys=False))
    (env.cwd / "vars.yaml").write_text("unused: 1\n")
    made = env.cli("plan", "tasks.yaml", "--var", "shard=07", "--var-file", "vars.yaml", "-o", "plan.json")
    assert made.returncode == 0, made.stdout + made.stderr
    hint = made.stderr.split("apply it with: ", 1)[1].strip()
    assert hint == f"dtsflow apply plan.json --endpoint {env.url}"
    saved = json.loads((env.cwd / "plan.json").read_text())
    assert saved["origin"]["variables"] == {"shard": "07"} and saved["origin"]["var_files"] == ["vars.yaml"]
    assert env.access_key not in json.dumps(saved) and env.secret_key not in json.dumps(saved)
    from tests.helpers import run_cli

    words = shlex.split(hint)
    assert words[:2] == ["dtsflow", "apply"]
    applied = run_cli(*words[1:], cwd=env.cwd, env=env.env())  # exactly the printed command, no --var again
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.by_name()["orders-07"]["status"] == "ready"


def test_other_variables_at_apply_time_are_refused(env: Env) -> None:
    body = task("orders-{{ shard }}", state="ready")
    (env.cwd / "tasks.yaml").write_text(yaml.safe_dump({"version": 1, "tasks": [body]}, sort_keys=False))
    assert env.cli("plan", "tasks.yaml", "--var", "shard=07", "-o", "plan.json").returncode == 0
    result = env.apply("plan.json", "--var", "shard=08")
    assert result.returncode == 1 and "records the --var" in result.stderr


def test_a_var_that_looks_like_a_secret_is_not_recorded(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    result = env.cli("plan", manifest, "--var", "db_password=hunter2", "-o", "plan.json")
    assert result.returncode == 1 and "looks like a secret" in result.stderr
    assert not (env.cwd / "plan.json").exists()


def test_a_saved_plan_given_with_manifests_is_refused_before_any_request(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    assert env.cli("plan", manifest, "-o", "plan.json").returncode == 0
    env.reset_stats()
    for paths in (("plan.json", manifest), (manifest, "plan.json")):
        result = env.apply(*paths, "--auto-approve")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "plan.json is a saved plan: apply it on its own (dtsflow apply plan.json)" in result.stderr
        assert "unknown key" not in result.stderr and "Traceback" not in result.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0 and env.tasks() == []


def test_a_plan_made_against_other_failed_precheck_items_is_refused(tmp_path: Path) -> None:
    """The reviewed plan skipped the failed checks it showed; when the service's failed items change (the checks
    ran again elsewhere and something else fails now) with the task still checkFailed, the plan is stale."""
    with start_in_thread(time_scale=0.01) as emu:
        env = Env(emu.url, emu.access_key, emu.secret_key, tmp_path)
        bad = task("bad", state="prechecked", src_host="db-binlog-off.internal")
        assert env.apply(env.write([bad]), "--auto-approve").returncode == 1  # checkFailed: the binlog format
        failed = "srcMysqlBinlogFormat"
        allowed = {**bad, "precheck": {"skip": [failed, "srcMysqlBinlogRowImage"]}}
        manifest = env.write([allowed])
        made = env.cli("plan", manifest, "-o", "plan.json")
        assert made.returncode == 0, made.stdout + made.stderr
        saved = json.loads((env.cwd / "plan.json").read_text())
        assert [s["kind"] for s in saved["changes"][0]["steps"]] == ["skip-precheck"]
        dts_id = env.by_name()["bad"]["dtsId"]
        with emu.engine.store.write() as conn:  # the checks came out differently: row image fails, not the format
            doc = Store.get(conn, dts_id)
            assert doc is not None and doc["_precheck"] is not None
            for item in doc["_precheck"]["items"]:
                if item["status"] == "failed":
                    item["name"] = "srcMysqlBinlogRowImage"
            Store.put(conn, doc)
        env.reset_stats()
        result = env.apply("plan.json")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "failed precheck items of task bad changed" in result.stderr
        assert env.mutating() == 0 and env.status("bad") == "checkFailed"
