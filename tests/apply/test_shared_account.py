"""Running in a shared account and in CI: rate limits, ownership, teardown order (the real CLI against the
emulator over HTTP)."""

from __future__ import annotations

import httpx

from tests.apply.conftest import Env, task


def test_a_rate_cap_slows_the_whole_run_down_and_every_new_task_succeeds(env: Env) -> None:
    env.faults(rate_limit_rps=3, rate_limit_burst=3)
    manifest = env.write([task(f"orders-{i}", state="ready") for i in range(10)])
    result = env.apply(manifest, "--auto-approve")  # the default --parallelism 10
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 applied, 0 failed, 0 not attempted" in result.stdout
    assert all(t["status"] == "ready" for t in env.by_name().values())
    assert env.stats()["faults"].get("rate_limited", 0) > 0  # the cap was hit, and the run adapted
    notes = [line for line in result.stderr.splitlines() if "--rate-limit" in line]
    assert len(notes) == 1, result.stderr  # said once, naming the flag


def _console_task(env: Env, name: str, status: str = "running") -> str:
    """A task somebody made in the console: the manifest's config, but no dtsflow tag."""
    from dtsflow.client.wire import config_body
    from dtsflow.manifest.model import TaskSpec

    spec = TaskSpec.model_validate({**task(name), "src": {**task(name)["src"], "password": None}}, strict=False)
    body = {**config_body(spec), "status": status, "tags": []}
    answer = httpx.post(env.url + "/_emulator/tasks", json={"tasks": [body]}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["dtsIds"][0])


def test_what_dtsflow_creates_carries_its_tag(env: Env) -> None:
    assert env.apply(env.write([task("orders", state="ready")]), "--auto-approve").returncode == 0
    assert env.by_name()["orders"]["tags"] == [{"tagKey": "managed-by", "tagValue": "dtsflow"}]


def test_a_task_made_in_the_console_is_adopted_only_when_asked(env: Env) -> None:
    dts_id = _console_task(env, "orders")
    manifest = env.write([task("orders")])
    env.reset_stats()
    refused = env.cli("plan", manifest)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"({dts_id}) was not created by dtsflow" in refused.stdout and "--adopt orders" in refused.stdout
    refused_apply = env.apply(manifest, "--auto-approve")
    assert refused_apply.returncode == 1 and env.mutating() == 0

    shown = env.cli("plan", manifest, "--adopt", "orders")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "ADOPT" in shown.stdout and "1. tag" in shown.stdout and "1 to adopt" in shown.stdout
    adopted = env.apply(manifest, "--auto-approve", "--adopt", "orders")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert env.by_name()["orders"]["tags"] == [{"tagKey": "managed-by", "tagValue": "dtsflow"}]
    assert env.by_name()["orders"]["dtsId"] == dts_id
    again = env.cli("plan", manifest, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr  # tagged now: nothing left to adopt


def test_adopt_true_in_the_manifest_and_prune_leaves_untagged_tasks_alone(env: Env) -> None:
    _console_task(env, "orders")
    stray = _console_task(env, "orders-old", status="finished")
    manifest = env.write([task("orders", adopt=True)], prune="orders-")
    result = env.apply(manifest, "--auto-approve", "--prune")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "orders-old" in result.stdout and "never pruned" in result.stdout
    assert env.by_name()["orders-old"]["dtsId"] == stray


def test_a_failed_disruptive_reconfigure_says_first_that_replication_is_stopped(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.faults(fail_next={"config": {"count": 5, "status": 400, "code": "InvalidParameter"}})
    result = env.apply(
        env.write([task("orders", dst={**task("x")["dst"], "host": "kafka2.internal"})]), "--auto-approve"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    first = next(line for line in result.stdout.splitlines() if line.strip().startswith("failed") and "orders" in line)
    assert "REPLICATION IS STOPPED" in first
    assert env.by_name()["orders"]["status"] == "stopped"


def test_a_config_change_to_a_paused_task_warns_that_replication_runs_briefly(env: Env) -> None:
    assert env.apply(env.write([task("orders", state="paused")]), "--auto-approve").returncode == 0
    changed = task("orders", state="paused", dst={**task("x")["dst"], "host": "kafka2.internal"})
    result = env.cli("plan", env.write([changed]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: config leaves the task ready" in result.stdout and "replication runs briefly" in result.stdout


def test_colour_switches_follow_no_color_force_color_and_no_color_flag(env: Env) -> None:
    manifest = env.write([task("orders")])
    forced = env.cli("plan", manifest, NO_COLOR="", FORCE_COLOR="1")  # an empty NO_COLOR does not count
    assert "\x1b[" in forced.stdout, forced.stderr
    assert "\x1b[" not in env.cli("plan", manifest, NO_COLOR="1", FORCE_COLOR="1").stdout
    assert "\x1b[" not in env.cli("plan", manifest, "--no-color", NO_COLOR="", FORCE_COLOR="1").stdout


def test_prune_help_and_an_endpoint_without_a_scheme_get_a_hint(env: Env) -> None:
    from tests.helpers import run_cli

    helped = run_cli("plan", "--help")
    assert "no manifest names" in helped.stdout and "unnamed" not in helped.stdout
    manifest = env.write([task("orders")])
    bare = run_cli("plan", manifest, "--endpoint", "127.0.0.1:9", cwd=env.cwd, env=env.env())
    assert bare.returncode == 1
    assert "has no scheme" in bare.stderr and "http://" in bare.stderr


def test_a_text_plan_never_says_every_task_is_in_its_desired_state_while_its_config_differs(env: Env) -> None:
    full = {"dataType": ["schema", "base"]}
    assert env.apply(env.write([task("orders", **full)]), "--auto-approve").returncode == 0
    # The apply is done once the full load runs (`running` counts for a task without increment); the load then
    # finishes on the emulator's own timeline (0.1 s here), which an apply that ends quickly may not wait out.
    env.wait_status("orders", "finished", passing=("running",))
    moved = task("orders", dst={**task("x")["dst"], "host": "kafka2.internal"}, **full)
    result = env.cli("plan", env.write([moved]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every task is in its desired state" not in result.stdout
    assert "config of these tasks differs" in result.stdout and "kafka2.internal" in result.stdout


def test_debug_shows_every_api_call_without_a_secret(env: Env) -> None:
    from tests.apply.conftest import CANARY

    result = env.apply(env.write([task("orders", state="ready")]), "--auto-approve", "--debug")
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [line for line in result.stderr.splitlines() if line.startswith("debug: ")]
    assert any(line.startswith("debug: create POST /v1/task -> 200 (requestId ") for line in calls), calls
    config = next(line for line in calls if line.startswith("debug: config POST /v1/task/"))
    assert config.endswith(" ms, retry 0)")
    assert CANARY not in result.stdout + result.stderr and env.secret_key not in result.stderr
    planned = env.cli("plan", env.write([task("orders", state="ready")]), DTSFLOW_LOG="debug")
    assert "debug: list POST /v1/task/list -> 200" in planned.stderr


def test_plan_o_naming_a_directory_is_a_clear_error(env: Env) -> None:
    (env.cwd / "out").mkdir()
    result = env.cli("plan", env.write([task("orders")]), "-o", "out")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "-o out: is a directory; give a file name such as out/plan.json" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
