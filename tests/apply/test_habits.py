"""Habits Terraform users bring, end to end through the real CLI against the emulator: `--target`, `destroy`,
`show`, `previousNames`, `--env`, `--lock-timeout`."""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.apply.conftest import Env, task
from tests.apply.test_terminal import run_on_terminal
from tests.helpers import run_cli


def _three(env: Env) -> str:
    """orders <- users <- billing (billing depends on users, users on orders), plus an unrelated `audit`."""
    return env.write(
        [
            task("orders", state="ready"),
            task("users", state="ready", dependsOn=["orders"]),
            task("billing", state="ready", dependsOn=["users"]),
            task("audit", state="ready"),
        ],
        prune="shop-",
    )


def test_target_plans_and_applies_only_the_target_and_its_dependencies(env: Env) -> None:
    manifest = _three(env)
    planned = env.cli("plan", manifest, "--target", "users")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "+ orders" in planned.stdout and "+ users" in planned.stdout
    assert "billing" not in planned.stdout.split("warning:")[0] and "audit" not in planned.stdout
    assert "--target is in effect: this plan is partial" in planned.stdout
    applied = env.apply(manifest, "--target", "users", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sorted(env.by_name()) == ["orders", "users"]


def test_an_unknown_target_is_an_error_before_any_request(env: Env) -> None:
    manifest = _three(env)
    env.reset_stats()
    for command in ("plan", "apply"):
        result = env.cli(command, manifest, "--target", "nope", "--auto-approve" if command == "apply" else "--prune")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "--target names tasks that no manifest defines: nope" in result.stderr
        assert "Traceback" not in result.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0


def test_a_targeted_plan_never_prunes_and_says_so(env: Env) -> None:
    manifest = env.write([task("shop-orders", state="ready"), task("shop-old", state="ready")], prune="shop-")
    assert env.apply(manifest, "--auto-approve").returncode == 0
    manifest = env.write([task("shop-orders", state="ready")], prune="shop-")
    planned = env.cli("plan", manifest, "--prune", "--target", "shop-orders")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "shop-old" not in planned.stdout and "nothing is pruned" in planned.stdout
    env.reset_stats()
    applied = env.apply(manifest, "--prune", "--target", "shop-orders", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.mutating() == 0 and "shop-old" in env.by_name()


def test_a_saved_targeted_plan_records_its_targets_and_applies_the_same(env: Env) -> None:
    manifest = _three(env)
    made = env.cli("plan", manifest, "--target", "users", "-o", "plan.json")
    assert made.returncode == 0, made.stdout + made.stderr
    saved = json.loads((env.cwd / "plan.json").read_text())
    assert saved["targets"] == ["users"]
    assert [c["task"] for c in saved["changes"]] == ["orders", "users"]
    applied = env.apply("plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sorted(env.by_name()) == ["orders", "users"]


def _deployed(env: Env) -> str:
    manifest = env.write(
        [
            task("orders", state="ready"),
            task("users", state="ready", dependsOn=["orders"]),
            task("billing", state="ready", dependsOn=["users"]),
        ]
    )
    assert env.apply(manifest, "--auto-approve").returncode == 0
    return manifest


def test_destroy_deletes_every_task_dependents_first(env: Env) -> None:
    manifest = _deployed(env)
    planned = env.cli("plan", manifest, "--destroy")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    order = [line.split()[1] for line in planned.stdout.splitlines() if line.startswith("  - ")]
    assert order == ["billing", "users", "orders"], planned.stdout
    result = env.cli("destroy", manifest, "--auto-approve", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.by_name() == {}
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    deletes = [e["task"] for e in events if e.get("event") == "step_succeeded" and e.get("step") == "delete"]
    assert deletes == ["billing", "users", "orders"], deletes


def test_destroy_without_a_terminal_or_auto_approve_is_refused_before_any_request(env: Env) -> None:
    manifest = _deployed(env)
    env.reset_stats()
    result = env.cli("destroy", manifest)
    assert result.returncode == 1 and "no terminal to confirm the plan" in result.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0
    assert sorted(env.by_name()) == ["billing", "orders", "users"]


def test_destroy_asks_with_the_number_of_tasks_and_only_yes_goes_on(env: Env) -> None:
    manifest = _deployed(env)
    env.reset_stats()
    code, text = run_on_terminal(env, manifest, answer="y", command="destroy")
    assert code == 1 and "Destroy 3 task(s)?" in text and "Destroy cancelled." in text, text
    assert env.mutating() == 0
    code, text = run_on_terminal(env, manifest, answer="yes", command="destroy")
    assert code == 0, text
    assert env.by_name() == {}


def test_destroy_with_a_target_takes_its_dependents_and_leaves_the_rest(env: Env) -> None:
    manifest = _deployed(env)
    result = env.cli("destroy", manifest, "--target", "users", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(env.by_name()) == ["orders"]


def test_a_saved_destroy_plan_applies_as_reviewed(env: Env) -> None:
    manifest = _deployed(env)
    made = env.cli("plan", manifest, "--destroy", "-o", "plan.json")
    assert made.returncode == 0, made.stdout + made.stderr
    assert json.loads((env.cwd / "plan.json").read_text())["destroy"] is True
    applied = env.apply("plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.by_name() == {}


def _show(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    """`dtsflow show ARGS`: no endpoint, no credentials (it needs neither)."""
    return run_cli("show", *args, cwd=env.cwd)


def test_show_renders_a_saved_plan_without_any_request(env: Env) -> None:
    manifest = env.write([task("orders", state="ready"), task("users", state="ready", dependsOn=["orders"])])
    made = env.cli("plan", manifest, "-o", "plan.json", "--format", "markdown")
    assert made.returncode == 0, made.stdout + made.stderr
    env.reset_stats()
    text = _show(env, "plan.json")
    assert text.returncode == 0, text.stdout + text.stderr
    planned_text = env.cli("plan", manifest).stdout
    markdown = _show(env, "plan.json", "--format", "markdown")
    document = _show(env, "plan.json", "--format", "json")
    assert text.stdout == planned_text
    assert markdown.stdout == made.stdout
    assert json.loads(document.stdout) == json.loads((env.cwd / "plan.json").read_text())
    env.reset_stats()
    assert _show(env, "plan.json").returncode == 0
    assert sum(env.stats().get("requests", {}).values()) == 0


def test_show_of_a_file_that_is_not_a_plan_is_a_located_error(env: Env) -> None:
    (env.cwd / "broken.json").write_text('{"format_version": "1",\n  "changes": [}\n')
    broken = _show(env, "broken.json")
    assert broken.returncode == 1 and "broken.json:2:" in broken.stderr and "broken JSON" in broken.stderr
    (env.cwd / "edited.json").write_text(json.dumps({"format_version": "1", "manifest_digest": 7}))
    edited = _show(env, "edited.json")
    assert edited.returncode == 1 and "not a dtsflow plan file at $.manifest_digest" in edited.stderr
    missing = _show(env, "nope.json")
    assert missing.returncode == 1 and "cannot read plan file nope.json" in missing.stderr
    assert "Traceback" not in broken.stderr + edited.stderr + missing.stderr


def test_previous_names_rename_the_live_task_instead_of_creating_one(env: Env) -> None:
    assert env.apply(env.write([task("orders-old", state="ready")]), "--auto-approve").returncode == 0
    dts_id = env.by_name()["orders-old"]["dtsId"]
    manifest = env.write([task("orders", state="ready", previousNames=["orders-old"])], prune="orders")
    planned = env.cli("plan", manifest)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert f"> orders {dts_id}  rename" in planned.stdout and "1. rename" in planned.stdout
    assert "1 to rename" in planned.stdout and "Would be pruned" not in planned.stdout
    assert env.cli("plan", manifest, "-o", "plan.json").returncode == 0
    env.reset_stats()
    applied = env.apply("plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.stats()["requests"].get("rename") == 1 and env.mutating() == 1
    assert {name: t["dtsId"] for name, t in env.by_name().items()} == {"orders": dts_id}
    again = env.cli("plan", manifest, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout  # renamed: nothing left to do


def test_a_task_live_under_its_name_and_a_previous_name_is_a_plan_error(env: Env) -> None:
    first = env.write([task("orders", state="ready"), task("orders-old", state="ready")])
    assert env.apply(first, "--auto-approve").returncode == 0
    live = env.by_name()
    manifest = env.write([task("orders", state="ready", previousNames=["orders-old"])])
    env.reset_stats()
    planned = env.cli("plan", manifest)
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert f"live tasks orders ({live['orders']['dtsId']}) and orders-old ({live['orders-old']['dtsId']})" in (
        planned.stdout
    )
    assert env.mutating() == 0


def test_a_previous_name_that_is_a_task_of_the_run_is_a_located_error(env: Env) -> None:
    manifest = env.write([task("orders", state="ready", previousNames=["users"]), task("users", state="ready")])
    result = run_cli("validate", manifest, cwd=env.cwd)
    assert result.returncode == 1
    assert "tasks.yaml:" in result.stderr and "previousNames[0]" in result.stderr
    assert "previous name 'users' is the name of a task of this run" in result.stderr


def _env_project(env: Env) -> None:
    (env.cwd / "manifests" / "vars").mkdir(parents=True)
    body = task("orders-{{ shard }}", state="{{ state }}")
    (env.cwd / "manifests" / "tasks.yaml").write_text(yaml.safe_dump({"version": 1, "tasks": [body]}, sort_keys=False))
    (env.cwd / "manifests" / "vars" / "prod.yaml").write_text("shard: '07'\nstate: ready\n")
    (env.cwd / "manifests" / "vars" / "staging.yml").write_text("shard: s1\nstate: ready\n")


def test_env_reads_vars_of_the_manifests_directory_for_every_command(env: Env) -> None:
    _env_project(env)
    for path in ("manifests", "manifests/tasks.yaml"):
        valid = run_cli("validate", path, "--env", "prod", cwd=env.cwd)
        assert valid.returncode == 0, valid.stderr
    rendered = run_cli("render", "manifests/tasks.yaml", "--env", "staging", cwd=env.cwd)
    assert "orders-s1" in rendered.stdout
    planned = env.cli("plan", "manifests", "--env", "prod")
    assert planned.returncode == 0 and "+ orders-07" in planned.stdout, planned.stdout + planned.stderr
    overridden = env.cli("plan", "manifests", "--env", "prod", "--var", "shard=99")
    assert "+ orders-99" in overridden.stdout  # --var wins over the environment, as over any --var-file
    applied = env.apply("manifests", "--env", "prod", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    status = env.cli("status", "manifests", "--env", "prod")
    assert status.returncode == 0 and "orders-07" in status.stdout, status.stdout + status.stderr


def test_an_unknown_env_lists_the_known_ones_before_any_request(env: Env) -> None:
    _env_project(env)
    env.reset_stats()
    result = env.cli("plan", "manifests", "--env", "prd")
    assert result.returncode == 1
    assert "--env prd: there is no manifests/vars/prd.yaml (environments: prod, staging)" in result.stderr
    assert "Traceback" not in result.stderr
    bad = env.cli("plan", "manifests", "--env", "../x")
    assert bad.returncode == 1 and "--env expects an environment name" in bad.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0


def test_a_saved_plan_records_the_env_file_and_applies_without_env(env: Env) -> None:
    _env_project(env)
    made = env.cli("plan", "manifests", "--env", "prod", "-o", "plan.json")
    assert made.returncode == 0, made.stdout + made.stderr
    origin = json.loads((env.cwd / "plan.json").read_text())["origin"]
    assert origin["var_files"] == ["manifests/vars/prod.yaml"]
    other = env.apply("plan.json", "--env", "staging")
    assert other.returncode == 1 and "records the --var, --var-file and --env values" in other.stderr
    applied = env.apply("plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.by_name()["orders-07"]["status"] == "ready"
