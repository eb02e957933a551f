"""`apply --report FILE.html`, looked at as a person would: opened in headless Chromium, its DOM after load and
its screenshot — not the HTML text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dtsflow.apply.events import PrecheckFailure, StepFailed, StepPolled, StepStarted, TaskStarted
from dtsflow.apply.report import ApplyReport, Outcome, TaskResult
from dtsflow.apply.report_html import render_report_html
from dtsflow.apply.timeline import TimedEvent
from tests.apply.conftest import Env, task
from tests.chromium import dump_dom, parse_dom, png_pixels, screenshot

HOSTILE = '<script>alert(1)</script><img src="http://example.invalid/x.png">"\'&'


def test_the_report_of_a_real_apply_renders_its_timeline_and_prechecks(env: Env, tmp_path: Path) -> None:
    env.write(
        [
            task("report-users"),
            task("report-orders", dependsOn=["report-users"]),
            task("report-broken", src_host="db-binlog-off.internal"),
        ]
    )
    (env.cwd / "out").mkdir()
    result = env.apply("tasks.yaml", "--auto-approve", "--report", "out/apply.html")
    assert result.returncode == 1, result.stderr  # report-broken fails its precheck
    page = env.cwd / "out" / "apply.html"

    dom = parse_dom(dump_dom(page))
    assert not dom.iter("script") and not dom.iter("img") and not dom.iter("link")  # nothing to fetch
    assert not [e for e in dom.iter() if "src" in e.attrs or "href" in e.attrs]
    csp = [m for m in dom.iter("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0].attrs["content"]
    assert "2 applied, 1 failed" in dom.by_id("summary").all_text()

    svg = dom.by_id("timeline")
    rows = {g.attrs["data-task"]: g for g in svg.iter("g") if "task" in g.classes()}
    assert set(rows) == {"report-users", "report-orders", "report-broken"}
    steps = {name: [r.attrs["data-step"] for r in g.iter("rect") if "step" in r.classes()] for name, g in rows.items()}
    assert steps["report-users"] == ["create", "config", "precheck", "start"]
    assert steps["report-orders"] == ["create", "config", "precheck", "start"]
    assert steps["report-broken"] == ["create", "config", "precheck"]
    assert [r for r in rows["report-broken"].iter("rect") if "failed" in r.classes()]
    waits = [r.attrs["data-step"] for r in rows["report-users"].iter("rect") if "wait" in r.classes()]
    assert "precheck" in waits and "start" in waits
    # report-orders waited for report-users: its first step begins after report-users' last step began
    users_last = max(float(r.attrs["x"]) for r in rows["report-users"].iter("rect"))
    orders_first = min(float(r.attrs["x"]) for r in rows["report-orders"].iter("rect"))
    assert orders_first >= users_last

    prechecks = {tr.attrs["data-task"]: tr for tr in dom.by_id("prechecks").iter("tr") if "data-task" in tr.attrs}
    assert set(prechecks) == {"report-users", "report-orders", "report-broken"}
    assert "passed" in prechecks["report-users"].all_text()
    broken = prechecks["report-broken"].all_text()
    assert "failed" in broken and "srcMysqlBinlogFormat" in broken and "binlog_format" in broken

    shot = screenshot(page, tmp_path / "shot.png")
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1100, 900)
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    assert white < 0.97 * len(pixels), "the page is (nearly) blank"
    # the bars are drawn: a good number of pixels in the precheck blue and the failed red
    assert sum(n for c, n in colours.items() if _near(c, (0x09, 0x69, 0xDA))) > 500
    assert sum(n for c, n in colours.items() if _near(c, (0xCF, 0x22, 0x2E))) > 100


def _near(colour: tuple[int, int, int], target: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def test_hostile_strings_are_text_in_the_rendered_page(tmp_path: Path) -> None:
    report = ApplyReport(
        tasks=[
            TaskResult(
                HOSTILE,
                "create",
                Outcome.FAILED,
                dts_id=HOSTILE,
                message=HOSTILE,
                failed_checks=[PrecheckFailure(HOSTILE, HOSTILE, HOSTILE)],
                not_done=["start"],
            )
        ],
        elapsed=2.0,
    )
    events = [
        TimedEvent(0.0, TaskStarted(task=HOSTILE, action="create", steps=["precheck"])),
        TimedEvent(0.1, StepStarted(task=HOSTILE, step="precheck", index=1, total=1)),
        TimedEvent(0.5, StepPolled(task=HOSTILE, step="precheck", status=HOSTILE, elapsed=0.3)),
        TimedEvent(1.9, StepFailed(task=HOSTILE, step="precheck", message=HOSTILE)),
    ]
    page = tmp_path / "hostile.html"
    page.write_text(render_report_html(report, events, title=HOSTILE), encoding="utf-8")
    dom = parse_dom(dump_dom(page))
    assert not dom.iter("script") and not dom.iter("img")
    assert not [e for e in dom.iter() if "src" in e.attrs or "href" in e.attrs]
    assert HOSTILE in dom.by_id("tasks").all_text()  # shown as text, exactly
    assert HOSTILE in dom.by_id("prechecks").all_text()
    rows = [g for g in dom.by_id("timeline").iter("g") if "task" in g.classes()]
    assert [g.attrs["data-task"] for g in rows] == [HOSTILE]


def test_an_unwritable_report_path_is_refused_before_any_request(env: Env) -> None:
    env.write([task("report-nowhere")])
    (env.cwd / "adir").mkdir()
    env.reset_stats()
    for path, words in (("adir", "is a directory"), ("missing/r.html", "does not exist")):
        result = env.apply("tasks.yaml", "--auto-approve", "--report", path)
        assert result.returncode == 1 and words in result.stderr and "Traceback" not in result.stderr
    assert sum(env.stats().get("requests", {}).values()) == 0
