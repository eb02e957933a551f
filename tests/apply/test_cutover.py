"""Cutover end to end against the emulator: lag gates, `status --wait-lag`, the guarded shutdown, reverse pairs.

The emulator runs at `TIME_SCALE` with a catch-up of 100 emulated seconds (one real second): after a start, the
replication delay begins at 60 s and falls to 0-3 s over that second, so a gate of 5 s is reached while it is
watched. The `lag_s` fault holds a task's delay up on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dtsflow.emulator import start_in_thread
from tests.apply.conftest import REALISM_MODES, TIME_SCALE, Env, json_lines, task

CATCH_UP = {"catch_up": 100.0, "lag_start": 60.0}


@pytest.fixture
def cut(tmp_path: Path, realism: str) -> Iterator[Env]:
    """The emulator with a fast catch-up; `realism` is `plain` unless a test runs in both modes."""
    with start_in_thread(time_scale=TIME_SCALE, durations=CATCH_UP, realism=realism) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path, realism)


def _readings(stdout: str) -> list[float]:
    """The delays of `orders` in `status --wait-lag --format json` lines, in order."""
    return [line["delays"]["orders"] for line in json_lines(stdout) if line["delays"].get("orders") is not None]


def test_status_wait_lag_exits_0_when_reached_and_1_at_the_timeout(cut: Env) -> None:
    manifest = cut.write([task("orders"), task("full", dataType=["schema", "base"])])
    assert cut.apply(manifest, "--auto-approve").returncode == 0
    waited = cut.cli("status", manifest, "--wait-lag", "5s", "--format", "json")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    seen = _readings(waited.stdout)
    assert seen[-1] <= 5 and seen == sorted(seen, reverse=True), seen  # falling, then at most the gate
    assert "full" not in json_lines(waited.stdout)[0]["delays"]  # a full load has no delay to wait for

    cut.faults(lag_s={"orders": 300})
    held = cut.cli("status", manifest, "--wait-lag", "5s", "--task", "orders", "--timeout", "300ms")
    assert held.returncode == 1
    assert "timed out after 0.3s waiting for a delay of at most 5s: orders 30" in held.stderr
    assert "delay orders 30" in held.stdout

    unknown = cut.cli("status", manifest, "--wait-lag", "5s", "--task", "nope")
    assert unknown.returncode == 1 and "--task names tasks that no manifest defines: nope" in unknown.stderr
    cut.reset_stats()
    bad = cut.cli("status", manifest, "--wait-lag", "soon")
    assert bad.returncode == 1 and "--wait-lag: 'soon' is not a duration" in bad.stderr
    assert cut.stats()["total"] == 0  # a bad flag costs no API call
    assert json.loads(cut.cli("status", manifest, "--format", "json").stdout)["tasks"][0]["task"] == "orders"


def _events(stdout: str, kind: str, step: str | None = None) -> list[dict[str, Any]]:
    return [e for e in json_lines(stdout) if e.get("event") == kind and (step is None or e.get("step") == step)]


@pytest.mark.parametrize("realism", REALISM_MODES)
def test_apply_waits_for_the_lag_gate_and_shows_the_delay_falling(cut: Env) -> None:
    manifest = cut.write([task("orders", until={"lag": "5s"})])
    planned = cut.cli("plan", manifest)
    assert planned.returncode == 0, planned.stderr
    assert "wait-lag" in planned.stdout and "until the replication delay is at most 5s (timeout 30m)" in planned.stdout
    applied = cut.apply(manifest, "--auto-approve", "--format", "json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    readings = [e["delay"] for e in _events(applied.stdout, "step_polled", "wait-lag")]
    known = [d for d in readings if d is not None]
    assert len(known) >= 2 and known[0] > 5 and known[-1] <= 5 and known == sorted(known, reverse=True), readings
    done = _events(applied.stdout, "step_succeeded", "wait-lag")
    assert len(done) == 1 and done[0]["note"].endswith("at most 5s")
    again = cut.cli("plan", manifest, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout  # the gate is reached: nothing left to do


def test_a_gate_not_reached_fails_at_its_timeout_and_a_rerun_waits_again(cut: Env) -> None:
    cut.faults(lag_s={"orders": 300})
    manifest = cut.write([task("orders", until={"lag": "5s", "timeout": "500ms"})])
    held = cut.apply(manifest, "--auto-approve")
    assert held.returncode == 1
    assert "wait-lag failed: timed out after 0.5s waiting for a replication delay of at most 5s" in held.stdout
    assert cut.by_name()["orders"]["status"] == "running"
    planned = cut.cli("plan", manifest)  # level-triggered: still above the gate, so still a step
    assert "transition (running -> running)" in planned.stdout and "wait-lag" in planned.stdout
    bounded = cut.apply(
        cut.write([task("orders", until={"lag": "5s", "timeout": "1h"})]), "--timeout", "700ms", "--auto-approve"
    )
    assert bounded.returncode == 1  # the run's deadline bounds the gate's own timeout
    assert "wait-lag failed: timed out at the --timeout deadline waiting for a replication delay" in bounded.stdout
    cut.faults()
    assert cut.apply(manifest, "--auto-approve").returncode == 0
    assert len(cut.tasks()) == 1


def test_shutdown_is_refused_above_the_gate_and_allowed_below_it(cut: Env) -> None:
    running = cut.write([task("orders", until={"lag": "5s"})])
    assert cut.apply(running, "--auto-approve").returncode == 0
    cut.faults(lag_s={"orders": 300})
    down = cut.write([task("orders", state="shutdown", until={"lag": "5s"})])
    cut.reset_stats()
    refused = cut.cli("plan", down)
    assert refused.returncode == 1
    assert "refusing to shut down orders: its replication delay is 30" in refused.stdout
    assert "above its gate 5s (until.lag)" in refused.stdout and "CUTOVER" in refused.stdout
    assert cut.apply(down, "--auto-approve").returncode == 1
    assert cut.mutating() == 0 and cut.by_name()["orders"]["status"] == "running"
    forced = cut.cli("plan", down, "--force")
    assert forced.returncode == 0 and "forced with --force" in forced.stdout

    cut.faults()  # the writes stopped; the delay falls
    assert cut.cli("status", down, "--wait-lag", "5s").returncode == 0
    below = cut.cli("plan", down, "-o", "down.json")
    assert below.returncode == 0, below.stdout
    assert "at most the gate" in below.stdout and "refused if the delay is above 5s" in below.stdout
    # Reviewed below the gate, but the delay rose before apply: the shutdown step checks again.
    cut.faults(lag_s={"orders": 300})
    late = cut.apply("down.json")
    # Refused either by the saved plan's own re-check (a fresh plan would refuse the shutdown now) or by the
    # shutdown step's check of the delay; either way nothing is sent.
    assert late.returncode == 1
    assert "refusing the cutover: the replication delay is 30" in late.stdout or "not what the" in late.stderr
    assert cut.by_name()["orders"]["status"] == "running"
    cut.faults()
    assert cut.apply("down.json").returncode == 0
    assert cut.by_name()["orders"]["status"] == "finished"


def _pair_task(direction: str = "forward", **extra: Any) -> dict[str, Any]:
    body = task(
        "orders",
        until={"lag": "5s"},
        reverse={"direction": direction, "dml": ["insert", "update"]},
        dst={"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "10.0.0.40", "port": 3306,
             "user": "writer", "password": '{{ secret("DB_PASS") }}'},
    )  # fmt: skip
    body.update(extra)
    return body


def _directions(env: Env) -> tuple[str, str]:
    live = env.by_name()["orders"]
    return env.fold(live["dtsTaskPos"]["status"]), env.fold(live["dtsTaskNeg"]["status"])


@pytest.mark.parametrize("realism", REALISM_MODES)
def test_a_reverse_pair_is_created_prechecked_switched_and_switched_back(cut: Env) -> None:
    manifest = cut.write([_pair_task()])
    planned = cut.cli("plan", manifest)
    assert planned.returncode == 0, planned.stderr
    for shown in ("pair (one-click reverse), desired direction forward", "way back: mysql 10.0.0.40 -> mysql",
                  "insert, update", "pair-precheck", "both directions"):  # fmt: skip
        assert shown in planned.stdout, shown
    assert cut.apply(manifest, "--auto-approve").returncode == 0
    live = cut.by_name()["orders"]
    assert live["dtsId"].startswith("dtsr") and live["dtsTaskNeg"]["dstConnection"]["sqlType"] == "I,U"
    assert _directions(cut) == ("running", "stopped")
    assert cut.stats()["requests"].get("rollbackConfig") == 1

    reversed_ = cut.write([_pair_task("reversed")])
    plan = cut.cli("plan", reversed_)
    assert plan.returncode == 0, plan.stdout
    assert "switch forward -> reversed" in plan.stdout and "CUTOVER" in plan.stdout and "DISRUPTIVE" in plan.stdout
    assert "switch        to reversed" in plan.stdout
    switched = cut.apply(reversed_, "--auto-approve", "--format", "json")
    assert switched.returncode == 0, switched.stdout
    assert _directions(cut) == ("stopped", "running")
    assert [e["note"] for e in _events(switched.stdout, "step_succeeded", "switch")] == ["now reversed"]
    assert cut.cli("plan", reversed_, "--detailed-exitcode").returncode == 0

    back = cut.apply(cut.write([_pair_task("forward")]), "--auto-approve")
    assert back.returncode == 0, back.stdout
    assert _directions(cut) == ("running", "stopped")
    assert len(cut.tasks()) == 1


def test_the_way_back_is_prechecked_with_the_same_skip_policy(cut: Env) -> None:
    # The way back reads from the forward destination: a trigger word there fails only the reverse check.
    dst = {"instanceType": "public", "dbType": "mysql", "region": "bj", "host": "binlog-off.rds", "port": 3306}
    failing = cut.write([_pair_task(dst=dst)])
    refused = cut.apply(failing, "--auto-approve")
    assert refused.returncode == 1 and "reverse:srcMysqlBinlogFormat" in refused.stdout
    assert "reverse:srcMysqlBinlogFormat" in cut.cli("plan", failing).stdout  # the plan shows why
    assert "failed check reverse:srcMysqlBinlogFormat" in cut.cli("status", failing).stdout  # and so does status
    allowed = cut.write([_pair_task(dst=dst, precheck={"skip": ["reverse:srcMysqlBinlogFormat"]})])
    assert cut.apply(allowed, "--auto-approve").returncode == 0
    assert cut.by_name()["orders"]["status"] == "running"


def test_a_saved_forced_plan_is_applied_with_its_force(cut: Env) -> None:
    running = cut.write([task("orders", until={"lag": "5s"})])
    assert cut.apply(running, "--auto-approve").returncode == 0
    assert cut.cli("status", running, "--wait-lag", "5s").returncode == 0
    down = cut.write([task("orders", state="shutdown", until={"lag": "5s"})])
    forced = cut.cli("plan", down, "--force", "-o", "forced.json")
    assert forced.returncode == 0 and "forced with --force" in forced.stdout, forced.stdout
    assert json.loads((cut.cwd / "forced.json").read_text())["force"] is True
    # Re-planned without --force, the shutdown would be guarded by the gate: other steps than the reviewed ones.
    applied = cut.apply("forced.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert cut.by_name()["orders"]["status"] == "finished"
