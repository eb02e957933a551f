"""`dtsflow apply` end to end: the real CLI in a subprocess against the emulator over HTTP."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from dtsflow.client.statuses import RUNNING_STATUSES
from dtsflow.emulator import RunningEmulator
from tests.apply.conftest import CANARY, REALISM_MODES, Env, apply_in_process, json_lines, task
from tests.helpers import run_cli


@pytest.fixture(params=REALISM_MODES)
def realism(request: pytest.FixtureRequest) -> str:
    """This end-to-end suite runs against plain answers and against every variant the API documentation leaves
    open (`--realism variants`: nulls, `truncated`, `initRunning`, shutdown refused before a start, ...)."""
    return str(request.param)


def test_new_tasks_reach_running_and_a_second_apply_makes_no_mutating_call(env: Env, realism: str) -> None:
    manifest = env.write([task("orders"), task("users"), task("items", state="prechecked")])
    first = env.apply(manifest, "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 applied, 0 failed, 0 not attempted" in first.stdout
    live = env.by_name()
    # With the service's variants a started task may still show initRunning for a while: any running variant is
    # `state: running`. Plain answers go straight to running.
    started = {"running"} if realism == "plain" else {str(s) for s in RUNNING_STATUSES}
    assert live["orders"]["status"] in started
    assert live["users"]["status"] in started
    assert live["items"]["status"] == "checkPass"
    assert env.stats()["requests"].get("get", 0) == 0  # waits poll the list, never one detail call per task

    env.reset_stats()
    second = env.apply(manifest, "--auto-approve")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout
    as_json = env.apply(manifest, "--auto-approve", "--format", "json")
    assert as_json.returncode == 0
    events = json_lines(as_json.stdout)
    assert [e["event"] for e in events] == ["plan", "apply_report"]
    assert events[-1]["unchanged"] == 3 and events[-1]["exit_code"] == 0
    assert env.mutating() == 0
    assert env.stats()["requests"].get("list", 0) >= 2


def test_journal_is_private_and_holds_no_secret(env: Env) -> None:
    manifest = env.write([task("orders", state="ready")])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    journal = env.cwd / ".dtsflow" / "journal"
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(journal.parent).st_mode) == 0o700
    lines = json_lines(journal.read_text())
    assert [line["op"] for line in lines] == ["intent", "created"]
    assert lines[1]["dts_id"] == env.by_name()["orders"]["dtsId"]
    assert CANARY not in journal.read_text()


def test_pause_and_resume(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    paused = env.apply(env.write([task("orders", state="paused")]), "--auto-approve")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert env.by_name()["orders"]["status"] == "stopped"
    resumed = env.apply(env.write([task("orders", state="running")]), "--auto-approve")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert env.status("orders") == "running"


def test_shutdown_keeps_the_task_finished(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.wait_lag("tasks.yaml")
    result = env.apply(env.write([task("orders", state="shutdown")]), "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.by_name()["orders"]["status"] == "finished"


def test_a_never_started_task_goes_absent_whether_or_not_shutdown_is_refused(env: Env, realism: str) -> None:
    """Plain: shutdown, then delete. Variants: the service refuses shutdown before a start; apply deletes directly."""
    assert env.apply(env.write([task("orders", state="ready")]), "--auto-approve").returncode == 0
    plan = env.cli("plan", env.write([task("orders", state="absent")]))
    assert "it never started: if the service refuses shutdown, apply deletes it directly" in plan.stdout
    env.reset_stats()
    gone = env.apply(env.write([task("orders", state="absent")]), "--auto-approve", "--format", "json")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "orders" not in env.by_name()
    requests = env.stats()["requests"]
    assert requests.get("shutdown") == 1 and requests.get("delete") == 1
    steps = [e for e in json_lines(gone.stdout) if e.get("event") == "step_succeeded" and e.get("step") == "shutdown"]
    direct = "refused for a never-started task: deleted directly"
    assert bool(steps) and (steps[0]["note"] == direct) == (realism == "variants")


def test_resizing_back_and_forth_makes_each_resize_and_checks_the_size(env: Env) -> None:
    """large -> xlarge -> large -> xlarge: each is its own order (token of from, to and a generation), and apply
    checks the size the task shows afterwards. The documentation allows a resize from running, stopped and
    runFailed only, so under the variants the test waits for the full load (`initRunning`) to end first."""
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.wait_status("orders", "running", passing=("initRunning",))
    for size in ("xlarge", "large", "xlarge"):
        result = env.apply(env.write([task("orders", standard=size)]), "--auto-approve")
        assert result.returncode == 0, result.stdout + result.stderr
        assert env.by_name()["orders"]["payInfo"]["standard"].lower() == size
    assert env.stats()["requests"].get("resize") == 3


def test_absent_deletes_and_a_new_generation_creates_again(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.wait_lag("tasks.yaml")
    old_id = env.by_name()["orders"]["dtsId"]
    gone = env.apply(env.write([task("orders", state="absent")]), "--auto-approve")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "orders" not in env.by_name()
    again = env.apply(env.write([task("orders")]), "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    live = env.by_name()["orders"]
    assert env.status("orders") == "running" and live["dtsId"] != old_id


def test_a_token_does_not_resurrect_a_deleted_task_without_the_journal(env: Env) -> None:
    """The journal is lost: generation 0's token comes back; the executor must create a new task."""
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.wait_lag("tasks.yaml")
    old_id = env.by_name()["orders"]["dtsId"]
    assert env.apply(env.write([task("orders", state="absent")]), "--auto-approve").returncode == 0
    (env.cwd / ".dtsflow" / "journal").unlink()
    again = env.apply(env.write([task("orders")]), "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    live = env.by_name()
    assert env.status("orders") == "running" and live["orders"]["dtsId"] != old_id
    assert len(env.tasks()) == 1


def test_failed_precheck_stops_that_task_and_shows_its_items(env: Env) -> None:
    manifest = env.write([task("bad", src_host="db-binlog-off.internal"), task("good")])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1
    assert "srcMysqlBinlogFormat" in result.stdout
    assert "1 applied, 1 failed, 0 not attempted" in result.stdout
    assert "not done: precheck, start" in result.stdout
    live = env.by_name()
    assert live["bad"]["status"] == "checkFailed"
    assert env.status("good") == "running"


def test_failed_precheck_allowed_by_the_skip_list(env: Env) -> None:
    skip = {"timeout": "1m", "skip": ["srcMysqlBinlogFormat"]}
    manifest = env.write([task("bad", src_host="db-binlog-off.internal", precheck=skip)])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped failed checks" in result.stdout
    assert env.status("bad") == "running"
    assert env.stats()["requests"].get("skipPrecheck") == 1


def test_dependency_chain_with_a_failure_in_the_middle(env: Env) -> None:
    manifest = env.write(
        [
            task("a"),
            task("b", src_host="b-binlog-off.internal", dependsOn=["a"]),
            task("c", dependsOn=["b"]),
            task("d"),
        ]
    )
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1
    assert "2 applied, 1 failed, 1 not attempted" in result.stdout
    assert "dependency b failed" in result.stdout
    live = env.by_name()
    assert env.status("a") == "running" and env.status("d") == "running"
    assert live["b"]["status"] == "checkFailed"
    assert "c" not in live  # never created


def test_prune_deletes_unnamed_tasks_under_the_prefix(env: Env) -> None:
    assert env.apply(env.write([task("p-keep"), task("p-old"), task("other")]), "--auto-approve").returncode == 0
    manifest = env.write([task("p-keep")], prune="p-")
    without = env.apply(manifest, "--auto-approve")
    assert without.returncode == 0
    assert "p-old" in env.by_name()
    pruned = env.apply(manifest, "--auto-approve", "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    live = env.by_name()
    assert "p-old" not in live
    assert env.status("p-keep") == "running" and env.status("other") == "running"


def test_saved_plan_is_applied_and_a_stale_one_refused(env: Env) -> None:
    manifest = env.write([task("orders")])
    planned = env.cli("plan", manifest, "-o", "plan.json")
    assert planned.returncode in (0, 2), planned.stdout + planned.stderr
    applied = env.apply("plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.status("orders") == "running"

    paused = env.write([task("orders", state="paused")])
    assert env.cli("plan", paused, "-o", "plan.json").returncode in (0, 2)
    env.write([task("orders", state="shutdown")])  # the manifest changed after review
    env.reset_stats()
    stale = env.apply("plan.json")
    assert stale.returncode == 1
    assert "stale" in stale.stderr.lower()
    assert env.mutating() == 0
    assert env.status("orders") == "running"


def test_without_a_terminal_auto_approve_is_required_and_nothing_is_sent(env: Env) -> None:
    manifest = env.write([task("orders")])
    result = env.apply(manifest)
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert env.stats().get("total", 0) == 0


def test_invalid_manifest_costs_no_request(env: Env) -> None:
    (env.cwd / "bad.yaml").write_text("version: 1\ntasks:\n  - name: x\n    stat: running\n")
    result = env.apply("bad.yaml", "--auto-approve")
    assert result.returncode == 1
    assert "bad.yaml" in result.stderr and "Traceback" not in result.stderr
    assert env.stats().get("total", 0) == 0


def test_unresolvable_secret_fails_before_any_mutating_call(env: Env) -> None:
    manifest = env.write([task("orders")])
    without_secret = {k: v for k, v in env.env().items() if k != "DB_PASS"}
    result = run_cli("apply", manifest, "--auto-approve", "--endpoint", env.url, cwd=env.cwd, env=without_secret)
    assert result.returncode == 1
    assert "DB_PASS" in result.stderr and "Traceback" not in result.stderr
    assert env.mutating() == 0


def test_json_lines_output(env: Env) -> None:
    manifest = env.write([task("orders"), task("bad", src_host="x-binlog-off.internal")])
    result = env.apply(manifest, "--auto-approve", "--format", "json")
    assert result.returncode == 1
    events = json_lines(result.stdout)
    assert all(e["format_version"] == "1" for e in events)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "apply_report"
    failed = [e for e in events if e["event"] == "step_failed"]
    assert failed and failed[0]["task"] == "bad"
    assert any(c["name"] == "srcMysqlBinlogFormat" for c in failed[0]["failed_checks"])
    report = events[-1]
    assert report["applied"] == 1 and report["failed"] == 1 and report["exit_code"] == 1
    outcome = {t["task"]: t for t in report["tasks"]}
    assert outcome["bad"]["done"] == ["create", "config"] and outcome["bad"]["not_done"] == ["precheck", "start"]


def test_the_plan_event_is_the_same_document_as_plan_format_json(env: Env) -> None:
    manifest = env.write([task("orders")])
    planned = json.loads(env.cli("plan", manifest, "--format", "json").stdout)
    events = json_lines(env.apply(manifest, "--auto-approve", "--format", "json").stdout)
    assert events[0]["event"] == "plan"
    embedded = events[0]["plan"]
    assert embedded["changes"][0]["spec"]["src"]["dbType"] == "mysql"  # camelCase, as in the plan contract
    assert embedded["changes"] == planned["changes"] and embedded["format_version"] == planned["format_version"]


def test_a_reader_that_goes_away_does_not_stop_or_hang_the_apply(env: Env) -> None:
    manifest = env.write([task("orders"), task("users")])
    proc = env.popen_apply(manifest, "--auto-approve", "--format", "json")
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["event"] == "plan"
    proc.stdout.close()  # `| head -1`: every later write meets a closed pipe
    try:
        proc.wait(timeout=60)  # it used to hang here: a worker died on BrokenPipeError
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert "Traceback" not in stderr and "progress output lost" in stderr
    assert proc.returncode == 1  # the report could not be written, which is an error
    assert env.status("orders") == "running" and env.status("users") == "running"
    env.reset_stats()
    again = env.apply(manifest, "--auto-approve")
    assert again.returncode == 0 and env.mutating() == 0


def test_parallelism_and_timeout_flags_are_checked(env: Env) -> None:
    manifest = env.write([task("orders")])
    assert env.apply(manifest, "--auto-approve", "--parallelism", "0").returncode == 1
    bad = env.apply(manifest, "--auto-approve", "--timeout", "soon")
    assert bad.returncode == 1 and "--timeout" in bad.stderr
    assert env.mutating() == 0


def test_replace_needs_allow_replace_and_then_makes_a_new_task(env: Env) -> None:
    assert env.apply(env.write([task("orders")]), "--auto-approve").returncode == 0
    env.wait_lag("tasks.yaml")
    old_id = env.by_name()["orders"]["dtsId"]
    changed = task("orders")
    changed["dst"] = {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "db2.internal", "port": 3306}
    manifest = env.write([changed])
    env.reset_stats()
    refused = env.apply(manifest, "--auto-approve")
    assert refused.returncode == 1 and env.mutating() == 0
    replaced = env.apply(manifest, "--auto-approve", "--allow-replace")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    live = env.tasks()
    assert len(live) == 1 and live[0]["dtsId"] != old_id and env.status("orders") == "running"


def test_reconfigure_resends_the_configuration_of_a_running_task(env: Env) -> None:
    manifest = env.write([task("orders")])
    assert env.apply(manifest, "--auto-approve").returncode == 0
    env.reset_stats()
    result = env.apply(manifest, "--auto-approve", "--reconfigure", "orders")
    assert result.returncode == 0, result.stdout + result.stderr
    requests = env.stats()["requests"]
    assert requests.get("config") == 1 and requests.get("create", 0) == 0
    assert env.status("orders") == "running"


def test_a_skip_list_added_after_a_failed_precheck_skips_it_on_the_next_apply(env: Env) -> None:
    bad = task("bad", src_host="db-binlog-off.internal")
    assert env.apply(env.write([bad]), "--auto-approve").returncode == 1
    assert env.by_name()["bad"]["status"] == "checkFailed"
    allowed = task("bad", src_host="db-binlog-off.internal", precheck={"skip": ["srcMysqlBinlogFormat"]})
    env.reset_stats()
    result = env.apply(env.write([allowed]), "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.status("bad") == "running"
    requests = env.stats()["requests"]
    assert requests.get("skipPrecheck") == 1 and requests.get("create", 0) == 0


def test_a_saved_plan_whose_secret_is_missing_costs_no_request(env: Env) -> None:
    manifest = env.write([task("orders")])
    assert env.cli("plan", manifest, "-o", "plan.json").returncode in (0, 2)
    assert CANARY not in (env.cwd / "plan.json").read_text()
    env.reset_stats()
    without_secret = {k: v for k, v in env.env().items() if k != "DB_PASS"}
    result = run_cli("apply", "plan.json", "--endpoint", env.url, cwd=env.cwd, env=without_secret)
    assert result.returncode == 1
    assert "DB_PASS" in result.stderr
    assert env.stats().get("total", 0) == 0


def test_a_failed_configuration_stops_the_task_with_the_services_errmsg(env: Env) -> None:
    manifest = env.write([task("cfg", src_host="db-config-fail.internal"), task("fine")])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1
    assert "1 applied, 1 failed, 0 not attempted" in result.stdout
    # Where the task is, and why (the errmsg the service set), not only the refused call.
    assert "the task is configFailed (configuration failed: a host contains 'config-fail'" in result.stdout
    assert env.by_name()["cfg"]["status"] == "configFailed"
    assert env.status("fine") == "running"


def test_a_skip_list_that_allows_only_some_failed_checks_stops_the_task(env: Env) -> None:
    skip = {"skip": ["srcMysqlBinlogFormat"]}
    manifest = env.write([task("two", src_host="binlog-off-row-image-minimal.internal", precheck=skip)])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1
    assert "failed checks not in precheck.skip: srcMysqlBinlogRowImage" in result.stdout
    # Each failed item with its name, message and description.
    assert "failed check srcMysqlBinlogFormat: binlog_format of the source is not ROW" in result.stdout
    assert "failed check srcMysqlBinlogRowImage: binlog_row_image of the source is MINIMAL" in result.stdout
    assert "(Check whether binlog_row_image of the source is FULL.)" in result.stdout
    assert env.stats()["requests"].get("skipPrecheck", 0) == 0
    assert env.by_name()["two"]["status"] == "checkFailed"


def test_off_a_terminal_each_event_is_one_plain_line(env: Env) -> None:
    result = env.apply(env.write([task("orders", state="prechecked")]), "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert re.fullmatch(r"\[\s*\d+\.\d\ds\] applying 1 task\(s\), 10 at a time", progress[0])
    texts = [line.split("] ", 1)[1] for line in progress]
    assert texts[1:] == [
        "orders: create: create, config, precheck",
        "orders: create (1/3)",
        "orders: create done -> unConfig",
        "orders: config (2/3)",
        "orders: config done",
        "orders: precheck (3/3)",
        *[t for t in texts if t.startswith("orders: precheck: status ")],  # status changes seen by the polls
        "orders: precheck done -> checkPass",
        "orders: applied",
    ]
    assert "\x1b[" not in result.stdout


def test_a_deadline_that_passed_before_any_step_attempts_nothing_and_exits_1(env: Env) -> None:
    manifest = env.write([task("orders"), task("users", dependsOn=["orders"])])
    result = env.apply(manifest, "--auto-approve", "--timeout", "0s")
    assert result.returncode == 1
    assert "Apply timed out: 0 applied, 0 failed, 2 not attempted" in result.stdout
    assert "the --timeout deadline passed" in result.stdout
    assert env.mutating() == 0


def test_a_malformed_journal_stops_apply_before_any_request(env: Env) -> None:
    manifest = env.write([task("orders")])
    (env.cwd / ".dtsflow").mkdir(mode=0o700)
    (env.cwd / ".dtsflow" / "journal").write_text('{"v":1,"op":"created","task":"orders","token":"t"}\n')
    (env.cwd / ".dtsflow" / "journal").chmod(0o600)
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1
    assert ".dtsflow/journal:1: malformed journal record (no dts_id)" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert env.stats().get("total", 0) == 0


def test_apply_with_no_changes_still_shows_orphans_and_prune_warnings(emu: RunningEmulator, tmp_path: Path) -> None:
    env = Env(emu.url, emu.access_key, emu.secret_key, tmp_path)
    manifest = env.write([task("orders-a")], prune="orders-")
    assert env.apply(manifest, "--auto-approve").returncode == 0
    [orphan, _] = emu.seed([{"status": "unConfig"}, {"taskName": "orders-old", "status": "stopped"}])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes." in result.stdout
    assert "Possible orphans" in result.stdout and orphan in result.stdout, result.stdout
    # not created by dtsflow: never pruned, and the plan's warning says so; it must reach the user here too
    assert "warning: orders-old" in result.stdout, result.stdout


def test_the_secrets_of_a_saved_plan_are_checked_once_then_read_when_sent(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dtsflow.manifest.secrets import SecretPolicy

    manifest = env.write([task("orders")])
    assert env.cli("plan", manifest, "-o", "plan.json").returncode == 0
    reads: list[str] = []
    original = SecretPolicy.resolve

    def counting(self: SecretPolicy, ref: str) -> str:
        reads.append(ref)
        return original(self, ref)

    monkeypatch.setattr(SecretPolicy, "resolve", counting)
    code, output = apply_in_process(env, monkeypatch, capsys, "plan.json")
    assert code == 0, output
    # once by the pre-flight (before any request), once for the config request that sends it
    assert reads == ["${secret:DB_PASS}", "${secret:DB_PASS}"], reads


def test_a_skip_name_that_is_no_check_item_is_warned_about_with_the_closest_name(env: Env) -> None:
    skip = {"skip": ["srcMysqlBinlogFormt"]}  # a typo: it skips nothing
    manifest = env.write([task("typo", state="prechecked", src_host="binlog-off.internal", precheck=skip)])
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1, result.stdout + result.stderr
    warning = (
        "warning: precheck.skip names 'srcMysqlBinlogFormt', which is no check item of this task's precheck; "
        "did you mean 'srcMysqlBinlogFormat'?"
    )
    assert warning in result.stdout
    report = json_lines(env.apply(manifest, "--auto-approve", "--format", "json").stdout)[-1]
    assert any("did you mean 'srcMysqlBinlogFormat'?" in w for w in report["tasks"][0]["warnings"]), report


def test_a_task_to_delete_needs_only_its_name(env: Env) -> None:
    assert (
        env.apply(env.write([task("orders", state="ready"), task("users", state="ready")]), "--auto-approve").returncode
        == 0
    )
    manifest = env.write([{"name": "orders", "state": "absent"}, task("users", state="ready")])
    assert validate(env, manifest).returncode == 0
    made = env.cli("plan", manifest, "-o", "plan.json")  # a saved plan too: made, checked for staleness, applied
    assert made.returncode == 0, made.stdout + made.stderr
    result = env.apply("plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "orders" not in env.by_name() and env.status("users") == "ready"
    again = env.cli("plan", manifest, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr  # absent, as desired

    # What an absent task gives is still checked; any other state still needs what to migrate.
    given = env.write([{"name": "orders", "state": "absent", "dst": {"port": "x"}}], name="bad.yaml")
    bad = validate(env, given)
    assert bad.returncode == 1 and "$.tasks[0].dst.port: must be an integer" in bad.stderr, bad.stderr
    running = env.write([{"name": "orders", "state": "running"}], name="running.yaml")
    missing = validate(env, running)
    assert missing.returncode == 1, missing.stderr
    for field in ("standard", "src", "dst", "dataType"):
        assert f"$.tasks[0].{field}: required field is missing" in missing.stderr, missing.stderr


def validate(env: Env, manifest: str) -> subprocess.CompletedProcess[str]:
    return run_cli("validate", manifest, cwd=env.cwd, env=env.env())
