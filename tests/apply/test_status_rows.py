"""`dtsflow status` rows from live tasks (pure: no emulator needed for what a row shows)."""

from __future__ import annotations

from typing import Any

from dtsflow.client.live import LiveTask, PrecheckItem
from dtsflow.manifest.model import TaskSpec
from dtsflow.plan.render.status import render_text, row_document
from dtsflow.plan.status import collect
from tests.apply.conftest import task

PROGRESS = {"base": [{"current": 50, "count": 200}], "increment": {"delay": 7}}


def live(dts_id: str, name: str, status: str) -> LiveTask:
    return LiveTask.model_validate({"dtsId": dts_id, "taskName": name, "status": status, "dynamicInfo": PROGRESS})


def specs(*names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        body = task(name)
        body["src"]["password"] = "${secret:DB_PASS}"
        out[name] = TaskSpec.model_validate(body)
    return out


def test_progress_numbers_only_for_a_started_task_and_duplicates_listed() -> None:
    reads: list[str] = []

    def get_precheck(dts_id: str) -> list[PrecheckItem]:
        reads.append(dts_id)
        return []

    tasks = [live("d1", "run", "running"), live("d2", "wait", "checking"), live("d3", "run", "stopped")]
    rows = {r.task: r for r in collect(specs("run", "wait", "gone"), tasks, get_precheck)}
    assert rows["run"].base_percent == 25.0 and rows["run"].increment_delay == 7.0
    assert rows["run"].duplicates == ["d3"]
    assert rows["wait"].base_percent is None and rows["wait"].increment_delay is None  # a precheck is no load
    assert rows["gone"].status is None
    assert reads == []  # precheck items are read only for a checkFailed task
    text = render_text(list(rows.values()))
    assert "25%" in text and "7s" in text and "more live tasks with this name: d3" in text
    wait_line = next(line for line in text.splitlines() if line.startswith("wait "))
    assert "%" not in wait_line and wait_line.split()[3:5] == ["-", "-"]


def test_a_deleted_task_does_not_hide_the_live_one_of_that_name() -> None:
    # As in a plan (`Live.from_tasks`), a `deleted` task no longer holds its name.
    tasks = [live("d-old", "run", "deleted"), live("d-new", "run", "running"), live("d-gone", "gone", "deleted")]
    rows = {r.task: r for r in collect(specs("run", "gone"), tasks, lambda dts_id: [])}
    assert (rows["run"].dts_id, rows["run"].status, rows["run"].duplicates) == ("d-new", "running", [])
    assert rows["gone"].status is None


def test_a_retrying_task_is_started_and_shown_with_a_warning() -> None:
    rows = collect(specs("sync"), [live("d9", "sync", "retrying")], lambda _id: [])
    assert rows[0].base_percent == 25.0  # started: progress is real
    assert rows[0].warnings and "retrying" in rows[0].warnings[0] and "d9" in rows[0].warnings[0]
    assert "    warning: task sync (d9) is retrying" in render_text(rows)
    assert row_document(rows[0])["warnings"] == rows[0].warnings


def test_the_apply_report_shows_a_retrying_warning_even_for_an_applied_task() -> None:
    from dtsflow.apply.report import ApplyReport, Outcome, TaskResult, render_report_text
    from dtsflow.client.statuses import retrying_warning

    warning = retrying_warning("sync", "d9")
    report = ApplyReport(tasks=[TaskResult("sync", "update", Outcome.UNCHANGED, dts_id="d9", warnings=[warning])])
    assert f"      warning: {warning}" in render_report_text(report)
    assert report.to_dict()["tasks"][0]["warnings"] == [warning]


def test_a_finished_task_shows_its_load_but_no_increment_delay() -> None:
    # After a shutdown nothing replicates: the service's delay only counts the seconds since, so status shows none.
    rows = collect(specs("done"), [live("d5", "done", "finished")], lambda _id: [])
    assert rows[0].base_percent == 25.0
    assert rows[0].increment_delay is None
    done_line = next(line for line in render_text(rows).splitlines() if line.startswith("done "))
    assert "7s" not in done_line and "25%" in done_line
