"""The progress renderers on their own: what a person sees on a terminal, and the JSON lines."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

import pytest

from dtsflow.apply.events import (
    ApplyFinished,
    ApplyStarted,
    PrecheckFailure,
    StepFailed,
    StepPolled,
    StepStarted,
    TaskFinished,
    TaskStarted,
)
from dtsflow.apply.progress import JsonProgress, LiveProgress
from tests.apply.conftest import Env, json_lines, task

EVENTS = [
    ApplyStarted(tasks=2, parallelism=10),
    TaskStarted(task="orders", action="create", steps=["create", "config", "precheck", "start"]),
    StepStarted(task="orders", step="start", index=4, total=4, dts_id="dts-1"),
    StepPolled(task="orders", step="start", status="running", base_percent=42.5, elapsed=1.0),
    TaskStarted(task="users", action="create", steps=["precheck"]),
    StepStarted(task="users", step="precheck", index=1, total=1),
    StepFailed(
        task="users",
        step="precheck",
        message="failed checks not in precheck.skip: srcMysqlBinlogFormat",
        status="checkFailed",
        failed_checks=[PrecheckFailure("srcMysqlBinlogFormat", "binlog off", "Check binlog")],
    ),
    TaskFinished(task="users", outcome="failed", message="precheck failed"),
]


def test_live_progress_shows_step_status_base_load_and_elapsed_time() -> None:
    out = io.StringIO()
    view = LiveProgress(out, tick=60)  # no ticker redraw during the test
    for event in EVENTS:
        view(event)
    screen = out.getvalue()
    assert re.search(r"  orders: start 4/4  running  base 42\.5%  \d+\.\ds\n", screen)
    assert "x users: precheck failed: failed checks not in precheck.skip: srcMysqlBinlogFormat\n" in screen
    assert "    failed check srcMysqlBinlogFormat: binlog off (Check binlog)\n" in screen
    assert re.search(r"x users failed in \d+\.\ds\n", screen)
    assert re.search(
        r"  orders: start 4/4  running  base 42\.5%  \d+\.\ds\n  1/2 done, 1 failed, 1 in progress\n\Z", screen
    )
    view.close()
    assert out.getvalue().endswith("\x1b[2F\x1b[J")  # the in-place lines are erased before the report


def test_json_progress_writes_one_versioned_object_per_line() -> None:
    out = io.StringIO()
    view = JsonProgress(out)
    for event in [
        *EVENTS,
        ApplyFinished(applied=0, failed=1, not_attempted=0, unchanged=0, interrupted=False, elapsed=1),
    ]:
        view(event)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == len(EVENTS) + 1
    assert all(line["format_version"] == "1" for line in lines)
    assert [line["event"] for line in lines][:3] == ["apply_started", "task_started", "step_started"]
    failed = next(line for line in lines if line["event"] == "step_failed")
    assert failed["failed_checks"] == [
        {"name": "srcMysqlBinlogFormat", "message": "binlog off", "description": "Check binlog"}
    ]


def test_live_lines_are_cut_to_the_terminal_width_so_redraws_stay_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    view = LiveProgress(out, tick=60)
    view(ApplyStarted(tasks=1, parallelism=10))
    view(TaskStarted(task="a-task-name-that-is-rather-long-for-a-terminal", action="create", steps=["create"]))
    view(StepStarted(task="a-task-name-that-is-rather-long-for-a-terminal", step="create", index=1, total=1))
    view.close()
    drawn = [line for line in re.sub(r"\x1b\[\d*[FJ]", "", out.getvalue()).split("\n") if line]
    assert drawn and all(len(line) <= 39 for line in drawn)
    assert any(line.startswith("  a-task-name-that-is-rather-long") for line in drawn)


def test_the_live_view_stops_its_ticker_when_apply_fails_before_it_runs(tmp_path: Path) -> None:
    """Anything that fails between starting the terminal view and the run (here: a bad --parallelism reaching the
    executor) must not leave the ticker thread redrawing over the error message."""
    from dtsflow.apply.journal import Journal
    from dtsflow.commands.apply import execute
    from dtsflow.commands.args import ApplyArgs, ManifestOptions
    from dtsflow.errors import ConfigError
    from dtsflow.plan.model import Plan

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    before = {t for t in threading.enumerate() if t.name == "dtsflow-progress"}
    args = ApplyArgs(manifests=ManifestOptions(paths=(str(tmp_path / "m.yaml"),)), parallelism=0)
    with pytest.raises(ConfigError):
        execute(Plan(manifest_digest="x", changes=[]), None, args, Journal(tmp_path / "j"), None, Terminal())  # type: ignore[arg-type]
    ticking = [t for t in threading.enumerate() if t.name == "dtsflow-progress" and t not in before and t.is_alive()]
    assert not ticking


def test_progress_counts_only_the_tasks_with_changes(env: Env) -> None:
    assert env.apply(env.write([task("orders", state="ready")]), "--auto-approve").returncode == 0
    manifest = env.write([task("orders", state="ready"), task("users", state="ready"), task("items", state="ready")])
    plain = env.apply(manifest, "--auto-approve")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "applying 2 task(s) (1 unchanged), 10 at a time" in plain.stdout

    env.write([task("orders", state="ready"), task("users", state="ready"), task("items", state="paused")])
    lines = json_lines(env.apply(manifest, "--auto-approve", "--format", "json").stdout)
    started = next(line for line in lines if line["event"] == "apply_started")
    finished = [line for line in lines if line["event"] == "task_finished"]
    assert (started["tasks"], started["unchanged"]) == (1, 2) and len(finished) == 1
