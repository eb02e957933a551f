"""`dtsflow status PATH... --watch [INTERVAL]`: read and show the status again every INTERVAL until stopped.

Each refresh is one reading as a plain `status` makes it (one list call, a precheck read per `checkFailed` task,
never a mutating call). The manifests are read once, at the start. On a terminal the text table is redrawn in
place; anywhere else (a pipe, a CI log) each refresh is printed after the previous one, under a header line. JSON
prints one compact document per refresh, one per line (JSON Lines), so a reader can take them as they come.

A refresh whose reading fails (an API error) says so on stderr and the watch goes on. SIGTERM or Ctrl-C stop it:
a reading in flight finishes and is shown (a JSON document is never cut in half), then the exit code is 143
(SIGTERM) or 130 (Ctrl-C), as for any interrupted dtsflow command. A second signal leaves at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from dtsflow.apply.events import EVENT_FORMAT_VERSION
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.commands.args import StatusArgs
from dtsflow.commands.common import EXIT_SIGNAL, WatchStop, signals_handled, watch_interval
from dtsflow.commands.status import read_rows
from dtsflow.errors import ApiError
from dtsflow.escape import for_terminal_lines
from dtsflow.plan.render.status import render_json, render_text
from dtsflow.plan.status import iso_utc

if TYPE_CHECKING:
    from dtsflow.client.protocol import DtsClient
    from dtsflow.plan.planner import Manifests
    from dtsflow.plan.status import TaskStatusRow

DEFAULT_INTERVAL = "10s"
CLEAR_SCREEN = "\x1b[H\x1b[2J"  # cursor home, erase the screen: the table is redrawn in place


def interval_of(text: str) -> float:
    """`status --watch INTERVAL` in seconds."""
    return watch_interval(
        text, flag="status --watch", examples="5s, 10s or 1m", hint=" (a bare --watch goes after the PATHs)"
    )


def _summary(rows: list[TaskStatusRow]) -> str:
    behind = sum(1 for r in rows if not r.in_sync)
    return "every task in sync" if not behind else f"{behind} of {len(rows)} tasks not in sync"


def _show(rows: list[TaskStatusRow], refresh: int, at: float, spec: _Screen) -> None:
    if spec.json:
        document = render_json(rows, EVENT_FORMAT_VERSION, indent=None, refresh=refresh, at=iso_utc(at))
        spec.out.write(document + "\n")
    else:
        head = f"status at {iso_utc(at)}, refresh {refresh} every {spec.label}: {_summary(rows)} (Ctrl-C to stop)"
        spec.out.write((CLEAR_SCREEN if spec.redraw else ("\n" if refresh > 1 else "")) + head + "\n")
        spec.out.write(render_text(rows) + "\n")
    spec.out.flush()


class _Screen:
    """Where and how refreshes are shown."""

    def __init__(self, out: TextIO, fmt: str, label: str) -> None:
        self.out = out
        self.json = fmt == "json"
        self.label = label
        isatty = getattr(out, "isatty", None)
        self.redraw = not self.json and bool(isatty and isatty())


def watch_rows(
    client: DtsClient,
    manifests: Manifests,
    interval: float,
    *,
    fmt: str,
    label: str,
    stop: threading.Event,
    out: TextIO,
    clock: Clock = SYSTEM_CLOCK,
    pause: Callable[[float], object] | None = None,
) -> int:
    """Refresh until `stop` is set; returns how many refreshes were shown. `pause(seconds)` waits between two
    refreshes (default: `stop.wait`, which a signal cuts short); tests pass one that moves a `ManualClock`."""
    screen = _Screen(out, fmt, label)
    wait = pause if pause is not None else stop.wait
    refresh = 0
    while True:
        refresh += 1
        try:
            rows = read_rows(client, manifests)
        except ApiError as exc:
            sys.stderr.write(f"error: {for_terminal_lines(str(exc))} (refresh {refresh}; the watch goes on)\n")
            sys.stderr.flush()
        else:
            _show(rows, refresh, clock.now(), screen)
        if stop.is_set():
            return refresh
        wait(interval)
        if stop.is_set():
            return refresh


def run_watch(args: StatusArgs, manifests: Manifests) -> int:
    from dtsflow.commands.connect import open_client

    assert args.watch is not None
    interval = interval_of(args.watch)
    stop = WatchStop()
    with signals_handled(stop.handler, tuple(EXIT_SIGNAL)), open_client(args.api) as client:
        watch_rows(client, manifests, interval, fmt=args.format, label=args.watch, stop=stop.event, out=sys.stdout)
    if stop.signum is not None:
        sys.stderr.write(f"{signal.Signals(stop.signum).name}: stopped watching\n")
    return stop.exit_code
