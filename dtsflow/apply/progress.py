"""How apply shows its progress: observers of `dtsflow.apply.events`.

- `LiveProgress` (a terminal): one line per task in flight — current step, status, base-load percentage,
  elapsed time — redrawn in place; finished tasks scroll above it as permanent lines.
- `PlainProgress` (not a terminal): one plain line per event (status changes only, not every poll), and a
  heartbeat line every 30 s of a wait (`still waiting for checkPass, 5m30s`) so that a CI log never looks hung.
- `JsonProgress` (`--format json`): one JSON object per line for every event, each with `format_version`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass
from typing import TextIO

from dtsflow.apply.events import (
    ApplyStarted,
    Event,
    StepFailed,
    StepPolled,
    StepStarted,
    StepSucceeded,
    StepWaiting,
    TaskFinished,
    TaskStarted,
)
from dtsflow.apply.lag import show_delay
from dtsflow.escape import for_terminal


class PlainProgress:
    """One line per event, for logs and CI; a poll is printed only when the task's status changed."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._start = time.monotonic()
        self._last_status: dict[str, str] = {}

    def _line(self, text: str) -> None:
        self._out.write(f"[{time.monotonic() - self._start:7.2f}s] {for_terminal(text)}\n")
        self._out.flush()

    def __call__(self, event: Event) -> None:
        match event:
            case ApplyStarted():
                unchanged = f" ({event.unchanged} unchanged)" if event.unchanged else ""
                self._line(f"applying {event.tasks} task(s){unchanged}, {event.parallelism} at a time")
            case TaskStarted():
                where = f" ({event.dts_id})" if event.dts_id else ""
                self._line(f"{event.task}{where}: {event.action}: {', '.join(event.steps) or 'nothing to do'}")
            case StepStarted():
                self._line(f"{event.task}: {event.step} ({event.index}/{event.total})")
            case StepPolled():
                if event.delay is not None or event.step == "wait-lag":  # a lag gate: every new reading
                    self._line(f"{event.task}: {event.step}: delay {show_delay(event.delay)}")
                    return
                if self._last_status.get(event.task) == event.status:
                    return
                self._last_status[event.task] = event.status
                percent = f", base {event.base_percent:g}%" if event.base_percent is not None else ""
                self._line(f"{event.task}: {event.step}: status {event.status}{percent}")
            case StepWaiting():
                self._line(
                    f"{event.task}: {event.step}: still waiting for {event.waiting_for}, {_minutes(event.elapsed)}"
                )
            case StepSucceeded():
                note = f" ({event.note})" if event.note else ""
                where = f" -> {event.status}" if event.status else ""
                self._line(f"{event.task}: {event.step} done{where}{note}")
            case StepFailed():
                self._line(f"{event.task}: {event.step} FAILED: {event.message}")
                for check in event.failed_checks:
                    self._line(f"{event.task}:   failed check {check.name}: {check.message} ({check.description})")
            case TaskFinished():
                message = f": {event.message}" if event.message else ""
                self._line(f"{event.task}: {event.outcome}{message}")
            case _:
                pass  # ApplyFinished: the report's summary follows


def _minutes(seconds: float) -> str:
    """Elapsed time for people: 45s, 5m30s, 1h02m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s" if whole % 60 else f"{whole // 60}m"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class JsonProgress:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def __call__(self, event: Event) -> None:
        self._out.write(json.dumps(event.to_dict(), sort_keys=True, default=_json_default) + "\n")
        self._out.flush()


def _json_default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)


@dataclass
class _Line:
    task: str
    step: str = ""
    index: int = 0
    total: int = 0
    status: str = ""
    percent: float | None = None
    delay: float | None = None
    began: float = 0.0


class LiveProgress:
    """Progress redrawn in place on a terminal (ANSI cursor movement); a ticker keeps elapsed times fresh."""

    def __init__(self, out: TextIO, *, tick: float = 0.5) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._active: dict[str, _Line] = {}
        self._drawn = 0
        self._done = 0
        self._failed = 0
        self._total = 0
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(tick,), name="dtsflow-progress", daemon=True)

    def start(self) -> None:
        """Start redrawing elapsed times; call it inside the `try` whose `finally` calls `close()`."""
        self._ticker.start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(timeout=2)
        with self._lock:
            self._erase()
            self._out.flush()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                self._redraw([])

    def __call__(self, event: Event) -> None:
        permanent: list[str] = []
        now = time.monotonic()
        with self._lock:
            match event:
                case ApplyStarted():
                    self._total = event.tasks
                case TaskStarted():
                    self._active[event.task] = _Line(event.task, began=now)
                case StepStarted():
                    line = self._active.setdefault(event.task, _Line(event.task, began=now))
                    line.step, line.index, line.total = event.step, event.index, event.total
                case StepPolled():
                    line = self._active.setdefault(event.task, _Line(event.task, began=now))
                    line.status, line.percent, line.delay = event.status, event.base_percent, event.delay
                case StepSucceeded():
                    if event.task in self._active and event.status:
                        self._active[event.task].status = event.status
                case StepFailed():
                    permanent.append(f"x {event.task}: {event.step} failed: {event.message}")
                    for check in event.failed_checks:
                        permanent.append(f"    failed check {check.name}: {check.message} ({check.description})")
                case TaskFinished():
                    self._active.pop(event.task, None)
                    self._done += 1
                    mark = {"applied": "+", "failed": "x", "unchanged": "="}.get(event.outcome, "-")
                    self._failed += event.outcome == "failed"
                    message = f": {event.message}" if event.message and event.outcome != "failed" else ""
                    permanent.append(f"{mark} {event.task} {event.outcome} in {event.elapsed:.1f}s{message}")
                case _:
                    pass
            self._redraw(permanent)

    def _erase(self) -> None:
        if self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _redraw(self, permanent: list[str]) -> None:
        self._erase()
        for text in permanent:
            self._out.write(for_terminal(text) + "\n")
        now = time.monotonic()
        lines = [
            f"  {ln.task}: {ln.step or 'waiting'} {ln.index}/{ln.total}  {ln.status or '...'}"
            + (f"  base {ln.percent:g}%" if ln.percent is not None else "")
            + (f"  delay {ln.delay:g}s" if ln.delay is not None else "")
            + f"  {now - ln.began:.1f}s"
            for ln in self._active.values()
        ]
        lines.append(f"  {self._done}/{self._total} done, {self._failed} failed, {len(self._active)} in progress")
        # A line that wraps takes two rows, and the cursor-up count of the next redraw would miss it.
        width = max(shutil.get_terminal_size(fallback=(120, 24)).columns - 1, 20)
        for text in lines:
            self._out.write(for_terminal(text)[:width] + "\n")
        self._drawn = len(lines)
        self._out.flush()
