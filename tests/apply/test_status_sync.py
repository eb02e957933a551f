"""`dtsflow status --detailed-exitcode` and the in-sync column, end to end: the real CLI against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dtsflow.emulator import start_in_thread
from tests.apply.conftest import REALISM_MODES, TIME_SCALE, Env, task


@pytest.fixture(params=REALISM_MODES)
def realism(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def rows_of(env: Env, manifest: str, *flags: str) -> tuple[int, dict[str, dict[str, object]], dict[str, object]]:
    result = env.cli("status", manifest, "--format", "json", *flags)
    assert result.returncode in (0, 2), result.stdout + result.stderr
    body = json.loads(result.stdout)
    return result.returncode, {r["task"]: r for r in body["tasks"]}, body


def test_in_sync_and_the_detailed_exit_code(env: Env) -> None:
    assert env.apply(env.write([task("orders"), task("old")]), "--auto-approve").returncode == 0
    env.wait_lag("tasks.yaml")
    settled = env.write([task("orders"), task("old", state="shutdown")])
    assert env.apply(settled, "--auto-approve").returncode == 0
    assert env.status("old") == "finished"

    env.reset_stats()
    code, rows, body = rows_of(env, settled, "--detailed-exitcode")
    assert code == 0 and body["in_sync"] is True
    assert rows["orders"]["in_sync"] is True and rows["orders"]["out_of_sync"] is None
    # A finished task: in sync with `shutdown`, its load shown, and no delay that grows with the time since.
    assert rows["old"]["in_sync"] is True and rows["old"]["increment_delay"] is None
    assert rows["old"]["base_percent"] == 100.0
    assert env.mutating() == 0
    text = env.cli("status", settled, "--detailed-exitcode")
    assert text.returncode == 0, text.stderr
    assert all(" yes " in line for line in text.stdout.splitlines() if line.startswith(("orders", "old")))
    assert env.cli("status", settled).returncode == 0  # without the flag: 0 whatever the sync

    # The desired state not reached: a status difference, a missing task.
    paused = env.write([task("orders", state="paused"), task("old", state="shutdown"), task("later")], name="p.yaml")
    code, rows, body = rows_of(env, paused, "--detailed-exitcode")
    assert code == 2 and body["in_sync"] is False
    assert rows["orders"]["in_sync"] is False and "transition" in str(rows["orders"]["out_of_sync"])
    assert rows["later"]["in_sync"] is False and rows["old"]["in_sync"] is True
    text = env.cli("status", paused, "--detailed-exitcode")
    assert text.returncode == 2
    assert "    not in sync: transition" in text.stdout
    later = next(line for line in text.stdout.splitlines() if line.startswith("later "))
    assert " no " in later

    # The state reached but the config differs: not in sync either (the planner's diff decides).
    moved = task("orders", objects=[{"type": "table", "src": "shop.refunds"}])
    code, rows, _ = rows_of(env, env.write([moved], name="m.yaml"), "--detailed-exitcode")
    assert code == 2 and rows["orders"]["in_sync"] is False
    assert "reconfigure" in str(rows["orders"]["out_of_sync"])
    assert env.mutating() == 0


def test_detailed_exit_code_is_1_on_an_error(env: Env) -> None:
    bad = env.cwd / "bad.yaml"
    bad.write_text("version: 1\ntasks:\n  - name: x\n    state: flying\n")
    result = env.cli("status", "bad.yaml", "--detailed-exitcode")
    assert result.returncode == 1 and "state" in result.stderr
    manifest = env.write([task("orders")])
    both = env.cli("status", manifest, "--detailed-exitcode", "--wait-lag", "5s")
    assert both.returncode == 1 and "--detailed-exitcode does not combine with --wait-lag" in both.stderr


@pytest.fixture
def loading_env(tmp_path: Path) -> Iterator[Env]:
    """An emulator whose full load lasts long (1000 s real): a started task is still loading when status reads."""
    with start_in_thread(time_scale=TIME_SCALE, durations={"base_load": 100_000.0}) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path)


def test_the_services_expected_finish_of_the_full_load(loading_env: Env) -> None:
    env = loading_env
    manifest = env.write([task("orders")])
    assert env.apply(manifest, "--auto-approve").returncode == 0
    _, rows, _ = rows_of(env, manifest)
    finish = rows["orders"]["expected_finish"]
    assert isinstance(finish, str) and finish.endswith("Z"), rows["orders"]
    moment = datetime.strptime(finish, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert time.time() + 500 < moment < time.time() + 1100  # about 1000 s of load left
    assert rows["orders"]["base_percent"] is not None and rows["orders"]["base_percent"] < 100
    text = env.cli("status", manifest)
    assert f"    full load expected to finish at {finish} (the service's estimate)" in text.stdout
