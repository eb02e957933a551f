"""`dtsflow status --watch`: refreshes driven by a `ManualClock` in-process against the emulator (the precheck moves
on between two refreshes only because the test moves the clock), and the real CLI stopped by SIGTERM and Ctrl-C."""

from __future__ import annotations

import io
import json
import signal
import threading

import pytest

from dtsflow.apply.tokens import token_for_body as client_token
from dtsflow.client.wire import config_body, create_body
from dtsflow.clock import ManualClock
from dtsflow.commands.status_watch import CLEAR_SCREEN, watch_rows
from dtsflow.emulator import start_in_thread
from tests.apply.conftest import Env, client_of, task
from tests.apply.test_executor import Manifests, spec
from tests.apply.test_watch import Lines


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _watch(fmt: str, out: io.StringIO, refreshes: int) -> None:
    """Watch one task being prechecked: the emulator's precheck lasts 3 s of a clock that moves only between two
    refreshes, by the watch's interval (5 s). The stop comes during the last wait, as a SIGTERM between two
    refreshes would: no refresh follows it."""
    clock = ManualClock(start=1_800_000_000)
    with start_in_thread(time_scale=1.0, clock=clock) as emu, client_of(emu) as client:
        a = spec("a", state="prechecked")
        body = create_body(a)
        dts_id = client.create_task(body, client_token=client_token("a", body, 0))
        client.config_task(dts_id, config_body(a, lambda ref: "x"))
        client.precheck(dts_id)
        stop = threading.Event()
        waits: list[float] = []

        def pause(seconds: float) -> None:
            waits.append(seconds)
            clock.advance(seconds)
            if len(waits) == refreshes:
                stop.set()

        shown = watch_rows(
            client, Manifests([a]), 5.0, fmt=fmt, label="5s", stop=stop, out=out, clock=clock, pause=pause
        )
    assert shown == refreshes and waits == [5.0] * refreshes


def test_json_prints_one_document_per_refresh() -> None:
    out = io.StringIO()
    _watch("json", out, refreshes=3)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["refresh"] for d in docs] == [1, 2, 3]
    assert [d["at"] for d in docs] == ["2027-01-15T08:00:00Z", "2027-01-15T08:00:05Z", "2027-01-15T08:00:10Z"]
    assert [d["tasks"][0]["status"] for d in docs] == ["checking", "checkPass", "checkPass"]
    assert [d["in_sync"] for d in docs] == [False, True, True]
    assert all(d["format_version"] == "1" for d in docs)


def test_text_is_printed_after_each_refresh_when_not_a_terminal() -> None:
    out = io.StringIO()
    _watch("text", out, refreshes=2)
    text = out.getvalue()
    assert CLEAR_SCREEN not in text
    assert text.count("status at ") == 2 and text.count("TASK ") == 2
    assert "status at 2027-01-15T08:00:00Z, refresh 1 every 5s: 1 of 1 tasks not in sync (Ctrl-C to stop)" in text
    assert "refresh 2 every 5s: every task in sync" in text
    first, second = text.split("status at 2027-01-15T08:00:05Z")
    assert " checking " in first and " checkPass " in second


def test_text_is_redrawn_in_place_on_a_terminal() -> None:
    out = Tty()
    _watch("text", out, refreshes=2)
    text = out.getvalue()
    assert text.startswith(CLEAR_SCREEN) and text.count(CLEAR_SCREEN) == 2


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_the_cli_stops_cleanly_on_a_signal(env: Env, signum: int, code: int, name: str) -> None:
    manifest = env.write([task("orders")])
    process = env.popen_status(manifest, "--format", "json", "--watch", "1s")
    lines = Lines(process)
    lines.until(lambda line: '"refresh": 2' in line, "a second refresh")
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err and f"{name}: stopped watching" in err
    docs = [json.loads(line) for line in lines.seen]  # every document whole
    assert [d["refresh"] for d in docs] == list(range(1, len(docs) + 1))
    assert env.mutating() == 0


def test_bad_watch_flags_cost_no_request(env: Env) -> None:
    manifest = env.write([task("orders")])
    env.reset_stats()
    bad = env.cli("status", manifest, "--watch", "soon")
    assert bad.returncode == 1 and "status --watch expects an interval such as 5s" in bad.stderr
    both = env.cli("status", manifest, "--watch", "--detailed-exitcode")
    assert both.returncode == 1 and "--detailed-exitcode does not combine with status --watch" in both.stderr
    lag = env.cli("status", manifest, "--wait-lag", "5s", "--watch")
    assert lag.returncode == 1 and "--wait-lag does not combine with status --watch" in lag.stderr
    assert sum(env.stats()["requests"].values()) == 0


def test_a_bare_watch_after_the_paths_takes_the_default_interval() -> None:
    from dtsflow.cli import build_parser, command_args
    from dtsflow.commands.args import StatusArgs

    args = command_args(build_parser().parse_args(["status", "m.yaml", "--watch"]))
    assert isinstance(args, StatusArgs) and args.watch == "10s"


def test_an_invalid_manifest_under_watch_is_one_json_line(env: Env) -> None:
    (env.cwd / "bad.yaml").write_text("version: 1\ntasks:\n  - name: a\n    state: flying\n")
    result = env.cli("status", "bad.yaml", "--format", "json", "--watch", "5s")
    assert result.returncode == 1
    [line] = result.stdout.splitlines()  # JSON Lines, as the refreshes would have been
    body = json.loads(line)
    assert body["error"].startswith("invalid manifest") and any(e["path"] == "$.tasks[0].state" for e in body["errors"])
