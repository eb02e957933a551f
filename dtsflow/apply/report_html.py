"""`apply --report FILE.html`: one self-contained page for a CI artifact — the outcome of every task, a timeline
of each task's steps and waits (inline SVG), and the precheck results.

A pure function of the report and the timed events: no file, no clock. The page loads nothing: no script, no
font, no image, no link; inline CSS only, and a Content-Security-Policy that forbids any fetch, so it opens the
same offline, from an artifact store or a mail attachment. Every string that comes from a manifest or the
service (task names, statuses, messages, check names) passes through the HTML sink, `dtsflow.escape.for_html`
(`html.escape` after removing control characters), before it lands in the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dtsflow.apply.events import (
    PrecheckFailure,
    StepFailed,
    StepPolled,
    StepStarted,
    StepSucceeded,
    TaskStarted,
)
from dtsflow.apply.report import ApplyReport, Outcome, TaskResult, summary_line
from dtsflow.apply.timeline import TimedEvent
from dtsflow.escape import for_html as escape  # the HTML sink

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
LABEL_WIDTH = 230
CHART_WIDTH = 720
ROW_HEIGHT = 30
AXIS_HEIGHT = 26

_STEP_COLOURS = {
    "create": "#2da44e",
    "config": "#1a7f37",
    "precheck": "#0969da",
    "skip-precheck": "#54aeff",
    "start": "#8250df",
    "pause": "#bf8700",
    "shutdown": "#cf222e",
    "delete": "#82071e",
    "resize": "#9a6700",
    "rename": "#57606a",
}
_OUTCOME_COLOURS = {
    Outcome.APPLIED: "#1a7f37",
    Outcome.FAILED: "#cf222e",
    Outcome.SKIPPED: "#9a6700",
    Outcome.INTERRUPTED: "#bf8700",
    Outcome.UNCHANGED: "#57606a",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.summary{font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}
.ok{background:#dafbe1} .bad{background:#ffebe9}
table{border-collapse:collapse;margin:4px 0} th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;
vertical-align:top} th{background:#f6f8fa}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.outcome{font-weight:600} .legend span{display:inline-block;margin-right:12px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
svg text{font:12px system-ui,sans-serif;fill:#1f2328} svg .axis{fill:#57606a;font-size:11px}
.muted{color:#57606a}
.hatched{background:repeating-linear-gradient(45deg,#0969da 0 3px,#9cc8f5 3px 6px)}
"""


@dataclass(slots=True)
class _Segment:
    step: str
    began: float
    ended: float | None = None
    wait_began: float | None = None
    failed: bool = False
    note: str = ""
    statuses: list[tuple[float, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Row:
    task: str
    began: float | None = None
    segments: list[_Segment] = field(default_factory=list)


def _rows(report: ApplyReport, timeline: Sequence[TimedEvent]) -> list[_Row]:
    rows = {r.task: _Row(r.task) for r in report.tasks}
    for timed in timeline:
        event = timed.event
        task = getattr(event, "task", None)
        if task is None:
            continue
        row = rows.setdefault(task, _Row(task))
        open_segment = row.segments[-1] if row.segments and row.segments[-1].ended is None else None
        match event:
            case TaskStarted():
                row.began = timed.at
            case StepStarted():
                row.segments.append(_Segment(event.step, timed.at))
            case StepPolled() if open_segment is not None:
                if open_segment.wait_began is None:
                    open_segment.wait_began = max(open_segment.began, timed.at - event.elapsed)
                open_segment.statuses.append((timed.at, event.status))
            case StepSucceeded() if open_segment is not None:
                open_segment.ended, open_segment.note = timed.at, event.note
            case StepFailed() if open_segment is not None:
                open_segment.ended, open_segment.failed, open_segment.note = timed.at, True, event.message
    return list(rows.values())


def _x(at: float, span: float) -> float:
    return round(LABEL_WIDTH + CHART_WIDTH * (at / span), 1)


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 120 else f"{int(value // 60)}m{int(value % 60):02d}s"


def _timeline_svg(rows: list[_Row], span: float) -> str:
    height = AXIS_HEIGHT + ROW_HEIGHT * max(len(rows), 1) + 8
    width = LABEL_WIDTH + CHART_WIDTH + 20
    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline of every task\'s steps and waits">',
        '<defs><pattern id="wait" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffffff" fill-opacity="0.0"/><rect width="3" height="6" fill="#ffffff" '
        'fill-opacity="0.55"/></pattern></defs>',
    ]
    for i in range(6):  # axis: six ticks over the whole run
        at = span * i / 5
        x = _x(at, span)
        parts.append(f'<line x1="{x}" y1="{AXIS_HEIGHT - 6}" x2="{x}" y2="{height}" stroke="#eaeef2"/>')
        parts.append(f'<text class="axis" x="{x}" y="{AXIS_HEIGHT - 10}" text-anchor="middle">{_seconds(at)}</text>')
    for index, row in enumerate(rows):
        y = AXIS_HEIGHT + index * ROW_HEIGHT
        parts.append(f'<g class="task" data-task="{escape(row.task)}">')
        parts.append(f'<text x="4" y="{y + 19}">{escape(_clip(row.task, 30))}<title>{escape(row.task)}</title></text>')
        if not row.segments:
            parts.append(f'<text class="axis" x="{LABEL_WIDTH + 4}" y="{y + 19}">no step run</text>')
        for seg in row.segments:
            ended = seg.ended if seg.ended is not None else span
            x0, x1 = _x(seg.began, span), _x(ended, span)
            colour = "#cf222e" if seg.failed else _STEP_COLOURS.get(seg.step, "#57606a")
            what = f"{row.task}: {seg.step} {_seconds(seg.began)}–{_seconds(ended)}"
            if seg.failed:
                what += f" failed: {seg.note}"
            elif seg.note:
                what += f" ({seg.note})"
            if seg.statuses:
                what += "; statuses seen: " + ", ".join(s for _, s in seg.statuses)
            classes = "step failed" if seg.failed else "step"
            parts.append(
                f'<rect class="{classes}" data-step="{escape(seg.step)}" x="{x0}" y="{y + 6}" '
                f'width="{max(x1 - x0, 2.0)}" height="{ROW_HEIGHT - 12}" rx="3" fill="{colour}">'
                f"<title>{escape(what)}</title></rect>"
            )
            if seg.wait_began is not None:
                w0 = _x(seg.wait_began, span)
                parts.append(
                    f'<rect class="wait" data-step="{escape(seg.step)}" x="{w0}" y="{y + 6}" '
                    f'width="{max(x1 - w0, 2.0)}" height="{ROW_HEIGHT - 12}" fill="url(#wait)">'
                    f"<title>{escape(f'{row.task}: waiting after {seg.step}')}</title></rect>"
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _task_table(report: ApplyReport) -> str:
    head = "<tr><th>Task</th><th>Action</th><th>Outcome</th><th>DTS id</th><th>Time</th><th>Details</th></tr>"
    rows = []
    for r in report.tasks:
        details = escape(r.message)
        if r.done:
            details += f'<div class="muted">done: {escape(", ".join(r.done))}</div>'
        if r.not_done:
            details += f'<div class="muted">not done: {escape(", ".join(r.not_done))}</div>'
        colour = _OUTCOME_COLOURS.get(r.outcome, "#57606a")
        rows.append(
            f'<tr data-task="{escape(r.task)}"><td><code>{escape(r.task)}</code></td><td>{escape(r.action)}</td>'
            f'<td class="outcome" style="color:{colour}">{escape(str(r.outcome))}</td>'
            f"<td><code>{escape(r.dts_id or '')}</code></td><td>{_seconds(r.elapsed)}</td><td>{details}</td></tr>"
        )
    return f'<table id="tasks">{head}{"".join(rows)}</table>'


def _precheck_rows(report: ApplyReport, rows: list[_Row]) -> list[str]:
    results = {r.task: r for r in report.tasks}
    out: list[str] = []
    for row in rows:
        for seg in row.segments:
            if seg.step not in ("precheck", "skip-precheck"):
                continue
            result: TaskResult | None = results.get(row.task)
            checks: list[PrecheckFailure] = result.failed_checks if result and seg.failed else []
            if seg.failed:
                verdict, colour = "failed", "#cf222e"
            elif seg.ended is None:
                verdict, colour = "not finished", "#bf8700"
            else:
                verdict, colour = ("passed" if not seg.note else "passed: " + seg.note), "#1a7f37"
            items = "".join(
                f"<li><code>{escape(c.name)}</code>: {escape(c.message)}"
                + (f' <span class="muted">({escape(c.description)})</span>' if c.description else "")
                + "</li>"
                for c in checks
            )
            detail = f"<ul>{items}</ul>" if items else (escape(seg.note) if seg.failed else "")
            out.append(
                f'<tr data-task="{escape(row.task)}"><td><code>{escape(row.task)}</code></td>'
                f"<td>{escape(seg.step)}</td>"
                f'<td class="verdict" style="color:{colour}">{escape(verdict)}</td><td>{detail}</td></tr>'
            )
    return out


def render_report_html(report: ApplyReport, timeline: Sequence[TimedEvent], *, title: str = "dtsflow apply") -> str:
    """The whole page as one string."""
    rows = [r for r in _rows(report, timeline) if r.segments or r.task in {t.task for t in report.tasks}]
    shown = [r for r in rows if r.segments] or rows
    last = max([t.at for t in timeline] + [report.elapsed, 0.001])
    ok = report.exit_code == 0
    prechecks = _precheck_rows(report, rows)
    precheck_html = (
        '<table id="prechecks"><tr><th>Task</th><th>Step</th><th>Result</th><th>Failed checks</th></tr>'
        + "".join(prechecks)
        + "</table>"
        if prechecks
        else '<p id="prechecks" class="muted">No precheck ran in this apply.</p>'
    )
    legend = (
        "".join(
            f'<span><i class="swatch" style="background:{c}"></i>{escape(k)}</span>' for k, c in _STEP_COLOURS.items()
        )
        + '<span><i class="swatch hatched"></i>waiting</span>'
    )

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p id="summary" class="summary {"ok" if ok else "bad"}">{escape(summary_line(report))}</p>'
        f'<p class="muted">exit code {report.exit_code}; {len(report.tasks)} task(s); times are seconds since the '
        "apply started.</p>"
        f"<h2>Tasks</h2>{_task_table(report)}"
        "<h2>Timeline</h2>"
        '<p class="muted">Each bar is a step, from its call until it was done; the hatched part is the wait for the '
        f'task to reach the step\'s status. Hover a bar for its statuses.</p><p class="legend">{legend}</p>'
        f"{_timeline_svg(shown, last)}"
        f"<h2>Prechecks</h2>{precheck_html}"
        "</body></html>\n"
    )
